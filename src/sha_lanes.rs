//! SHA-256 of two messages at once, for verify.
//!
//! A record's hash does not depend on any other record's hash being
//! computed first (the `prev` a body names is text in the body), so verify
//! can hash records in pairs. The CPU's SHA-256 round instruction
//! (`sha256rnds2`) has a latency of several cycles and one message's rounds
//! form a single dependency chain, which leaves the unit idle most of the
//! time when one message is hashed; the rounds of two messages interleaved
//! keep it busy (docs/benchmarks.md has the measurement).
//!
//! This is the compression function of FIPS 180-4 § 6.2.2 on the SHA
//! extensions, the same instructions the `sha2` crate uses for one
//! message, with the padding of § 5.1.1. Messages may start from a state
//! that has already compressed whole blocks (HMAC's inner and outer key
//! blocks, RFC 2104), given with how many bytes that state covers.
//! `chain::tests::hash_many_matches_hash_parts` checks the results against
//! `sha2` and `hmac` (through `Chain::hash_parts`).
//!
//! Only on x86_64 with the SHA extensions; elsewhere [`available`] is false
//! and callers hash one message at a time as before.
#![deny(clippy::indexing_slicing, clippy::unwrap_used)]

/// A SHA-256 state and how many message bytes it has compressed (a
/// multiple of 64).
#[derive(Clone, Copy)]
pub(crate) struct Start {
    pub state: [u32; 8],
    pub done: u64,
}

/// The initial state of SHA-256 (FIPS 180-4 § 5.3.3).
pub(crate) const IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

impl Start {
    /// SHA-256 from the beginning.
    pub(crate) const PLAIN: Start = Start { state: IV, done: 0 };

    /// The state after compressing the one 64-byte `block`.
    pub(crate) fn after_block(block: &[u8; 64]) -> Start {
        let mut state = IV;
        sha2::compress256(&mut state, &[(*block).into()]);
        Start { state, done: 64 }
    }
}

/// Whether this CPU runs the two-message path.
pub(crate) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("sha")
            && std::arch::is_x86_feature_detected!("sse4.1")
            && std::arch::is_x86_feature_detected!("ssse3")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// One message: the concatenation of `head` and `tail`, hashed on from
/// `start`.
#[derive(Clone, Copy)]
pub(crate) struct Msg<'a> {
    pub head: &'a [u8],
    pub tail: &'a [u8],
}

/// The padded blocks of one message (FIPS 180-4 § 5.1.1).
struct Blocks<'a> {
    msg: Msg<'a>,
    len: usize,
    count: usize,
    bits: u64,
}

impl<'a> Blocks<'a> {
    fn new(msg: Msg<'a>, start: &Start) -> Blocks<'a> {
        let len = msg.head.len() + msg.tail.len();
        Blocks {
            msg,
            len,
            // The message, the 0x80 byte and the 8-byte length.
            count: (len + 8) / 64 + 1,
            bits: (start.done.wrapping_add(len as u64)).wrapping_mul(8),
        }
    }

    /// Block `k` (< `count`): borrowed from `head` when it lies inside it,
    /// else assembled in `buf`.
    fn get<'b>(&self, k: usize, buf: &'b mut [u8; 64]) -> &'b [u8; 64]
    where
        'a: 'b,
    {
        let from = k * 64;
        if let Some(b) = self
            .msg
            .head
            .get(from..from + 64)
            .and_then(|s| <&[u8; 64]>::try_from(s).ok())
        {
            return b;
        }
        *buf = [0; 64];
        // Each part's bytes within [from, from + 64); the part starts at
        // message offset `base`.
        for (part, base) in [(self.msg.head, 0), (self.msg.tail, self.msg.head.len())] {
            let lo = from.max(base);
            let hi = (from + 64).min(base + part.len());
            if lo < hi {
                if let (Some(src), Some(dst)) = (
                    part.get(lo - base..hi - base),
                    buf.get_mut(lo - from..hi - from),
                ) {
                    dst.copy_from_slice(src);
                }
            }
        }
        if let Some(b) = self.len.checked_sub(from).and_then(|i| buf.get_mut(i)) {
            *b = 0x80;
        }
        if k + 1 == self.count {
            if let Some(b) = buf.get_mut(56..64) {
                b.copy_from_slice(&self.bits.to_be_bytes());
            }
        }
        buf
    }
}

