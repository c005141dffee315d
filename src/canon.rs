//! A one-pass check that a JSON text is already in the canonical form of
//! spec § 5 (and obeys § 5.5), so that details given as text can be written
//! as given instead of being parsed into a tree and written again.
//!
//! The check is conservative: `true` means the bytes are exactly what
//! parsing and re-serialising would produce; `false` means "not known to
//! be", and the caller takes the full path (which also reports errors).

/// Whether `text` is a JSON value in canonical form (spec § 5: no
/// whitespace, object members sorted by name and unique, canonical string
/// escapes and numbers) nesting at most `max_depth` levels (a scalar is 0).
/// A `str`: the check leaves UTF-8 to the type.
pub(crate) fn is_canonical(text: &str, max_depth: usize) -> bool {
    let text = text.as_bytes();
    let mut c = Canon {
        b: text,
        i: 0,
        max_depth,
    };
    c.value(0) && c.i == text.len()
}

/// Whether `a` sorts strictly before `b` by bytes. Names are short and
/// usually differ early: a loop, not a call to `memcmp`.
fn ascending(a: &[u8], b: &[u8]) -> bool {
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return x < y;
        }
    }
    a.len() < b.len()
}

/// Digits without a leading zero (or `0` alone).
fn no_leading_zero(digits: &str) -> bool {
    digits == "0" || !digits.starts_with('0')
}

/// The index of the first byte at or after `i` that needs a look inside a
/// string (`"`, `\\` or a control character), or `b.len()`: eight bytes
/// at a time.
fn skip_plain(b: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = b.get(i..i + 8) {
        let Ok(bytes) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let x = u64::from_le_bytes(bytes);
        // A byte's high bit is set in `below` when the byte is < 0x20, in
        // `quote` / `backslash` when it is that character (the lowest
        // flagged byte is always exact: borrows only run upwards).
        let below = x.wrapping_sub(ONES * 0x20) & !x;
        let q = x ^ (ONES * u64::from(b'"'));
        let quote = q.wrapping_sub(ONES) & !q;
        let e = x ^ (ONES * u64::from(b'\\'));
        let backslash = e.wrapping_sub(ONES) & !e;
        let found = (below | quote | backslash) & HIGH;
        if found != 0 {
            return i + (found.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            return i;
        }
        i += 1;
    }
    i
}

struct Canon<'a> {
    b: &'a [u8],
    i: usize,
    max_depth: usize,
}

impl Canon<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn value(&mut self, depth: usize) -> bool {
        match self.peek() {
            Some(b'"') => self.string().is_some(),
            Some(b'{') => depth < self.max_depth && self.object(depth + 1),
            Some(b'[') => depth < self.max_depth && self.array(depth + 1),
            Some(b't') => self.lit(b"true"),
            Some(b'f') => self.lit(b"false"),
            Some(b'n') => self.lit(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => false,
        }
    }

    fn lit(&mut self, word: &[u8]) -> bool {
        let end = self.i + word.len();
        if self.b.get(self.i..end) == Some(word) {
            self.i = end;
            true
        } else {
            false
        }
    }

    /// A canonical string; returns its raw bytes between the quotes and
    /// whether it holds an escape.
    fn string(&mut self) -> Option<(usize, usize, bool)> {
        let start = self.i + 1;
        let mut i = start;
        let mut escaped = false;
        loop {
            i = skip_plain(self.b, i);
            match *self.b.get(i)? {
                b'"' => {
                    self.i = i + 1;
                    return Some((start, i, escaped));
                }
                b'\\' => {
                    escaped = true;
                    match *self.b.get(i + 1)? {
                        b'"' | b'\\' | b'b' | b't' | b'n' | b'f' | b'r' => i += 2,
                        b'u' => {
                            // Only U+0000..U+001F without a short escape.
                            let hex = self.b.get(i + 2..i + 6)?;
                            let ok = hex.first() == Some(&b'0')
                                && hex.get(1) == Some(&b'0')
                                && matches!(hex.get(2), Some(b'0' | b'1'))
                                && matches!(hex.get(3), Some(b'0'..=b'9' | b'a'..=b'f'));
                            if !ok {
                                return None;
                            }
                            let v = u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
                            if matches!(v, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d) {
                                return None;
                            }
                            i += 6;
                        }
                        _ => return None,
                    }
                }
                0x00..=0x1f => return None,
                _ => i += 1,
            }
        }
    }

