//! Session files from arbitrary bytes: as they are, after a valid genesis,
//! or as whole files whose hashes and checksums the harness recomputes
//! (keyless and HMAC), then load, versions, verify_session, every trace
//! read, re-save and append. The harness is `fuzz_one` in
//! `tests/session_fuzz_regressions.rs`, shared with the regression test
//! that replays `tests/fixtures/fuzz-session/`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/session_fuzz_regressions.rs"]
mod harness;

fuzz_target!(|data: &[u8]| {
    harness::fuzz_one(data);
});
