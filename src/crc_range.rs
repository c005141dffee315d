//! CRC-32 (ISO-HDLC, the one of binary frames) of any range of a buffer in
//! bounded time, from CRCs of prefixes (or suffixes) kept every
//! [`STRIDE`] bytes and combined the way zlib's `crc32_combine` does.
//!
//! A damaged binary log can hold a candidate frame (length fields and
//! trailer that agree) every 8 bytes, each claiming up to 16 MiB: checking
//! each candidate's CRC directly would cost the square of the file size.
//! With these indexes each candidate costs at most a few hundred bytes of
//! CRC and one combination, and each byte of the buffer is run through the
//! CRC once (spec § 8, § 12).
#![deny(clippy::indexing_slicing, clippy::unwrap_used)]

/// Distance between two stored prefix (or suffix) CRCs.
pub(crate) const STRIDE: usize = 64;

/// Frames up to this size are checked with a direct CRC: cheaper than a
/// combination, and at most this much work per candidate.
pub(crate) const DIRECT_MAX: usize = 512;

/// Reflected CRC-32 polynomial.
const POLY: u32 = 0xedb8_8320;

/// a(x) b(x) mod p(x), reflected (zlib's `multmodp`).
const fn multmodp(a: u32, mut b: u32) -> u32 {
    let mut m: u32 = 1 << 31;
    let mut p = 0;
    let mut i = 0;
    while i < 32 {
        if a & m != 0 {
            p ^= b;
        }
        m >>= 1;
        b = if b & 1 != 0 { (b >> 1) ^ POLY } else { b >> 1 };
        i += 1;
    }
    p
}

/// `X2N[k]` = x^(2^k) mod p(x).
#[allow(clippy::indexing_slicing)] // constant evaluation: out of range fails the build
const X2N: [u32; 32] = {
    let mut t = [0u32; 32];
    let mut p: u32 = 1 << 30; // x^1
    t[0] = p;
    let mut n = 1;
    while n < 32 {
        p = multmodp(p, p);
        t[n] = p;
        n += 1;
    }
    t
};

/// x^(8 n) mod p(x) (zlib's `x2nmodp(n, 3)`).
fn x8n(mut n: u64) -> u32 {
    let mut p: u32 = 1 << 31; // x^0
    let mut k = 3usize;
    while n != 0 {
        if n & 1 != 0 {
            p = multmodp(X2N.get(k & 31).copied().unwrap_or(0), p);
        }
        n >>= 1;
        k += 1;
    }
    p
}

#[cfg(test)]
thread_local! {
    /// Test counter: bytes run through the CRC, plus 64 per combination.
    pub(crate) static WORK: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

#[inline]
fn count(_n: u64) {
    #[cfg(test)]
    WORK.with(|w| w.set(w.get() + _n));
}

/// The CRC of `A ‖ bytes` from `crc` = CRC(A).
pub(crate) fn extend(crc: u32, bytes: &[u8]) -> u32 {
    count(bytes.len() as u64);
    let mut h = crc32fast::Hasher::new_with_initial(crc);
    h.update(bytes);
    h.finalize()
}

/// The CRC of `bytes`.
pub(crate) fn crc(bytes: &[u8]) -> u32 {
    extend(0, bytes)
}

/// x^(8 n) mod p(x) for n < 2^16 (`LO[n]`) and for n = 2^16 m, m < 2^9
/// (`HI[m]`): a shift by up to 32 MiB costs one or two multiplications.
struct Powers {
    lo: Vec<u32>,
    hi: Vec<u32>,
}

static POWERS: std::sync::LazyLock<Powers> = std::sync::LazyLock::new(|| {
    let x8 = X2N[3];
    let mut lo = Vec::with_capacity(1 << 16);
    let mut p: u32 = 1 << 31;
    for _ in 0..1 << 16 {
        lo.push(p);
        p = multmodp(x8, p);
    }
    // p = x^(8 * 2^16) now.
    let step = p;
    let mut hi = Vec::with_capacity(1 << 9);
    let mut q: u32 = 1 << 31;
    for _ in 0..1 << 9 {
        hi.push(q);
        q = multmodp(step, q);
    }
    Powers { lo, hi }
});

/// `shift(CRC(A), |B|) ^ CRC(B) = CRC(A ‖ B)` (zlib's `crc32_combine`
/// with `crc2 = 0`).
pub(crate) fn shift(crc: u32, len: u64) -> u32 {
    count(64);
    let t = &*POWERS;
    let lo = t.lo.get((len & 0xffff) as usize).copied();
    let hi = t.hi.get((len >> 16) as usize).copied();
    match (lo, hi) {
        (Some(l), Some(0x8000_0000)) => multmodp(l, crc),
        (Some(l), Some(h)) => multmodp(h, multmodp(l, crc)),
        _ => multmodp(x8n(len), crc),
    }
}

/// CRCs of ranges of one buffer, from prefix CRCs computed on demand.
pub(crate) struct PrefixCrc<'a> {
    buf: &'a [u8],
    /// `cps[i]` = CRC of `buf[..i * STRIDE]`.
    cps: Vec<u32>,
}

impl<'a> PrefixCrc<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        PrefixCrc { buf, cps: vec![0] }
    }

    /// CRC of `buf[..x]`.
    fn prefix(&mut self, x: usize) -> u32 {
        let i = x / STRIDE;
        while self.cps.len() <= i {
            let j = self.cps.len();
            let prev = self.cps.last().copied().unwrap_or(0);
            let block = self
                .buf
                .get((j - 1) * STRIDE..j * STRIDE)
                .unwrap_or_default();
            self.cps.push(extend(prev, block));
        }
        let at = self.cps.get(i).copied().unwrap_or(0);
        extend(at, self.buf.get(i * STRIDE..x).unwrap_or_default())
    }

    /// CRC of `buf[a..b]` (`a <= b <= buf.len()`).
    pub fn range(&mut self, a: usize, b: usize) -> u32 {
        if b - a <= DIRECT_MAX {
            return crc(self.buf.get(a..b).unwrap_or_default());
        }
        let pb = self.prefix(b);
        let pa = self.prefix(a);
        pb ^ shift(pa, (b - a) as u64)
    }
}

