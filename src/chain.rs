//! The hash chain: algorithms, keys and the per-record hash.
//!
//! A record's hash is `H(body)` where `body` is the record's canonical bytes
//! (see `spec/format.md`); the body itself names the previous record's hash
//! in its `"prev"` field, which is what links the chain. For keyed logs `H`
//! is HMAC with the log's key. No I/O happens here.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};
use std::fmt;

use crate::sha_lanes::{self, Msg, Start};

use crate::error::{Error, Result};

/// The chain's hash algorithm, named in the genesis record (`"alg"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum HashAlg {
    /// Keyless SHA-256: detects corruption, and tampering when the head hash
    /// is kept somewhere the attacker cannot change.
    Sha256 = 1,
    /// HMAC-SHA256 with a secret key: an attacker without the key cannot
    /// forge or rewrite entries.
    HmacSha256 = 2,
    /// HMAC-SHA512 with a secret key.
    HmacSha512 = 3,
}

impl HashAlg {
    /// The name used in the genesis record.
    pub fn name(self) -> &'static str {
        match self {
            HashAlg::Sha256 => "sha256",
            HashAlg::HmacSha256 => "hmac-sha256",
            HashAlg::HmacSha512 => "hmac-sha512",
        }
    }

    /// Parses a genesis `"alg"` value.
    pub fn from_name(name: &str) -> Option<HashAlg> {
        match name {
            "sha256" => Some(HashAlg::Sha256),
            "hmac-sha256" => Some(HashAlg::HmacSha256),
            "hmac-sha512" => Some(HashAlg::HmacSha512),
            _ => None,
        }
    }

    /// Length of the hash in bytes (32 or 64).
    pub fn hash_len(self) -> usize {
        match self {
            HashAlg::Sha256 | HashAlg::HmacSha256 => 32,
            HashAlg::HmacSha512 => 64,
        }
    }

    /// Whether the algorithm needs a key.
    pub fn is_keyed(self) -> bool {
        !matches!(self, HashAlg::Sha256)
    }
}

impl fmt::Display for HashAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A secret HMAC key. The bytes are zeroed when the key is dropped and never
/// printed by `Debug`.
#[derive(Clone)]
pub struct Key {
    bytes: Vec<u8>,
}

impl Key {
    /// Minimum key length accepted, in bytes.
    pub const MIN_LEN: usize = 16;

    /// Wraps raw key bytes (at least [`Key::MIN_LEN`] bytes).
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Key> {
        let bytes = bytes.into();
        if bytes.len() < Self::MIN_LEN {
            return Err(Error::InvalidArgument(format!(
                "HMAC key must be at least {} bytes, got {}",
                Self::MIN_LEN,
                bytes.len()
            )));
        }
        Ok(Key { bytes })
    }

    /// Largest key file accepted by [`Key::from_file`], in bytes.
    pub const MAX_FILE_LEN: u64 = 4096;

    /// The rule for key files, for help texts and error messages.
    pub const FILE_RULE: &'static str = "a key file whose content (without surrounding \
        whitespace) is all hex digits is a hex key and must hold an even number of hex \
        digits, at least 32 (16 bytes); any other content is the key itself as raw bytes \
        (at least 16 bytes)";

