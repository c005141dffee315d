//! Python's text forms that generated Python code and SecureML/TraceKit
//! compatible reports must reproduce exactly (no I/O, no dependencies).

/// Characters Python's `repr()` writes as they are (an approximation of
/// `str.isprintable()`: controls, line and paragraph separators, the
/// no-break and other non-ASCII spaces and the soft hyphen are escaped).
fn printable(c: char) -> bool {
    !(c.is_control()
        || c == '\u{ad}'
        || (c != ' ' && c.is_whitespace())
        // the bidi controls are format characters (Cf), escaped too
        || crate::report::is_invisible_control(c))
}

/// Python's `repr()` of a string.
pub(crate) fn repr_str(s: &str) -> String {
    let q = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c if printable(c) => out.push(c),
            c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push(q);
    out
}

#[cfg(test)]
mod tests {
    use super::repr_str;

    /// Expected strings are what CPython 3 prints for `repr(s)`.
    #[test]
    fn repr_str_is_pythons_repr() {
        assert_eq!(repr_str("abc"), "'abc'");
        assert_eq!(repr_str("it's"), "\"it's\"");
        assert_eq!(repr_str("a\nb'\""), "'a\\nb\\'\"'");
        assert_eq!(repr_str("tab\there\\"), "'tab\\there\\\\'");
        assert_eq!(
            repr_str("\u{1}\u{7f}\u{a0}\u{ad}"),
            "'\\x01\\x7f\\xa0\\xad'"
        );
        assert_eq!(repr_str("\u{2028}é€"), "'\\u2028é€'");
        assert_eq!(repr_str("😀"), "'😀'");
        assert_eq!(
            repr_str("\u{202e}\u{2066}\u{200e}"),
            "'\\u202e\\u2066\\u200e'"
        );
    }
}
