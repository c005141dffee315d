//! Sample-type facts for bindings (the Go package asks these instead of
//! keeping its own table): a dtype's name and the size of its samples.

use std::ffi::{c_char, CStr};

use super::run_value;
use crate::session::Dtype;

/// The names of `evident_dtype` 1 to 12, in numbering order.
const DTYPE_NAMES: [&CStr; 12] = [
    c"f64", c"f32", c"i8", c"i16", c"i32", c"i64", c"u8", c"u16", c"u32", c"u64", c"bool", c"bit",
];

/// The name of the sample type `dtype` (an `EVIDENT_DTYPE_*` value) as in
/// the file format: `"f64"` … `"bool"`, `"bit"`. A static string; NULL for
/// a number this library does not know.
#[no_mangle]
pub extern "C" fn evident_dtype_name(dtype: u32) -> *const c_char {
    run_value(std::ptr::null(), || match Dtype::from_u32(dtype) {
        Some(d) => DTYPE_NAMES[d as usize - 1].as_ptr(),
        None => std::ptr::null(),
    })
}

/// The number of bytes `len_samples` samples of `dtype` take (for
/// `EVIDENT_DTYPE_BIT`, packed: `(len_samples + 7) / 8`). `*out` (may be
/// NULL) receives it; returns false, `*out` 0, for an unknown dtype or a
/// size beyond 64 bits.
#[no_mangle]
pub extern "C" fn evident_dtype_byte_len(dtype: u32, len_samples: u64, out: *mut u64) -> bool {
    run_value(false, || {
        let n = Dtype::from_u32(dtype).and_then(|d| d.byte_len(len_samples));
        // SAFETY: `out` is NULL or writable (header contract).
        if let Some(r) = unsafe { out.as_mut() } {
            *r = n.unwrap_or(0);
        }
        n.is_some()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_format_names() {
        for &d in Dtype::all() {
            // SAFETY: a static NUL-terminated string.
            let name = unsafe { CStr::from_ptr(evident_dtype_name(d as u32)) };
            assert_eq!(name.to_str().unwrap(), d.name());
        }
        assert!(evident_dtype_name(0).is_null());
        assert!(evident_dtype_name(13).is_null());
    }

    #[test]
    fn byte_len_packs_bits_and_refuses_overflow() {
        let mut n = 7;
        assert!(evident_dtype_byte_len(12, 9, &mut n));
        assert_eq!(n, 2);
        assert!(evident_dtype_byte_len(1, 3, &mut n));
        assert_eq!(n, 24);
        assert!(!evident_dtype_byte_len(1, u64::MAX, &mut n));
        assert_eq!(n, 0);
        assert!(!evident_dtype_byte_len(99, 1, std::ptr::null_mut()));
    }
}