    /// Parses a key file's contents. If the content, with surrounding ASCII
    /// whitespace removed, consists only of hex digits, it is a hex key: it
    /// must have an even number of digits and decode to at least
    /// [`Key::MIN_LEN`] bytes (a short or odd hex key is an error, never
    /// silently used as raw bytes). Any other content is the key itself,
    /// byte for byte, at least [`Key::MIN_LEN`] bytes.
    pub fn from_file_contents(contents: &[u8]) -> Result<Key> {
        let text = contents.trim_ascii();
        if text.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "key file is empty ({})",
                Self::FILE_RULE
            )));
        }
        if text.iter().all(u8::is_ascii_hexdigit) {
            if text.len() % 2 != 0 || text.len() < 2 * Self::MIN_LEN {
                return Err(Error::InvalidArgument(format!(
                    "key file holds {} hex digits{}: {}",
                    text.len(),
                    if text.len() % 2 != 0 {
                        " (an odd number)"
                    } else {
                        ""
                    },
                    Self::FILE_RULE
                )));
            }
            let bytes = hex::decode(text).map_err(|e| Error::InvalidArgument(e.to_string()))?;
            return Key::new(bytes);
        }
        if contents.len() < Self::MIN_LEN {
            return Err(Error::InvalidArgument(format!(
                "key file holds {} bytes: {}",
                contents.len(),
                Self::FILE_RULE
            )));
        }
        Key::new(contents.to_vec())
    }

    /// Reads a key file (see [`Key::from_file_contents`] for its content).
    /// The file must be a regular file of at most [`Key::MAX_FILE_LEN`]
    /// bytes; it is opened without blocking (a FIFO or device is refused)
    /// and read with that bound. The copy read is zeroed.
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<Key> {
        use std::io::Read;
        let path = path.as_ref();
        let file =
            crate::storage::open_regular(path, crate::storage::Access::Read, "open key file")?;
        let too_big = || {
            Error::InvalidArgument(format!(
                "{}: key file is larger than {} bytes",
                path.display(),
                Self::MAX_FILE_LEN
            ))
        };
        let len = file
            .metadata()
            .map_err(|e| Error::io(path, "stat", e))?
            .len();
        if len > Self::MAX_FILE_LEN {
            return Err(too_big());
        }
        let mut bytes = Vec::with_capacity(Self::MAX_FILE_LEN as usize + 1);
        let read = file
            .take(Self::MAX_FILE_LEN + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io(path, "read key file", e));
        let key = match read {
            Err(e) => Err(e),
            Ok(_) if bytes.len() as u64 > Self::MAX_FILE_LEN => Err(too_big()),
            Ok(_) => Key::from_file_contents(&bytes).map_err(|e| match e {
                Error::InvalidArgument(m) => {
                    Error::InvalidArgument(format!("{}: {m}", path.display()))
                }
                other => other,
            }),
        };
        for b in bytes.iter_mut() {
            // SAFETY: a valid, aligned pointer into the buffer.
            unsafe { std::ptr::write_volatile(b, 0) };
        }
        key
    }

    /// The key id recorded in the genesis record: the first 8 bytes of
    /// `SHA-256("evident key id v1" || key)`, hex. It identifies the key
    /// without revealing it.
    pub fn key_id(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"evident key id v1");
        h.update(&self.bytes);
        hex::encode(&h.finalize()[..8])
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        for b in self.bytes.iter_mut() {
            // Volatile so the zeroing is not optimised away.
            unsafe { std::ptr::write_volatile(b, 0) };
        }
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key(id={})", self.key_id())
    }
}