fn digest(state: &[u32; 8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (o, w) in out.chunks_exact_mut(4).zip(state) {
        o.copy_from_slice(&w.to_be_bytes());
    }
    out
}

/// The SHA-256 of one message from `start`, through `sha2`'s own
/// compression (SHA-NI when present).
pub(crate) fn one(start: &Start, m: Msg<'_>) -> [u8; 32] {
    let blocks = Blocks::new(m, start);
    let mut state = start.state;
    finish(&blocks, 0, &mut state);
    digest(&state)
}

/// Blocks `from..` of `blocks`, one at a time.
fn finish(blocks: &Blocks<'_>, from: usize, state: &mut [u32; 8]) {
    let mut buf = [0u8; 64];
    for k in from..blocks.count {
        let b = blocks.get(k, &mut buf);
        sha2::compress256(state, &[(*b).into()]);
    }
}

/// The SHA-256 of `N` messages from `start`: their blocks compressed side
/// by side while all have blocks left, then each one's rest alone. Only
/// when [`available`]; two at a time (more at once measured slower: the
/// states and message words of more than two no longer fit the 16 vector
/// registers).
pub(crate) fn together<const N: usize>(start: &Start, msgs: &[Msg<'_>; N]) -> [[u8; 32]; N] {
    let blocks = msgs.map(|m| Blocks::new(m, start));
    let mut states = [start.state; N];
    #[cfg(target_arch = "x86_64")]
    let common = {
        let common = blocks.iter().map(|b| b.count).min().unwrap_or(0);
        // SAFETY: `together` runs only when `available()` found the SHA
        // extensions, SSE4.1 and SSSE3, for which `x86::side_by_side` is
        // compiled; `common` is no block count's greater.
        unsafe { x86::side_by_side(&mut states, &blocks, common) };
        common
    };
    #[cfg(not(target_arch = "x86_64"))]
    let common = 0;
    let mut out = [[0u8; 32]; N];
    for ((b, s), o) in blocks.iter().zip(states.iter_mut()).zip(out.iter_mut()) {
        finish(b, common, s);
        *o = digest(s);
    }
    out
}

#[cfg(target_arch = "x86_64")]
// Indexes are lanes (below N, by the loops) and constant round groups.
#[allow(clippy::indexing_slicing)]
mod x86 {
    use std::arch::x86_64::*;

    /// The round constants (FIPS 180-4 § 4.2.2), four per round group.
    static K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];

    #[inline(always)]
    unsafe fn load(s: &[u32; 8]) -> (__m128i, __m128i) {
        let dcba = _mm_loadu_si128(s.as_ptr().cast());
        let hgfe = _mm_loadu_si128(s.as_ptr().add(4).cast());
        let cdab = _mm_shuffle_epi32(dcba, 0xB1);
        let efgh = _mm_shuffle_epi32(hgfe, 0x1B);
        // (ABEF, CDGH), the order the round instruction takes.
        (
            _mm_alignr_epi8(cdab, efgh, 8),
            _mm_blend_epi16(efgh, cdab, 0xF0),
        )
    }

    #[inline(always)]
    unsafe fn store(abef: __m128i, cdgh: __m128i, s: &mut [u32; 8]) {
        let feba = _mm_shuffle_epi32(abef, 0x1B);
        let dchg = _mm_shuffle_epi32(cdgh, 0xB1);
        _mm_storeu_si128(s.as_mut_ptr().cast(), _mm_blend_epi16(feba, dchg, 0xF0));
        _mm_storeu_si128(s.as_mut_ptr().add(4).cast(), _mm_alignr_epi8(dchg, feba, 8));
    }

    /// The 16 message words of a block as 4 vectors of big-endian words.
    #[inline(always)]
    unsafe fn words(b: &[u8; 64]) -> [__m128i; 4] {
        let swap = _mm_set_epi64x(0x0c0d_0e0f_0809_0a0b, 0x0405_0607_0001_0203);
        let p = b.as_ptr().cast::<__m128i>();
        [
            _mm_shuffle_epi8(_mm_loadu_si128(p), swap),
            _mm_shuffle_epi8(_mm_loadu_si128(p.add(1)), swap),
            _mm_shuffle_epi8(_mm_loadu_si128(p.add(2)), swap),
            _mm_shuffle_epi8(_mm_loadu_si128(p.add(3)), swap),
        ]
    }

    /// Blocks `0..n` of each of `blocks` into the matching state of
    /// `states`, the rounds of all interleaved.
    ///
    /// # Safety
    ///
    /// The CPU must have the SHA extensions, SSE4.1 and SSSE3; `n` must
    /// not exceed any block count.
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    pub(super) unsafe fn side_by_side<const N: usize>(
        states: &mut [[u32; 8]; N],
        blocks: &[super::Blocks<'_>; N],
        n: usize,
    ) {
        let mut abef = [_mm_setzero_si128(); N];
        let mut cdgh = [_mm_setzero_si128(); N];
        for l in 0..N {
            (abef[l], cdgh[l]) = load(&states[l]);
        }
        let mut bufs = [[0u8; 64]; N];
        let k = K.as_ptr().cast::<__m128i>();
        for i in 0..n {
            let mut w = [[_mm_setzero_si128(); 4]; N];
            for l in 0..N {
                w[l] = words(blocks[l].get(i, &mut bufs[l]));
            }
            let (save_abef, save_cdgh) = (abef, cdgh);
            // Round group g (rounds 4g..4g + 4) uses the words W[4g..4g+4],
            // held in w[_][g % 4]; from g = 4 on they are scheduled from
            // the four groups before (FIPS 180-4 § 6.2.2 step 1).
            macro_rules! group {
                ($g:literal) => {{
                    const I: usize = $g % 4;
                    let kg = _mm_loadu_si128(k.add($g));
                    let mut m = [_mm_setzero_si128(); N];
                    for l in 0..N {
                        if $g >= 4 {
                            let x = &mut w[l];
                            x[I] =
                                schedule(x[I], x[($g + 1) % 4], x[($g + 2) % 4], x[($g + 3) % 4]);
                        }
                        m[l] = _mm_add_epi32(w[l][I], kg);
                    }
                    for l in 0..N {
                        cdgh[l] = _mm_sha256rnds2_epu32(cdgh[l], abef[l], m[l]);
                    }
                    for l in 0..N {
                        abef[l] =
                            _mm_sha256rnds2_epu32(abef[l], cdgh[l], _mm_shuffle_epi32(m[l], 0x0E));
                    }
                }};
            }
            group!(0);
            group!(1);
            group!(2);
            group!(3);
            group!(4);
            group!(5);
            group!(6);
            group!(7);
            group!(8);
            group!(9);
            group!(10);
            group!(11);
            group!(12);
            group!(13);
            group!(14);
            group!(15);
            for l in 0..N {
                abef[l] = _mm_add_epi32(abef[l], save_abef[l]);
                cdgh[l] = _mm_add_epi32(cdgh[l], save_cdgh[l]);
            }
        }
        for l in 0..N {
            store(abef[l], cdgh[l], &mut states[l]);
        }
    }

    /// W[t..t+4] from W[t-16..t-12] (`w16`), W[t-12..t-8] (`w12`),
    /// W[t-8..t-4] (`w8`) and W[t-4..t] (`w4`).
    #[inline(always)]
    unsafe fn schedule(w16: __m128i, w12: __m128i, w8: __m128i, w4: __m128i) -> __m128i {
        let t = _mm_add_epi32(_mm_sha256msg1_epu32(w16, w12), _mm_alignr_epi8(w4, w8, 4));
        _mm_sha256msg2_epu32(t, w4)
    }
}