/// CRC checks of ranges of a file read backward, from CRCs of suffixes
/// `[top - k * STRIDE, top)` computed on demand, so that each byte is run
/// through the CRC about once however many candidates cover it.
#[derive(Debug, Default)]
pub(crate) struct SuffixCrc {
    top: u64,
    /// `cps[k]` = CRC of file bytes `[top - k * STRIDE, top)`.
    cps: Vec<u32>,
}

impl SuffixCrc {
    /// Whether the CRC of file bytes `[a, b)` is `want`. `bytes(x, y)`
    /// gives file bytes `[x, y)` for `lo <= x <= y <= hi`; `lo <= a < b <=
    /// hi`. Falls back to a direct CRC when a stored suffix would start
    /// below `lo` (within `STRIDE` bytes of it).
    /// Bytes at or above `hi` may be gone (read backward): the index starts
    /// afresh below them when it would need them.
    pub fn matches<'b>(
        &mut self,
        a: u64,
        b: u64,
        want: u32,
        lo: u64,
        hi: u64,
        bytes: impl Fn(u64, u64) -> &'b [u8],
    ) -> bool {
        if b - a <= DIRECT_MAX as u64 {
            return crc(bytes(a, b)) == want;
        }
        let s = STRIDE as u64;
        let lowest = self
            .top
            .saturating_sub((self.cps.len().saturating_sub(1) as u64) * s);
        if self.cps.is_empty() || self.top < b || lowest > hi {
            // Extending down from `lowest` would need bytes that are gone.
            self.top = hi;
            self.cps = vec![0];
        }
        let (Some(qa), Some(qb)) = (self.suffix(a, lo, &bytes), self.suffix(b, lo, &bytes)) else {
            return crc(bytes(a, b)) == want;
        };
        // CRC[a, top) = shift(CRC[a, b), top - b) ^ CRC[b, top), and a
        // shift by a fixed length is one-to-one.
        qa ^ qb == shift(want, self.top - b)
    }

    /// CRC of file bytes `[x, top)`, from the stored suffix at or below
    /// `x`; `None` when that would start below `lo`.
    fn suffix<'b>(
        &mut self,
        x: u64,
        lo: u64,
        bytes: &impl Fn(u64, u64) -> &'b [u8],
    ) -> Option<u32> {
        let s = STRIDE as u64;
        let k = (self.top - x).div_ceil(s);
        let cp = self.top.checked_sub(k * s)?;
        if cp < lo {
            return None;
        }
        while (self.cps.len() as u64) <= k {
            let j = self.cps.len() as u64;
            let hi = self.top - (j - 1) * s;
            let block = crc(bytes(hi - s, hi));
            let above = self.cps.last().copied().unwrap_or(0);
            // CRC[hi - s, top) = shift(CRC[hi - s, hi), top - hi) ^ CRC[hi, top).
            self.cps.push(shift(block, (j - 1) * s) ^ above);
        }
        let at = self.cps.get(k as usize).copied().unwrap_or(0);
        // CRC[cp, top) = shift(CRC[cp, x), top - x) ^ CRC[x, top).
        Some(at ^ shift(crc(bytes(cp, x)), self.top - x))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn combination_matches_a_direct_crc() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let buf: Vec<u8> = (0..20_000).map(|_| rng.gen()).collect();
        assert_eq!(crc(b"123456789"), 0xCBF4_3926);
        let mut pc = PrefixCrc::new(&buf);
        let mut sc = SuffixCrc::default();
        for _ in 0..2000 {
            let a = rng.gen_range(0..buf.len());
            let b = rng.gen_range(a..=buf.len());
            let want = crc32fast::hash(&buf[a..b]);
            assert_eq!(pc.range(a, b), want, "[{a}, {b})");
            assert_eq!(crc(&buf[..a]) ^ shift(0, 0), crc(&buf[..a]));
            let c = crc32fast::hash(&buf[..a]);
            assert_eq!(shift(c, (b - a) as u64) ^ want, crc32fast::hash(&buf[..b]));
            for n in [
                0u64,
                1,
                65_535,
                65_536,
                65_537,
                1 << 24,
                (1 << 25) - 1,
                1 << 25,
                1 << 40,
            ] {
                let n = n + a as u64;
                assert_eq!(shift(c, n), multmodp(x8n(n), c), "{n}");
            }
            if b > a {
                let f = |x: u64, y: u64| &buf[x as usize..y as usize];
                let hi = buf.len() as u64;
                assert!(sc.matches(a as u64, b as u64, want, 0, hi, f));
                assert!(!sc.matches(a as u64, b as u64, want ^ 1, 0, hi, f));
            }
        }
        // Reading backward: the available end moves down.
        let mut sc = SuffixCrc::default();
        let mut hi = buf.len();
        while hi > 2000 {
            let b = hi - rng.gen_range(0..100);
            let a = b - rng.gen_range(1..1800);
            let lo = a.saturating_sub(100);
            let f = |x: u64, y: u64| {
                assert!(x as usize >= lo && y as usize <= hi);
                &buf[x as usize..y as usize]
            };
            let want = crc32fast::hash(&buf[a..b]);
            assert!(sc.matches(a as u64, b as u64, want, lo as u64, hi as u64, f));
            hi -= rng.gen_range(1..300);
        }
    }
}
