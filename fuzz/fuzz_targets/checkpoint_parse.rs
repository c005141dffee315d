//! Checkpoints, notes, inclusion and consistency proofs, keys and
//! checkpoint sidecars from arbitrary bytes (with round trips), and proofs
//! whose checkpoint the harness signs with a trusted log key, verified and
//! sent to a witness. The harness is `fuzz_one` in
//! `tests/checkpoint_fuzz_regressions.rs`, shared with the regression test
//! that replays `tests/fixtures/fuzz-checkpoint/`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/checkpoint_fuzz_regressions.rs"]
mod harness;

fuzz_target!(|data: &[u8]| {
    harness::fuzz_one(data);
});