    fn number(&mut self) -> bool {
        let start = self.i;
        let mut i = start;
        let digit = |b: Option<&u8>| b.is_some_and(u8::is_ascii_digit);
        if self.b.get(i) == Some(&b'-') {
            i += 1;
        }
        if !digit(self.b.get(i)) {
            return false;
        }
        while digit(self.b.get(i)) {
            i += 1;
        }
        let mut float = false;
        if self.b.get(i) == Some(&b'.') {
            float = true;
            i += 1;
            if !digit(self.b.get(i)) {
                return false;
            }
            while digit(self.b.get(i)) {
                i += 1;
            }
        }
        if matches!(self.b.get(i), Some(b'e' | b'E')) {
            float = true;
            i += 1;
            if matches!(self.b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if !digit(self.b.get(i)) {
                return false;
            }
            while digit(self.b.get(i)) {
                i += 1;
            }
        }
        let Some(text) = self.b.get(start..i) else {
            return false;
        };
        self.i = i;
        let Ok(s) = std::str::from_utf8(text) else {
            return false;
        };
        if !float {
            // Plain decimal that fits a 64-bit integer, as written back.
            // (No leading zero, no `-0`, and in range: then the text is
            // what writing the parsed integer gives.)
            let ok = if let Some(neg) = s.strip_prefix('-') {
                no_leading_zero(neg) && neg != "0" && s.parse::<i64>().is_ok()
            } else {
                no_leading_zero(s) && s.parse::<u64>().is_ok()
            };
            return ok;
        }
        // A double: finite, and exactly what serde_json writes for it.
        let Ok(x) = s.parse::<f64>() else {
            return false;
        };
        if !x.is_finite() {
            return false;
        }
        let mut buf = Vec::with_capacity(24);
        serde_json::to_writer(&mut buf, &x).is_ok() && buf == text
    }

    fn array(&mut self, depth: usize) -> bool {
        self.i += 1;
        if self.peek() == Some(b']') {
            self.i += 1;
            return true;
        }
        loop {
            if !self.value(depth) {
                return false;
            }
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return true;
                }
                _ => return false,
            }
        }
    }

    fn object(&mut self, depth: usize) -> bool {
        self.i += 1;
        if self.peek() == Some(b'}') {
            self.i += 1;
            return true;
        }
        let mut prev: Option<(usize, usize)> = None;
        loop {
            if self.peek() != Some(b'"') {
                return false;
            }
            let Some((s, e, escaped)) = self.string() else {
                return false;
            };
            // Names with escapes sort by their decoded bytes: leave them to
            // the full path rather than decode here.
            if escaped {
                return false;
            }
            if let Some((ps, pe)) = prev {
                // Strictly ascending by UTF-8 bytes: sorted and unique.
                let (Some(p), Some(n)) = (self.b.get(ps..pe), self.b.get(s..e)) else {
                    return false;
                };
                if !ascending(p, n) {
                    return false;
                }
            }
            prev = Some((s, e));
            if self.peek() != Some(b':') {
                return false;
            }
            self.i += 1;
            if !self.value(depth) {
                return false;
            }
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return true;
                }
                _ => return false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_canonical;

    /// What the full path writes for `text`.
    fn reserialised(text: &str) -> Option<String> {
        let v: serde_json::Value = serde_json::from_str(text).ok()?;
        serde_json::to_string(&v).ok()
    }

    #[test]
    fn canonical_iff_reserialising_gives_the_same_bytes() {
        let cases = [
            r#"{}"#,
            r#"[]"#,
            r#"null"#,
            r#"true"#,
            r#"{"a":1,"b":[1,2.5,"x"],"c":{"d":null}}"#,
            r#"{"b":1,"a":2}"#,
            r#"{"a":1,"a":2}"#,
            r#"{"a": 1}"#,
            r#" {}"#,
            r#"{"a":1.0}"#,
            r#"{"a":1}"#,
            r#"{"a":-0}"#,
            r#"{"a":-0.0}"#,
            r#"{"a":0.0}"#,
            r#"{"a":1e-05}"#,
            r#"{"a":1e-7}"#,
            r#"{"a":1e+16}"#,
            r#"{"a":1e16}"#,
            r#"{"a":10000000000000000.0}"#,
            r#"{"a":0.1}"#,
            r#"{"a":1E5}"#,
            r#"{"a":01}"#,
            r#"{"a":18446744073709551615}"#,
            r#"{"a":18446744073709551616}"#,
            r#"{"a":-9223372036854775808}"#,
            r#"{"a":-9223372036854775809}"#,
            r#"{"a":1e400}"#,
            r#""tab\there""#,
            r#""\u0009""#,
            r#""\u0001\u001f""#,
            r#""\u001F""#,
            r#""\/""#,
            r#""\u00e9""#,
            "\"\u{e9}\u{2028}\u{7f}\"",
            r#"{"Z":1,"a":2,"µ":3}"#,
            r#"{"µ":3,"a":2}"#,
            r#"[1,]"#,
            r#"{"a":1,}"#,
            r#"{"a":tru}"#,
            r#"{"a":1}x"#,
            "\"a\nb\"",
            r#"[[[[]]]]"#,
        ];
        for c in cases {
            let same = reserialised(c).as_deref() == Some(c);
            assert_eq!(is_canonical(c, 128), same, "{c}");
        }
    }

    #[test]
    fn strings_are_checked_at_every_place_in_an_eight_byte_chunk() {
        // The scan reads eight bytes at a time: put each byte that needs a
        // look (or one that does not) at every offset around two chunks,
        // in values and in names.
        let specials: [&str; 12] = [
            "\\n",
            "\\\"",
            "\\\\",
            "\\u0001",
            "\\u001f",
            "\\u000a",
            "\\/",
            "\n",
            "\u{1}",
            "\u{1f}",
            "\u{7f}",
            "\u{e9}\u{20ac}",
        ];
        for len in 0..20 {
            for at in 0..=len {
                for sp in specials {
                    let body = format!("{}{sp}{}", "x".repeat(at), "y".repeat(len - at));
                    for text in [
                        format!("\"{body}\""),
                        format!("{{\"{body}\":[\"{body}\"]}}"),
                    ] {
                        let same = reserialised(&text).as_deref() == Some(text.as_str());
                        // Names with escapes are left to the full path.
                        let escaped_name = text.starts_with('{') && body.contains('\\');
                        assert_eq!(is_canonical(&text, 128), same && !escaped_name, "{text:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn integers_are_canonical_exactly_when_written_back_the_same() {
        for text in [
            "0",
            "-0",
            "00",
            "01",
            "-01",
            "10",
            "-10",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775808",
            "-9223372036854775809",
            "9223372036854775808",
            "-1",
            "1",
            "007",
        ] {
            let same = reserialised(text).as_deref() == Some(text);
            assert_eq!(is_canonical(text, 128), same, "{text}");
        }
    }

    #[test]
    fn escaped_names_take_the_full_path() {
        // Canonical, but left to the full path (conservative).
        assert!(!is_canonical(r#"{"a\"":1}"#, 128));
    }

    #[test]
    fn depth_is_bounded() {
        let deep = format!("{}{}", "[".repeat(5), "]".repeat(5));
        assert!(is_canonical(&deep, 5));
        assert!(!is_canonical(&deep, 4));
    }

    /// A random JSON value: short strings of bytes that need a look,
    /// numbers of every spelling, nesting.
    fn random_value(rng: &mut impl rand::Rng, depth: usize) -> serde_json::Value {
        use serde_json::Value;
        const CHARS: [&str; 14] = [
            "a",
            "Z",
            "0",
            " ",
            "\"",
            "\\",
            "/",
            "\n",
            "\u{1}",
            "\u{1f}",
            "\u{7f}",
            "\u{e9}",
            "\u{2028}",
            "\u{1f600}",
        ];
        fn text(rng: &mut impl rand::Rng) -> String {
            let n = rng.gen_range(0..12);
            (0..n)
                .map(|_| CHARS[rng.gen_range(0..CHARS.len())])
                .collect()
        }
        match rng.gen_range(0..if depth == 0 { 6 } else { 8 }) {
            0 => Value::Null,
            1 => Value::Bool(rng.gen()),
            2 => Value::from(rng.gen::<i64>() >> rng.gen_range(0..64)),
            3 => Value::from(rng.gen::<u64>()),
            4 => Value::from(f64::from_bits(rng.gen()))
                .as_f64()
                .map_or(Value::Null, |f| {
                    Value::from(f * 10f64.powi(rng.gen_range(-30..30)))
                }),
            5 => Value::String(text(rng)),
            6 => Value::Array(
                (0..rng.gen_range(0..4))
                    .map(|_| random_value(rng, depth - 1))
                    .collect(),
            ),
            _ => Value::Object(
                (0..rng.gen_range(0..4))
                    .map(|_| (text(rng), random_value(rng, depth - 1)))
                    .collect(),
            ),
        }
    }

    fn escaped_name(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::Array(a) => a.iter().any(escaped_name),
            serde_json::Value::Object(o) => o.iter().any(|(k, v)| {
                k.chars().any(|c| c == '"' || c == '\\' || c < ' ') || escaped_name(v)
            }),
            _ => false,
        }
    }

    #[test]
    fn random_values_and_their_mutations_agree_with_reserialising() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed_cafe);
        const BYTES: &[u8] =
            b"\"\\{}[]:,.-+eE0123456789 \n\tuanlfrtx\x01\x1f\x7f\xc3\xa9\xe2\x80\xa8\xff";
        let (mut accepted, mut mutants_accepted) = (0, 0);
        for _ in 0..100_000 {
            let v = random_value(&mut rng, 4);
            let text = serde_json::to_string(&v).unwrap();
            // Canonical as written; refused only for a name with an
            // escape (left to the full path).
            if is_canonical(&text, 128) {
                accepted += 1;
            } else {
                assert!(escaped_name(&v), "canonical text refused: {text}");
            }
            // Changed by one to three bytes: accepted only when it is
            // exactly what re-serialising gives (never a second spelling).
            let mut b = text.into_bytes();
            for _ in 0..rng.gen_range(1..=3) {
                let at = rng.gen_range(0..=b.len());
                let c = BYTES[rng.gen_range(0..BYTES.len())];
                match rng.gen_range(0..3) {
                    0 => b.insert(at, c),
                    1 if at < b.len() => {
                        b.remove(at);
                    }
                    _ if at < b.len() => b[at] = c,
                    _ => b.push(c),
                }
            }
            let Ok(t) = std::str::from_utf8(&b) else {
                continue; // not a str: cannot be given
            };
            if is_canonical(t, 128) {
                mutants_accepted += 1;
                assert_eq!(
                    reserialised(t).as_deref(),
                    Some(t),
                    "a second spelling accepted"
                );
            }
        }
        assert!(accepted > 85_000, "{accepted}");
        assert!(mutants_accepted > 5_000, "{mutants_accepted}");
    }
}
