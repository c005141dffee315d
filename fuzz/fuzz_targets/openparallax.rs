//! The OpenParallax legacy reader (detect, verify, read, import) of
//! arbitrary bytes, and of the lines that parse re-linked into a valid
//! chain. The harness is `fuzz_one` in `tests/openparallax_fuzz_regressions.rs`,
//! shared with the regression test that replays `tests/fixtures/fuzz-openparallax/`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/openparallax_fuzz_regressions.rs"]
mod harness;

fuzz_target!(|data: &[u8]| {
    harness::fuzz_one(data);
});
