//! Open + verify + query of arbitrary bytes (as they are, and after a valid
//! genesis). The harness is `fuzz_one` in `tests/fuzz_regressions.rs`,
//! shared with the regression test that replays `tests/fixtures/fuzz/`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/fuzz_regressions.rs"]
mod harness;

fuzz_target!(|data: &[u8]| {
    harness::fuzz_one(data);
});
