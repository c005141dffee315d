//! C2SP signed notes (`signed-note`), Ed25519 keys in the note key formats,
//! and timestamped Ed25519 cosignatures (`tlog-cosignature`, type 0x04).
//!
//! A note is a text ending in a newline, a blank line, and signature lines
//! `— <name> <base64(key id || signature)>`. A verifier ignores signatures
//! by keys it does not know, rejects the note when a signature by a known
//! key (same name and key id) fails, and rejects it when no known key
//! signed it.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// Signature type byte of Ed25519 note signatures.
pub const TYPE_ED25519: u8 = 0x01;
/// Signature type byte of timestamped Ed25519 checkpoint cosignatures.
pub const TYPE_COSIGNATURE_V1: u8 = 0x04;

/// Largest note accepted (bytes).
pub const MAX_NOTE: usize = 1 << 20;
/// Most signature lines accepted in a note (the spec asks for at least 16).
pub const MAX_SIGNATURES: usize = 100;

/// What kind of signature a key makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// Ed25519 over the note text (type 0x01): a log's key.
    Ed25519,
    /// Timestamped Ed25519 cosignature/v1 (type 0x04): a witness's key.
    Cosignature,
}

impl KeyType {
    /// The signature type byte.
    pub fn byte(self) -> u8 {
        match self {
            KeyType::Ed25519 => TYPE_ED25519,
            KeyType::Cosignature => TYPE_COSIGNATURE_V1,
        }
    }

    fn from_byte(b: u8) -> Option<KeyType> {
        match b {
            TYPE_ED25519 => Some(KeyType::Ed25519),
            TYPE_COSIGNATURE_V1 => Some(KeyType::Cosignature),
            _ => None,
        }
    }
}

/// A problem with a note, a key or a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoteError {
    /// Not a well-formed note (or key): the text says why.
    Malformed(String),
    /// No signature by a trusted key is on the note.
    Unverified(String),
    /// A signature by a trusted key (matching name and key id) fails.
    BadSignature(String),
}

impl std::fmt::Display for NoteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoteError::Malformed(m) | NoteError::Unverified(m) | NoteError::BadSignature(m) => {
                f.write_str(m)
            }
        }
    }
}

impl std::error::Error for NoteError {}

fn malformed<T>(m: impl Into<String>) -> Result<T, NoteError> {
    Err(NoteError::Malformed(m.into()))
}

/// Checks a key name: non-empty, no Unicode space, no `+`, no control
/// characters.
pub fn check_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() {
        return malformed("key name is empty");
    }
    if let Some(c) = name
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || *c == '+')
    {
        return malformed(format!(
            "key name {name:?} contains {c:?} (names hold no space, control character or '+')"
        ));
    }
    Ok(())
}

