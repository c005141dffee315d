//! Trace capture files from arbitrary bytes: `.csv`, `.npy`, sigrok `.sr`
//! and Tektronix `.wfm`, as they are or framed by the harness (a valid
//! `.npy` preamble, a ZIP archive of the given members, a valid `.wfm`
//! whose header fields the input overwrites), with import options, then
//! `read_trace_file_with`. The harness is `fuzz_one` in
//! `tests/import_fuzz_regressions.rs`, shared with the regression test that
//! replays `tests/fixtures/fuzz-import/`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/import_fuzz_regressions.rs"]
mod harness;

fuzz_target!(|data: &[u8]| {
    harness::fuzz_one(data);
});