/// Value of each lower-case hex digit; 0xFF for every other byte.
static LOWER_HEX: [u8; 256] = {
    let mut t = [0xFFu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// A record hash (32 or 64 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hash {
    len: u8,
    bytes: [u8; 64],
}

impl Hash {
    /// The all-zero hash of `len` bytes: the genesis record's `prev`.
    pub fn zero(len: usize) -> Hash {
        Hash {
            len: len.min(64) as u8,
            bytes: [0; 64],
        }
    }

    /// Copies a hash from bytes (32 or 64 long).
    pub fn from_slice(b: &[u8]) -> Option<Hash> {
        if b.len() != 32 && b.len() != 64 {
            return None;
        }
        let mut bytes = [0u8; 64];
        bytes[..b.len()].copy_from_slice(b);
        Some(Hash {
            len: b.len() as u8,
            bytes,
        })
    }

    /// Parses lower-case hex.
    pub fn from_hex(s: &str) -> Option<Hash> {
        Hash::from_lower_hex(s.as_bytes())
    }

    /// Parses 64 or 128 lower-case hex digits (`0-9a-f` only).
    ///
    /// Table-driven, with no branch per digit: the digits of a hash are
    /// random, so a digit-or-letter branch mispredicts half the time, and
    /// decoding two hashes per record was a quarter of verify's time.
    pub(crate) fn from_lower_hex(s: &[u8]) -> Option<Hash> {
        if s.len() != 64 && s.len() != 128 {
            return None;
        }
        #[cfg(target_arch = "x86_64")]
        {
            let mut bytes = [0u8; 64];
            return lower_hex_sse2(s, &mut bytes).then_some(Hash {
                len: (s.len() / 2) as u8,
                bytes,
            });
        }
        #[allow(unreachable_code)]
        Hash::from_lower_hex_table(s)
    }

    /// [`Hash::from_lower_hex`] by the table: the reference for the vector
    /// version, and the version on other architectures.
    fn from_lower_hex_table(s: &[u8]) -> Option<Hash> {
        if s.len() != 64 && s.len() != 128 {
            return None;
        }
        let mut bytes = [0u8; 64];
        let mut bad = 0u8;
        for (out, pair) in bytes.iter_mut().zip(s.chunks_exact(2)) {
            let hi = LOWER_HEX[usize::from(pair[0])];
            let lo = LOWER_HEX[usize::from(pair[1])];
            bad |= hi | lo;
            *out = (hi << 4) | (lo & 0x0F);
        }
        if bad & 0xF0 != 0 {
            return None;
        }
        Some(Hash {
            len: (s.len() / 2) as u8,
            bytes,
        })
    }

    /// The hash bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.as_bytes())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Computes record hashes for one log. Cheap to clone; holds a pre-keyed
/// HMAC state so each record only pays for its own bytes.
#[derive(Clone)]
pub struct Chain {
    alg: HashAlg,
    mac: MacState,
    key_id: Option<String>,
    /// For [`Chain::hash_many`]: the SHA-256 state to start each body
    /// from, and for HMAC the state to start the outer hash from (RFC
    /// 2104: the states after the key block XOR ipad and XOR opad).
    /// `None` for HMAC-SHA512.
    lanes: Option<(Start, Option<Start>)>,
}

#[derive(Clone)]
enum MacState {
    Plain,
    H256(Hmac<Sha256>),
    H512(Hmac<Sha512>),
}

impl fmt::Debug for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chain")
            .field("alg", &self.alg)
            .field("key_id", &self.key_id)
            .finish()
    }
}

impl Chain {
    /// A chain for `alg`; `key` is required exactly when `alg` is keyed.
    pub fn new(alg: HashAlg, key: Option<&Key>) -> Result<Chain> {
        let (mac, key_id) = match (alg, key) {
            (HashAlg::Sha256, None) => (MacState::Plain, None),
            (HashAlg::Sha256, Some(_)) => {
                return Err(Error::InvalidArgument(
                    "a key was given for the keyless sha256 algorithm".into(),
                ))
            }
            (_, None) => {
                return Err(Error::InvalidArgument(format!(
                    "algorithm {alg} needs a key"
                )))
            }
            (HashAlg::HmacSha256, Some(k)) => (
                MacState::H256(
                    <Hmac<Sha256> as Mac>::new_from_slice(k.bytes())
                        .map_err(|e| Error::InvalidArgument(e.to_string()))?,
                ),
                Some(k.key_id()),
            ),
            (HashAlg::HmacSha512, Some(k)) => (
                MacState::H512(
                    <Hmac<Sha512> as Mac>::new_from_slice(k.bytes())
                        .map_err(|e| Error::InvalidArgument(e.to_string()))?,
                ),
                Some(k.key_id()),
            ),
        };
        let lanes = match (alg, key) {
            (HashAlg::Sha256, _) => Some((Start::PLAIN, None)),
            (HashAlg::HmacSha256, Some(k)) => {
                // RFC 2104 § 2: a key longer than the block is hashed first,
                // then zero-padded to the block.
                let mut block = [0u8; 64];
                if k.bytes().len() > 64 {
                    block[..32].copy_from_slice(&Sha256::digest(k.bytes()));
                } else {
                    block[..k.bytes().len()].copy_from_slice(k.bytes());
                }
                let pad = |x: u8| {
                    let mut b = block;
                    b.iter_mut().for_each(|c| *c ^= x);
                    Start::after_block(&b)
                };
                let lanes = Some((pad(0x36), Some(pad(0x5c))));
                block.iter_mut().for_each(|c| *c = 0);
                lanes
            }
            _ => None,
        };
        Ok(Chain {
            alg,
            mac,
            key_id,
            lanes,
        })
    }