/// `SHA-256(name || "\n" || type || public key)[:4]`, big-endian.
pub fn key_id(name: &str, key_type: KeyType, public: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([key_type.byte()]);
    h.update(public);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// A private key that signs notes (a log's key or a witness's key).
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    key_type: KeyType,
    key: SigningKey,
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("key_type", &self.key_type)
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    /// A new random key.
    pub fn generate(name: &str, key_type: KeyType) -> Result<NoteSigner, NoteError> {
        check_name(name)?;
        let mut seed = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut seed);
        Ok(Self::from_seed(name, key_type, seed))
    }

    /// The key with this 32-byte Ed25519 seed (for test vectors).
    pub fn from_seed(name: &str, key_type: KeyType, seed: [u8; 32]) -> NoteSigner {
        NoteSigner {
            name: name.to_string(),
            key_type,
            key: SigningKey::from_bytes(&seed),
        }
    }

    /// The key as a witness's cosigning key: a type 0x01 key becomes the
    /// cosignature key (type 0x04, its own key id) of the same seed, as the
    /// Go reference `NewSignerForCosignatureV1` takes a key made by
    /// `note.GenerateKey`; a cosignature key stays as it is.
    pub fn into_cosignature(self) -> NoteSigner {
        NoteSigner {
            key_type: KeyType::Cosignature,
            ..self
        }
    }

    /// Parses `PRIVATE+KEY+<name>+<hex key id>+<base64(type || seed)>`
    /// (surrounding whitespace ignored).
    pub fn from_skey(text: &str) -> Result<NoteSigner, NoteError> {
        let text = text.trim();
        let Some(rest) = text.strip_prefix("PRIVATE+KEY+") else {
            return malformed("not a private key: it does not start with PRIVATE+KEY+");
        };
        // Names hold no '+'; base64 may.
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return malformed("private key is not PRIVATE+KEY+<name>+<key id>+<key>");
        };
        check_name(name)?;
        let raw = B64
            .decode(b64)
            .map_err(|_| NoteError::Malformed("private key material is not base64".into()))?;
        let (Some(&t), Some(seed)) = (raw.first(), raw.get(1..)) else {
            return malformed("private key material is empty");
        };
        let Some(key_type) = KeyType::from_byte(t) else {
            return malformed(format!(
                "private key of signature type 0x{t:02x}: only Ed25519 (0x01) and cosignature (0x04) keys are supported"
            ));
        };
        let seed: [u8; 32] = seed.try_into().map_err(|_| {
            NoteError::Malformed(format!(
                "Ed25519 private key has {} bytes, not 32",
                raw.len() - 1
            ))
        })?;
        let s = Self::from_seed(name, key_type, seed);
        if parse_key_id(id_hex)? != s.id() {
            return malformed(format!(
                "private key id {id_hex} does not match its name and key"
            ));
        }
        Ok(s)
    }

    /// The private key text, `PRIVATE+KEY+<name>+<id>+<base64>`.
    pub fn to_skey(&self) -> String {
        let mut raw = vec![self.key_type.byte()];
        raw.extend_from_slice(&self.key.to_bytes());
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.id(),
            B64.encode(raw)
        )
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key's type.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// The key id.
    pub fn id(&self) -> u32 {
        key_id(
            &self.name,
            self.key_type,
            &self.key.verifying_key().to_bytes(),
        )
    }

    /// The matching public key.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            key_type: self.key_type,
            key: self.key.verifying_key(),
        }
    }

    /// The signature line for `text` (a note text ending in a newline).
    /// Cosignature keys sign `cosignature/v1\ntime <timestamp>\n<text>`.
    pub fn sign_line(&self, text: &str, timestamp: u64) -> String {
        let mut sig = self.id().to_be_bytes().to_vec();
        match self.key_type {
            KeyType::Ed25519 => sig.extend_from_slice(&self.key.sign(text.as_bytes()).to_bytes()),
            KeyType::Cosignature => {
                let msg = cosigned_message(text, timestamp);
                sig.extend_from_slice(&timestamp.to_be_bytes());
                sig.extend_from_slice(&self.key.sign(msg.as_bytes()).to_bytes());
            }
        }
        format!("\u{2014} {} {}\n", self.name, B64.encode(sig))
    }
}

fn cosigned_message(text: &str, timestamp: u64) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{text}")
}

fn parse_key_id(s: &str) -> Result<u32, NoteError> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return malformed(format!("key id {s:?} is not 8 hex digits"));
    }
    u32::from_str_radix(s, 16).or_else(|_| malformed(format!("key id {s:?} is not hex")))
}

/// A public key that verifies notes: a *vkey*.
#[derive(Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key_type: KeyType,
    key: VerifyingKey,
}

impl std::fmt::Debug for NoteVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_vkey())
    }
}

