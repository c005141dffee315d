//! Text readers of the compatibility layers and reports from arbitrary
//! bytes: TraceKit's JSON dialect (`PyJson`, with a dump round trip) and
//! audit exports, `report::entries_from_json`, the RTGS time, range and
//! `.env` readers, and a Markdown report's embedded entries
//! (`report::collect`, re-rendered and read back). The harness is
//! `fuzz_one` in `tests/text_fuzz_regressions.rs`, shared with the
//! regression test that replays `tests/fixtures/fuzz-text/`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/text_fuzz_regressions.rs"]
mod harness;

fuzz_target!(|data: &[u8]| {
    harness::fuzz_one(data);
});