    /// The hashes of many bodies, each given as a head and a tail (hashed
    /// as their concatenation), replacing `out`'s contents: the same
    /// values as [`Chain::hash_parts`] of each, computed two bodies at a
    /// time where the CPU allows (`sha_lanes`).
    pub(crate) fn hash_many(&self, bodies: &[(&[u8], &[u8])], out: &mut Vec<Hash>) {
        out.clear();
        let Some((inner, outer)) = self.lanes.as_ref().filter(|_| sha_lanes::available()) else {
            out.extend(bodies.iter().map(|(h, t)| self.hash_parts(&[h, t])));
            return;
        };
        fn msg<'a>(&(head, tail): &(&'a [u8], &'a [u8])) -> Msg<'a> {
            Msg { head, tail }
        }
        fn digest(d: &[u8; 32]) -> Msg<'_> {
            Msg { head: d, tail: &[] }
        }
        let hash = |d: &[u8; 32]| Hash::from_slice(d).unwrap_or(Hash::zero(32));
        let mut pairs = bodies.chunks_exact(2);
        for pair in pairs.by_ref() {
            if let [a, b] = pair {
                let d = sha_lanes::together(inner, &[msg(a), msg(b)]);
                let d = match outer {
                    Some(outer) => sha_lanes::together(outer, &d.each_ref().map(digest)),
                    None => d,
                };
                out.extend(d.iter().map(hash));
            }
        }
        for body in pairs.remainder() {
            let d = sha_lanes::one(inner, msg(body));
            let d = match outer {
                Some(outer) => sha_lanes::one(outer, digest(&d)),
                None => d,
            };
            out.push(hash(&d));
        }
    }

    /// The algorithm.
    pub fn alg(&self) -> HashAlg {
        self.alg
    }

    /// The key id, for keyed chains.
    pub fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    /// The hash of one record body.
    pub fn hash(&self, body: &[u8]) -> Hash {
        self.hash_parts(&[body])
    }

    /// The hash of a body given in pieces (their concatenation is hashed).
    pub fn hash_parts(&self, parts: &[&[u8]]) -> Hash {
        match &self.mac {
            MacState::Plain => {
                let mut h = Sha256::new();
                for p in parts {
                    h.update(p);
                }
                Hash::from_slice(&h.finalize()).unwrap_or(Hash::zero(32))
            }
            MacState::H256(m) => {
                let mut m = m.clone();
                for p in parts {
                    m.update(p);
                }
                Hash::from_slice(&m.finalize().into_bytes()).unwrap_or(Hash::zero(32))
            }
            MacState::H512(m) => {
                let mut m = m.clone();
                for p in parts {
                    m.update(p);
                }
                Hash::from_slice(&m.finalize().into_bytes()).unwrap_or(Hash::zero(64))
            }
        }
    }

    /// The all-zero `prev` of the genesis record.
    pub fn zero(&self) -> Hash {
        Hash::zero(self.alg.hash_len())
    }
}