impl NoteVerifier {
    /// Parses `<name>+<hex key id>+<base64(type || public key)>`.
    pub fn from_vkey(text: &str) -> Result<NoteVerifier, NoteError> {
        let text = text.trim();
        if text.starts_with("PRIVATE+KEY+") {
            return malformed(
                "this is a private key; a verifier needs the public key (name+id+key)",
            );
        }
        // Names hold no '+'; base64 may.
        let mut parts = text.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return malformed("public key is not <name>+<key id>+<key>");
        };
        check_name(name)?;
        let raw = B64
            .decode(b64)
            .map_err(|_| NoteError::Malformed("public key material is not base64".into()))?;
        let (Some(&t), Some(public)) = (raw.first(), raw.get(1..)) else {
            return malformed("public key material is empty");
        };
        let Some(key_type) = KeyType::from_byte(t) else {
            return malformed(format!(
                "public key of signature type 0x{t:02x}: only Ed25519 (0x01) and cosignature (0x04) keys are supported"
            ));
        };
        let public: [u8; 32] = public.try_into().map_err(|_| {
            NoteError::Malformed(format!(
                "Ed25519 public key has {} bytes, not 32",
                raw.len() - 1
            ))
        })?;
        let key = VerifyingKey::from_bytes(&public)
            .map_err(|_| NoteError::Malformed("not a valid Ed25519 public key".into()))?;
        let v = NoteVerifier {
            name: name.to_string(),
            key_type,
            key,
        };
        if parse_key_id(id_hex)? != v.id() {
            return malformed(format!(
                "public key id {id_hex} does not match its name and key"
            ));
        }
        Ok(v)
    }

    /// The vkey text.
    pub fn to_vkey(&self) -> String {
        let mut raw = vec![self.key_type.byte()];
        raw.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.id(), B64.encode(raw))
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key's type.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// The key id.
    pub fn id(&self) -> u32 {
        key_id(&self.name, self.key_type, self.key.as_bytes())
    }

    /// Whether `other` has the same Ed25519 public key (whatever its name
    /// and type).
    pub fn same_public_key(&self, other: &NoteVerifier) -> bool {
        self.key == other.key
    }

    /// The key as a witness key: a type 0x01 key becomes the cosignature
    /// key (type 0x04, another key id) of the same public key, as the Go
    /// reference `NewVerifierForCosignatureV1` takes it, so a plain note
    /// signature never counts as a cosignature.
    pub fn as_cosignature(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            key_type: KeyType::Cosignature,
            key: self.key,
        }
    }

    /// Checks `sig` (the bytes after the key id) over `text`. Returns the
    /// cosignature's timestamp (0 for a plain Ed25519 signature).
    fn check(&self, text: &str, sig: &[u8]) -> Result<u64, NoteError> {
        let bad = || {
            NoteError::BadSignature(format!(
                "signature by {} (key id {:08x}) does not verify",
                self.name,
                self.id()
            ))
        };
        match self.key_type {
            KeyType::Ed25519 => {
                let s = Signature::from_slice(sig).map_err(|_| bad())?;
                self.key
                    .verify_strict(text.as_bytes(), &s)
                    .map_err(|_| bad())?;
                Ok(0)
            }
            KeyType::Cosignature => {
                let (Some(ts), Some(s)) = (sig.get(..8), sig.get(8..)) else {
                    return Err(bad());
                };
                let ts = u64::from_be_bytes(ts.try_into().map_err(|_| bad())?);
                if ts > i64::MAX as u64 {
                    return Err(bad());
                }
                let s = Signature::from_slice(s).map_err(|_| bad())?;
                self.key
                    .verify_strict(cosigned_message(text, ts).as_bytes(), &s)
                    .map_err(|_| bad())?;
                Ok(ts)
            }
        }
    }
}

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// The signer's key name.
    pub name: String,
    /// The key id (first four bytes of the decoded signature).
    pub id: u32,
    /// The signature bytes after the key id.
    pub sig: Vec<u8>,
}

impl NoteSignature {
    /// The line, `— <name> <base64>` and a newline.
    pub fn line(&self) -> String {
        let mut raw = self.id.to_be_bytes().to_vec();
        raw.extend_from_slice(&self.sig);
        format!("\u{2014} {} {}\n", self.name, B64.encode(raw))
    }

    fn parse(line: &str) -> Result<NoteSignature, NoteError> {
        let Some(rest) = line.strip_prefix("\u{2014} ") else {
            return malformed(format!(
                "signature line {line:?} does not start with an em dash and a space"
            ));
        };
        let Some((name, b64)) = rest.split_once(' ') else {
            return malformed(format!("signature line {line:?} has no signature"));
        };
        check_name(name)?;
        let raw = B64
            .decode(b64)
            .map_err(|_| NoteError::Malformed(format!("signature by {name} is not base64")))?;
        // A key id and at least one signature byte, as the Go reference
        // (golang.org/x/mod/sumdb/note) requires of every line.
        let (Some(id), Some(sig)) = (raw.get(..4), raw.get(4..).filter(|s| !s.is_empty())) else {
            return malformed(format!(
                "signature by {name} is shorter than a key id and a signature"
            ));
        };
        Ok(NoteSignature {
            name: name.to_string(),
            id: u32::from_be_bytes([id[0], id[1], id[2], id[3]]),
            sig: sig.to_vec(),
        })
    }
}

