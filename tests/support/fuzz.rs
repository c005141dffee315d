//! Shared by the fuzz-regression tests (`tests/*fuzz_regressions.rs`,
//! each included as `#[cfg(test)] #[path = "support/fuzz.rs"] mod fuzz_support;`):
//! the corpus reader, the text of a caught panic, a runner with a time
//! limit, the number of random cases and their seed, and an allocation guard
//! (this module installs it as the test binary's global allocator) that
//! records the largest single allocation, to catch allocations sized by
//! what a file claims.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};

/// The most a single allocation of a harness may take (the inputs are at
/// most 64 KiB; nothing legitimate comes near it).
pub const ALLOC_LIMIT: usize = 64 << 20;

/// Every file of `tests/fixtures/<dir>`, sorted by name, with its bytes.
pub fn fixtures(dir: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect()
}

/// The message of a caught panic.
pub fn panic_text(e: Box<dyn std::any::Any + Send>) -> String {
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// Runs `f` (one input of a harness), failing with `what` and the panic's
/// text when it panics or takes longer than `limit`.
pub fn run_within(what: &str, limit: std::time::Duration, f: impl FnOnce()) {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let t0 = std::time::Instant::now();
        f();
        let took = t0.elapsed();
        assert!(took <= limit, "took {took:?}");
    }));
    if let Err(e) = r {
        panic!("{what}: {}", panic_text(e));
    }
}

/// How many random mutations to run and from which seed:
/// `EVIDENT_FUZZ_CASES` and `EVIDENT_FUZZ_SEED`, else the harness's own.
pub fn cases_and_seed(cases: u64, seed: u64) -> (u64, u64) {
    let var = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default)
    };
    (
        var("EVIDENT_FUZZ_CASES", cases),
        var("EVIDENT_FUZZ_SEED", seed),
    )
}

#[path = "peak_slot.rs"]
mod peak_slot;

fn note(size: usize) {
    if size > peak_slot::get() {
        peak_slot::set(size);
    }
}

/// The largest allocation made by this thread since the last call (and
/// resets it).
pub fn take_largest() -> usize {
    let v = peak_slot::get();
    peak_slot::set(0);
    v
}

struct Guard;

// SAFETY: forwards every call to the system allocator unchanged.
unsafe impl GlobalAlloc for Guard {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        System.alloc_zeroed(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GUARD: Guard = Guard;