/// Decodes the lower-case hex `s` (64 or 128 digits) into the first
/// `s.len() / 2` bytes of `out`, 16 digits at a time (SSE2, part of
/// x86_64); false if any byte is not `0-9a-f`.
#[cfg(target_arch = "x86_64")]
fn lower_hex_sse2(s: &[u8], out: &mut [u8; 64]) -> bool {
    use std::arch::x86_64::{
        __m128i, _mm_and_si128, _mm_cmpgt_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_movemask_epi8,
        _mm_or_si128, _mm_packus_epi16, _mm_set1_epi16, _mm_set1_epi8, _mm_slli_epi16,
        _mm_srli_epi16, _mm_storeu_si128, _mm_sub_epi8,
    };
    let mut ok = 0xFFFFu32;
    for (digits, bytes) in s.chunks_exact(32).zip(out.chunks_exact_mut(16)) {
        // SAFETY: SSE2 is part of x86_64; each load reads 16 bytes of the
        // 32-byte `digits`, the store writes the 16-byte `bytes`; unaligned
        // access allowed.
        unsafe {
            let half = |at: usize| {
                let v = _mm_loadu_si128(digits.as_ptr().add(at).cast::<__m128i>());
                // Signed compares: bytes from 0x80 on are below both ranges.
                let digit = _mm_and_si128(
                    _mm_cmpgt_epi8(v, _mm_set1_epi8(b'0' as i8 - 1)),
                    _mm_cmplt_epi8(v, _mm_set1_epi8(b'9' as i8 + 1)),
                );
                let letter = _mm_and_si128(
                    _mm_cmpgt_epi8(v, _mm_set1_epi8(b'a' as i8 - 1)),
                    _mm_cmplt_epi8(v, _mm_set1_epi8(b'f' as i8 + 1)),
                );
                let valid = _mm_movemask_epi8(_mm_or_si128(digit, letter)) as u32;
                let offset = _mm_or_si128(
                    _mm_and_si128(digit, _mm_set1_epi8(b'0' as i8)),
                    _mm_and_si128(letter, _mm_set1_epi8(b'a' as i8 - 10)),
                );
                let nibbles = _mm_sub_epi8(v, offset);
                // Per 16-bit lane: the first digit (low byte) is the high
                // nibble.
                let pairs = _mm_or_si128(
                    _mm_slli_epi16(_mm_and_si128(nibbles, _mm_set1_epi16(0x00FF)), 4),
                    _mm_srli_epi16(nibbles, 8),
                );
                (pairs, valid)
            };
            let (a, va) = half(0);
            let (b, vb) = half(16);
            ok &= va & vb;
            _mm_storeu_si128(bytes.as_mut_ptr().cast::<__m128i>(), _mm_packus_epi16(a, b));
        }
    }
    ok == 0xFFFF
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_follow_one_unambiguous_rule() {
        let hex32 = "00112233445566778899aabbccddeeff";
        let k = Key::from_file_contents(format!("{hex32}\n").as_bytes()).unwrap();
        assert_eq!(k.bytes(), hex::decode(hex32).unwrap());
        // 20 hex digits used to become 21 raw ASCII bytes; now refused.
        for short in [
            "0123456789abcdef0123\n",
            "0123456789abcdef0123456789abcdef0",
            "abc",
        ] {
            let e = Key::from_file_contents(short.as_bytes()).unwrap_err();
            assert!(e.to_string().contains("hex digits"), "{e}");
            assert!(e.to_string().contains("at least 32"), "{e}");
        }
        assert!(Key::from_file_contents(b"").is_err());
        assert!(Key::from_file_contents(b"\n \n").is_err());
        // Not all hex: raw bytes, as they are (newline included).
        let raw = b"correct horse battery staple\n";
        assert_eq!(Key::from_file_contents(raw).unwrap().bytes(), raw);
        assert!(Key::from_file_contents(b"short raw key").is_err());
    }

    #[test]
    fn sha256_known_answer() {
        let c = Chain::new(HashAlg::Sha256, None).unwrap();
        assert_eq!(
            c.hash(b"abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    /// `hash_many` (two bodies at a time on SHA-NI) gives what `hash_parts`
    /// gives, for every algorithm, key length about the block size, body
    /// lengths across block and padding boundaries, bodies in a batch of
    /// different lengths, odd batches, and both tails the framings use.
    #[test]
    fn hash_many_matches_hash_parts() {
        let mut chains = vec![Chain::new(HashAlg::Sha256, None).unwrap()];
        for klen in [16usize, 31, 32, 63, 64, 65, 100, 200] {
            let key = Key::new((0..klen).map(|i| (i * 37 + 11) as u8).collect::<Vec<_>>()).unwrap();
            chains.push(Chain::new(HashAlg::HmacSha256, Some(&key)).unwrap());
            chains.push(Chain::new(HashAlg::HmacSha512, Some(&key)).unwrap());
        }
        let data: Vec<u8> = (0..4096u32).map(|i| (i * 7 + i / 251) as u8).collect();
        let mut lens: Vec<usize> = (0..=200).collect();
        lens.extend([255, 256, 447, 448, 449, 511, 512, 550, 1000, 4000]);
        let mut out = Vec::new();
        for chain in &chains {
            for tail in [&b""[..], b"}"] {
                // Neighbours of different lengths pair up, and the batch
                // sizes vary (odd ones leave a body alone).
                for (round, group) in [1usize, 2, 3, 7].iter().enumerate() {
                    let bodies: Vec<(&[u8], &[u8])> = lens
                        .iter()
                        .enumerate()
                        .map(|(i, &n)| {
                            let n = if i % 2 == round % 2 {
                                n
                            } else {
                                lens[(i * 13) % lens.len()]
                            };
                            (&data[i % 97..i % 97 + n], tail)
                        })
                        .collect();
                    for batch in bodies.chunks(*group) {
                        chain.hash_many(batch, &mut out);
                        assert_eq!(out.len(), batch.len());
                        for ((h, t), got) in batch.iter().zip(&out) {
                            assert_eq!(
                                *got,
                                chain.hash_parts(&[h, t]),
                                "{:?} body of {} + {} bytes",
                                chain.alg(),
                                h.len(),
                                t.len()
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn hmac_rfc4231_case2_style() {
        // Key shorter than MIN_LEN is refused.
        assert!(Key::new(b"Jefe".to_vec()).is_err());
        let key = Key::new(vec![0x0b; 20]).unwrap();
        let c = Chain::new(HashAlg::HmacSha256, Some(&key)).unwrap();
        // RFC 4231 test case 1.
        assert_eq!(
            c.hash(b"Hi There").to_hex(),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        let c = Chain::new(HashAlg::HmacSha512, Some(&key)).unwrap();
        assert_eq!(
            c.hash(b"Hi There").to_hex(),
            "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"
        );
    }

    #[test]
    fn hash_hex_roundtrip_and_rejects() {
        let h = Hash::from_slice(&[7u8; 32]).unwrap();
        assert_eq!(Hash::from_hex(&h.to_hex()), Some(h));
        assert!(Hash::from_hex("abc").is_none());
        assert!(Hash::from_hex(&"AB".repeat(32)).is_none());
        assert!(Chain::new(HashAlg::HmacSha256, None).is_err());
    }

    #[test]
    fn lower_hex_decoder_matches_the_hex_crate_on_every_byte() {
        // The reference: lower-case digits only, decoded by the hex crate.
        let reference = |s: &[u8]| -> Option<Vec<u8>> {
            if s.iter().any(|c| !matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
                return None;
            }
            hex::decode(s).ok()
        };
        let base: Vec<u8> = (0..128u32)
            .map(|i| b"0123456789abcdef"[(i * 7 % 16) as usize])
            .collect();
        for len in [64usize, 128] {
            for pos in [0, 1, len / 2, len - 1] {
                for b in 0..=255u8 {
                    let mut s = base[..len].to_vec();
                    s[pos] = b;
                    let got = Hash::from_lower_hex(&s).map(|h| h.as_bytes().to_vec());
                    assert_eq!(got, reference(&s), "len {len}, byte {b:#04x} at {pos}");
                }
            }
        }
        for len in [0usize, 2, 62, 63, 65, 127, 129] {
            assert!(Hash::from_lower_hex(&base.repeat(2)[..len]).is_none());
        }
    }

    #[test]
    fn hex_decoding_by_vector_and_by_table_agree() {
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let alphabet = b"0123456789abcdefABCDEFgz/:`G\x00\x7f\x80\xb0\xff";
        for round in 0..20_000 {
            let len = if round % 2 == 0 { 64 } else { 128 };
            let mut s: Vec<u8> = (0..len)
                .map(|_| b"0123456789abcdef"[(next() % 16) as usize])
                .collect();
            if round % 4 < 3 {
                let at = (next() % len as u64) as usize;
                s[at] = alphabet[(next() % alphabet.len() as u64) as usize];
            }
            let fast = Hash::from_lower_hex(&s);
            assert_eq!(fast, Hash::from_lower_hex_table(&s), "{s:?}");
            if let Some(h) = fast {
                assert_eq!(h.to_hex().as_bytes(), &s[..]);
            }
        }
        assert_eq!(Hash::from_lower_hex(&[b'0'; 63]), None);
    }
}