/// A signed note: its text and signature lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The text, ending in a newline (without the blank line).
    pub text: String,
    /// The signatures, in order.
    pub signatures: Vec<NoteSignature>,
}

/// A signature that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The key's name.
    pub name: String,
    /// The key id.
    pub id: u32,
    /// The key type.
    pub key_type: KeyType,
    /// The cosignature's timestamp (0 for a log signature).
    pub timestamp: u64,
}

impl Note {
    /// Parses a note. Does not check any signature.
    pub fn parse(bytes: &[u8]) -> Result<Note, NoteError> {
        if bytes.len() > MAX_NOTE {
            return malformed(format!(
                "note of {} bytes is longer than {MAX_NOTE}",
                bytes.len()
            ));
        }
        let Ok(s) = std::str::from_utf8(bytes) else {
            return malformed("note is not UTF-8");
        };
        if let Some(c) = s.chars().find(|c| (*c as u32) < 0x20 && *c != '\n') {
            return malformed(format!(
                "note contains the control character {c:?} (only newlines are allowed)"
            ));
        }
        if !s.ends_with('\n') {
            return malformed("note does not end with a newline");
        }
        // The text ends at the last blank line.
        let Some(split) = s.rfind("\n\n") else {
            return malformed("note has no blank line before its signatures");
        };
        let text = &s[..split + 1];
        let sigs = &s[split + 2..];
        let mut signatures = Vec::new();
        for line in sigs.split_terminator('\n') {
            if signatures.len() == MAX_SIGNATURES {
                return malformed(format!("note has more than {MAX_SIGNATURES} signatures"));
            }
            signatures.push(NoteSignature::parse(line)?);
        }
        if signatures.is_empty() {
            return malformed("note has no signature lines");
        }
        Ok(Note {
            text: text.to_string(),
            signatures,
        })
    }

    /// The note's bytes: text, blank line, signature lines.
    pub fn to_text(&self) -> String {
        let mut s = self.text.clone();
        s.push('\n');
        for sig in &self.signatures {
            s.push_str(&sig.line());
        }
        s
    }

    /// Signs `text` (which must end in a newline) with `signers`.
    pub fn sign(text: &str, signers: &[&NoteSigner], timestamp: u64) -> Result<Note, NoteError> {
        if !text.ends_with('\n') {
            return malformed("note text does not end with a newline");
        }
        let mut note = Note {
            text: text.to_string(),
            signatures: Vec::new(),
        };
        for s in signers {
            note.add_signature(s, timestamp)?;
        }
        Ok(note)
    }

    /// Adds a signature (or cosignature) by `signer`.
    pub fn add_signature(&mut self, signer: &NoteSigner, timestamp: u64) -> Result<(), NoteError> {
        let line = signer.sign_line(&self.text, timestamp);
        let sig = NoteSignature::parse(line.trim_end_matches('\n'))?;
        self.signatures.push(sig);
        Ok(())
    }

    /// The signatures by `verifiers` that verify, in note order. Fails when
    /// a signature by one of them (same name and key id) does not verify.
    /// Signatures by other keys are ignored. Does not fail when none of
    /// them signed (see [`Note::verify`]).
    pub fn verified_by(&self, verifiers: &[NoteVerifier]) -> Result<Vec<Verified>, NoteError> {
        let mut out: Vec<Verified> = Vec::new();
        for sig in &self.signatures {
            for v in verifiers {
                if v.name == sig.name && v.id() == sig.id {
                    let timestamp = v.check(&self.text, &sig.sig)?;
                    if !out.iter().any(|o| o.name == v.name && o.id == sig.id) {
                        out.push(Verified {
                            name: v.name.clone(),
                            id: sig.id,
                            key_type: v.key_type,
                            timestamp,
                        });
                    }
                }
            }
        }
        Ok(out)
    }

