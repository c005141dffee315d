//! The current thread's largest allocation, for the allocation guards of
//! the tests (`tests/tamper.rs`, `tests/support/fuzz.rs`), kept where
//! reading and writing it never allocates: on Unix a `thread_local!`
//! (native TLS); on Windows one of the OS's own TLS slots
//! (`TlsGetValue`/`TlsSetValue`), because `thread_local!` there
//! (x86_64-pc-windows-gnu has no native TLS) boxes each thread's value on
//! first access, and that allocation came back into the guard before the
//! slot was set, recursing until the main thread's stack overflowed.

#[cfg(not(windows))]
pub use unix::{get, set};
#[cfg(windows)]
pub use windows::{get, set};

#[cfg(not(windows))]
mod unix {
    use std::cell::Cell;

    thread_local! {
        static PEAK: Cell<usize> = const { Cell::new(0) };
    }

    pub fn get() -> usize {
        PEAK.try_with(Cell::get).unwrap_or(0)
    }

    pub fn set(v: usize) {
        let _ = PEAK.try_with(|p| p.set(v));
    }
}

#[cfg(windows)]
mod windows {
    use std::ffi::c_void;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[link(name = "kernel32")]
    extern "system" {
        fn TlsAlloc() -> u32;
        fn TlsFree(index: u32) -> i32;
        fn TlsGetValue(index: u32) -> *mut c_void;
        fn TlsSetValue(index: u32, value: *mut c_void) -> i32;
    }

    /// TLS_OUT_OF_INDEXES, also "not allocated yet".
    const NONE: u32 = u32::MAX;
    static INDEX: AtomicU32 = AtomicU32::new(NONE);

    fn index() -> Option<u32> {
        let i = INDEX.load(Ordering::Acquire);
        if i != NONE {
            return Some(i);
        }
        // SAFETY: plain Win32 calls, no Rust allocation.
        let new = unsafe { TlsAlloc() };
        if new == NONE {
            return None;
        }
        match INDEX.compare_exchange(NONE, new, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => Some(new),
            Err(won) => {
                // SAFETY: the index this thread allocated, never used.
                unsafe { TlsFree(new) };
                Some(won)
            }
        }
    }

    pub fn get() -> usize {
        // SAFETY: an allocated TLS index; a slot never set reads as 0.
        index().map_or(0, |i| unsafe { TlsGetValue(i) } as usize)
    }

    pub fn set(v: usize) {
        if let Some(i) = index() {
            // SAFETY: an allocated TLS index; the value is a plain integer.
            unsafe { TlsSetValue(i, v as *mut c_void) };
        }
    }
}
