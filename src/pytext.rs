//! Python's text forms that generated Python code and SecureML/TraceKit
//! compatible reports must reproduce exactly (no I/O, no dependencies).

/// Characters Python's `repr()` writes as they are (an approximation of
/// `str.isprintable()`: controls, line and paragraph separators, the
/// no-break and other non-ASCII spaces and the format characters are
/// escaped; unassigned code points are not known here and written as
/// they are).
fn printable(c: char) -> bool {
    !(c.is_control()
        || (c != ' ' && c.is_whitespace())
        || is_format(c)
        || crate::report::is_invisible_control(c))
}

/// Unicode's format characters (general category Cf, Unicode 15): the
/// soft hyphen, bidi controls, zero-width characters, the BOM, tags, ...
fn is_format(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{600}'..='\u{605}'
            | '\u{61c}'
            | '\u{6dd}'
            | '\u{70f}'
            | '\u{890}'..='\u{891}'
            | '\u{8e2}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206f}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{110bd}'
            | '\u{110cd}'
            | '\u{13430}'..='\u{1343f}'
            | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0001}'
            | '\u{e0020}'..='\u{e007f}'
    )
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
        // format characters (Cf) show nothing: escaped
        assert_eq!(
            repr_str("\u{200b}\u{feff}\u{e0001}\u{600}\u{2061}\u{1d173}x"),
            "'\\u200b\\ufeff\\U000e0001\\u0600\\u2061\\U0001d173x'"
        );
        assert_eq!(
            repr_str("\u{202e}\u{2066}\u{200e}"),
            "'\\u202e\\u2066\\u200e'"
        );
    }
}