    /// Like [`Note::verified_by`], and fails when no known key signed.
    pub fn verify(&self, verifiers: &[NoteVerifier]) -> Result<Vec<Verified>, NoteError> {
        let out = self.verified_by(verifiers)?;
        if out.is_empty() {
            let names: Vec<String> = verifiers.iter().map(|v| v.to_vkey()).collect();
            return Err(NoteError::Unverified(format!(
                "no signature by a trusted key ({}) is on the note (signed by: {})",
                names.join(", "),
                self.signatures
                    .iter()
                    .map(|s| format!("{} {:08x}", s.name, s.id))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of C2SP signed-note: the vkey verifies the note.
    #[test]
    fn c2sp_signed_note_example() {
        let v = NoteVerifier::from_vkey(
            "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        )
        .unwrap();
        let note = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
        let n = Note::parse(note.as_bytes()).unwrap();
        assert_eq!(n.text, "This is an example message.\n");
        let ok = n.verify(std::slice::from_ref(&v)).unwrap();
        assert_eq!(ok.len(), 1);
        assert_eq!(n.to_text(), note);
        // One changed byte of the text: the known key's signature fails.
        let bad = note.replace("example message", "example massage");
        let n = Note::parse(bad.as_bytes()).unwrap();
        assert!(matches!(
            n.verify(std::slice::from_ref(&v)),
            Err(NoteError::BadSignature(_))
        ));
    }

    #[test]
    fn keys_round_trip_and_sign() {
        let s = NoteSigner::from_seed("example.com/log", KeyType::Ed25519, [7; 32]);
        let s2 = NoteSigner::from_skey(&s.to_skey()).unwrap();
        assert_eq!(s2.to_skey(), s.to_skey());
        let v = NoteVerifier::from_vkey(&s.verifier().to_vkey()).unwrap();
        assert_eq!(v, s.verifier());
        let n = Note::sign("hello\n", &[&s], 0).unwrap();
        assert_eq!(n.verify(std::slice::from_ref(&v)).unwrap().len(), 1);
        // A witness cosigns; a verifier knowing only the witness checks it.
        let w = NoteSigner::from_seed("witness.example/w1", KeyType::Cosignature, [9; 32]);
        let mut n2 = n.clone();
        n2.add_signature(&w, 1_700_000_000).unwrap();
        let got = Note::parse(n2.to_text().as_bytes())
            .unwrap()
            .verify(&[w.verifier()])
            .unwrap();
        assert_eq!(got[0].timestamp, 1_700_000_000);
        // Unknown keys are ignored; no known key: unverified.
        let other = NoteSigner::from_seed("example.com/log", KeyType::Ed25519, [8; 32]);
        assert!(matches!(
            n.verify(&[other.verifier()]),
            Err(NoteError::Unverified(_))
        ));
        // Wrong id in a vkey, private key given as vkey, bad names.
        let vk = s.verifier().to_vkey();
        let wrong_id = vk.replacen(&format!("{:08x}", s.id()), "00000000", 1);
        assert!(NoteVerifier::from_vkey(&wrong_id).is_err());
        assert!(NoteVerifier::from_vkey(&s.to_skey()).is_err());
        assert!(NoteSigner::generate("a b", KeyType::Ed25519).is_err());
        assert!(NoteSigner::generate("a+b", KeyType::Ed25519).is_err());
    }

    #[test]
    fn malformed_notes() {
        for bad in [
            &b"no blank line\n\xe2\x80\x94 a AAAA\n"[..],
            b"text\n\n",
            b"text\n\nnot a signature\n",
            b"text\n\n\xe2\x80\x94 a !!!\n",
            b"text\n\n\xe2\x80\x94 a AAA=\n",
            b"tab\there\n\n\xe2\x80\x94 a AAAAAA==\n",
            b"\xff\n\n\xe2\x80\x94 a AAAAAA==\n",
            b"text\n\n\xe2\x80\x94 a AAAAAA==",
            // A key id without a signature (the Go reference: malformed),
            // also next to a valid-looking line.
            b"text\n\n\xe2\x80\x94 a AAAAAA==\n",
            b"text\n\n\xe2\x80\x94 a AAAAAAA=\n\xe2\x80\x94 b AAAAAA==\n",
        ] {
            assert!(
                matches!(Note::parse(bad), Err(NoteError::Malformed(_))),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
