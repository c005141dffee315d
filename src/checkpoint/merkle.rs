//! RFC 6962 / RFC 9162 Merkle tree hashing, proofs and their verification.
//!
//! Leaves are hashed as `SHA-256(0x00 || data)`, interior nodes as
//! `SHA-256(0x01 || left || right)`, and the empty tree's root is
//! `SHA-256("")`. Proofs are lists of 32-byte hashes, ordered as RFC 9162
//! § 2.1.3 and § 2.1.4 define them, so any RFC 6962 verifier accepts them.
//!
//! Proof generation works on any [`NodeSource`]: a provider of the hashes
//! of *complete* subtrees (the subtree at `level` and `index` covers the
//! leaves `[index << level, (index + 1) << level)`), such as the stored tree
//! next to a log or an in-memory list of leaf hashes.

use sha2::{Digest, Sha256};

/// A Merkle tree hash.
pub type Node = [u8; 32];

/// Longest proof accepted: a tree holds fewer than 2⁶⁴ leaves.
pub const MAX_PROOF_LEN: usize = 64;

/// `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Node {
    leaf_hash_parts(&[data])
}

/// The leaf hash of the concatenation of `parts`.
pub fn leaf_hash_parts(parts: &[&[u8]]) -> Node {
    let mut h = Sha256::new();
    h.update([0u8]);
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Node, right: &Node) -> Node {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree, `SHA-256("")`.
pub fn empty_root() -> Node {
    Sha256::digest([]).into()
}

/// Hashes of complete subtrees of a tree.
pub trait NodeSource {
    /// The error a source may fail with (I/O of a stored tree).
    type Error;
    /// The hash of the complete subtree at `level` (0: a leaf) and `index`.
    fn node(&mut self, level: u32, index: u64) -> Result<Node, Self::Error>;
}

/// Leaf hashes held in memory.
impl NodeSource for [Node] {
    type Error = std::convert::Infallible;
    fn node(&mut self, level: u32, index: u64) -> Result<Node, Self::Error> {
        let lo = (index << level) as usize;
        let hi = lo + (1usize << level);
        Ok(subtree_root(self.get(lo..hi).unwrap_or_default()))
    }
}

/// Root of a list of leaf hashes (any length), by the RFC 6962 recursion.
pub fn subtree_root(leaves: &[Node]) -> Node {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves.first().copied().unwrap_or_else(empty_root),
        n => {
            let k = split_point(n as u64) as usize;
            let (l, r) = leaves.split_at(k);
            node_hash(&subtree_root(l), &subtree_root(r))
        }
    }
}

/// The largest power of two smaller than `n` (`n >= 2`).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The hash of the leaves `[lo, hi)`, where `lo` is a multiple of a power
/// of two at least `hi - lo` (every range of the RFC 6962 recursion is):
/// the complete subtrees that make it up, folded from the right.
pub fn range_root<S: NodeSource + ?Sized>(src: &mut S, lo: u64, hi: u64) -> Result<Node, S::Error> {
    if lo >= hi {
        return Ok(empty_root());
    }
    let mut parts: Vec<Node> = Vec::with_capacity(64);
    let mut at = lo;
    while at < hi {
        let size_bits = 63 - (hi - at).leading_zeros();
        let level = if at == 0 {
            size_bits
        } else {
            at.trailing_zeros().min(size_bits)
        };
        parts.push(src.node(level, at >> level)?);
        at += 1u64 << level;
    }
    let mut acc = parts.pop().unwrap_or_else(empty_root);
    while let Some(left) = parts.pop() {
        acc = node_hash(&left, &acc);
    }
    Ok(acc)
}

/// The root of the first `size` leaves.
pub fn root<S: NodeSource + ?Sized>(src: &mut S, size: u64) -> Result<Node, S::Error> {
    range_root(src, 0, size)
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves
/// (RFC 9162 § 2.1.3.1, `PATH(m, D[n])`). `None` when `index >= size`.
pub fn inclusion_proof<S: NodeSource + ?Sized>(
    src: &mut S,
    index: u64,
    size: u64,
) -> Result<Option<Vec<Node>>, S::Error> {
    if index >= size {
        return Ok(None);
    }
    let mut out = Vec::new();
    path(src, index, 0, size, &mut out)?;
    Ok(Some(out))
}

fn path<S: NodeSource + ?Sized>(
    src: &mut S,
    m: u64,
    lo: u64,
    hi: u64,
    out: &mut Vec<Node>,
) -> Result<(), S::Error> {
    if hi - lo <= 1 {
        return Ok(());
    }
    let k = split_point(hi - lo);
    if m < lo + k {
        path(src, m, lo, lo + k, out)?;
        out.push(range_root(src, lo + k, hi)?);
    } else {
        path(src, m, lo + k, hi, out)?;
        out.push(range_root(src, lo, lo + k)?);
    }
    Ok(())
}

/// The consistency proof from the tree of `old` leaves to the tree of
/// `new` leaves (RFC 9162 § 2.1.4.1, `PROOF(m, D[n])`). Empty when `old` is
/// 0 or equals `new`; `None` when `old > new`.
pub fn consistency_proof<S: NodeSource + ?Sized>(
    src: &mut S,
    old: u64,
    new: u64,
) -> Result<Option<Vec<Node>>, S::Error> {
    if old > new {
        return Ok(None);
    }
    let mut out = Vec::new();
    if old > 0 && old < new {
        subproof(src, old, 0, new, true, &mut out)?;
    }
    Ok(Some(out))
}

fn subproof<S: NodeSource + ?Sized>(
    src: &mut S,
    m: u64,
    lo: u64,
    hi: u64,
    whole: bool,
    out: &mut Vec<Node>,
) -> Result<(), S::Error> {
    if m == hi {
        if !whole {
            out.push(range_root(src, lo, hi)?);
        }
        return Ok(());
    }
    let k = split_point(hi - lo);
    if m <= lo + k {
        subproof(src, m, lo, lo + k, whole, out)?;
        out.push(range_root(src, lo + k, hi)?);
    } else {
        subproof(src, m, lo + k, hi, false, out)?;
        out.push(range_root(src, lo, lo + k)?);
    }
    Ok(())
}

/// Why a proof does not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProofError {
    /// The index is not in the tree, or the sizes are out of order.
    OutOfRange(String),
    /// The proof has the wrong number of hashes for the sizes.
    WrongLength { got: usize, want: usize },
    /// The hashes do not lead to the expected root(s).
    Mismatch(String),
}

impl std::fmt::Display for ProofError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProofError::OutOfRange(m) => f.write_str(m),
            ProofError::WrongLength { got, want } => write!(
                f,
                "proof has {got} hashes, a proof for these sizes has {want}"
            ),
            ProofError::Mismatch(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ProofError {}

/// Number of hashes in an inclusion proof of `index` in a tree of `size`.
fn inclusion_len(index: u64, size: u64) -> usize {
    // The inner part (below the point where the paths of `index` and of the
    // last leaf split) has one hash per level; the border part one per set
    // bit of `index` above it (RFC 9162 verifier loop, counted).
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    // `inner` is 64 when the paths split at the top bit (a size above
    // 2^63): nothing is left above it.
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner + border) as usize
}

/// Verifies an inclusion proof (RFC 9162 § 2.1.3.2): leaf `index` with
/// leaf hash `leaf` is in the tree of `size` leaves with root `root`.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Node,
    proof: &[Node],
    root: &Node,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::OutOfRange(format!(
            "leaf index {index} is not in a tree of {size} leaves"
        )));
    }
    let want = inclusion_len(index, size);
    if proof.len() != want {
        return Err(ProofError::WrongLength {
            got: proof.len(),
            want,
        });
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return Err(ProofError::WrongLength {
                got: proof.len(),
                want,
            });
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongLength {
            got: proof.len(),
            want,
        });
    }
    if r != *root {
        return Err(ProofError::Mismatch(format!(
            "the proof for leaf {index} leads to root {}, not to the tree's root {}",
            hex::encode(r),
            hex::encode(root)
        )));
    }
    Ok(())
}

/// Computes the root an inclusion proof leads to (for reporting).
pub fn root_from_inclusion(index: u64, size: u64, leaf: &Node, proof: &[Node]) -> Option<Node> {
    if index >= size || proof.len() != inclusion_len(index, size) {
        return None;
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    Some(r)
}

/// Verifies a consistency proof (RFC 9162 § 2.1.4.2): the tree of `old`
/// leaves with root `old_root` is a prefix of the tree of `new` leaves with
/// root `new_root`. An old size of 0 needs an empty proof (the empty tree
/// is a prefix of every tree); equal sizes need an empty proof and equal
/// roots.
pub fn verify_consistency(
    old: u64,
    new: u64,
    proof: &[Node],
    old_root: &Node,
    new_root: &Node,
) -> Result<(), ProofError> {
    if old > new {
        return Err(ProofError::OutOfRange(format!(
            "old size {old} is larger than new size {new}"
        )));
    }
    if old == new {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength {
                got: proof.len(),
                want: 0,
            });
        }
        if old_root != new_root {
            return Err(ProofError::Mismatch(format!(
                "two trees of size {old} with different roots {} and {}",
                hex::encode(old_root),
                hex::encode(new_root)
            )));
        }
        return Ok(());
    }
    if old == 0 {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength {
                got: proof.len(),
                want: 0,
            });
        }
        return Ok(());
    }
    // Number of hashes: one per level below the point where the paths of
    // leaves old-1 and new-1 split (less the levels of the complete subtree
    // of 2^shift leaves at old's end, whose root is one hash), one per set
    // bit of old-1 above that point, and that subtree's root unless it is
    // the whole old tree (then the verifier knows it: the old root).
    let shift = old.trailing_zeros();
    let inner = 64 - ((old - 1) ^ (new - 1)).leading_zeros();
    // `inner` is 64 when the paths split at the top bit (a new size above
    // 2^63): nothing is left above it.
    let border = (old - 1).checked_shr(inner).unwrap_or(0).count_ones();
    let start = usize::from(old != 1u64 << shift);
    let want = start + (inner - shift) as usize + border as usize;
    if proof.len() != want || proof.len() > MAX_PROOF_LEN {
        return Err(ProofError::WrongLength {
            got: proof.len(),
            want,
        });
    }
    let mut path: Vec<Node> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let Some((first, rest)) = path.split_first() else {
        return Err(ProofError::WrongLength { got: 0, want });
    };
    let (mut fnode, mut snode) = (old - 1, new - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if snode == 0 {
            return Err(ProofError::WrongLength {
                got: proof.len(),
                want,
            });
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongLength {
            got: proof.len(),
            want,
        });
    }
    if fr != *old_root {
        return Err(ProofError::Mismatch(format!(
            "the proof does not lead to the old root {} (tree of {old} leaves): the trees are not consistent",
            hex::encode(old_root)
        )));
    }
    if sr != *new_root {
        return Err(ProofError::Mismatch(format!(
            "the proof does not lead to the new root {} (tree of {new} leaves): the trees are not consistent",
            hex::encode(new_root)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Node {
        let v = hex::decode(s).unwrap();
        v.try_into().unwrap()
    }

    /// The leaf inputs of the RFC 6962 reference tests (also used by
    /// certificate-transparency and transparency-dev/merkle).
    fn inputs() -> Vec<Vec<u8>> {
        [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ]
        .iter()
        .map(|s| hex::decode(s).unwrap())
        .collect()
    }

    fn leaves() -> Vec<Node> {
        inputs().iter().map(|d| leaf_hash(d)).collect()
    }

    const ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    #[test]
    fn empty_and_reference_roots() {
        assert_eq!(
            hex::encode(empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let mut l = leaves();
        for (i, want) in ROOTS.iter().enumerate() {
            let size = i as u64 + 1;
            assert_eq!(hex::encode(root(l.as_mut_slice(), size).unwrap()), *want);
            assert_eq!(hex::encode(subtree_root(&l[..i + 1])), *want);
        }
    }

    #[test]
    fn reference_inclusion_proofs() {
        let mut l = leaves();
        let cases: [(u64, u64, &[&str]); 4] = [
            (
                0,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                5,
                8,
                &[
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                3,
                &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
            ),
            (
                1,
                5,
                &[
                    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        for (index, size, want) in cases {
            let got = inclusion_proof(l.as_mut_slice(), index, size)
                .unwrap()
                .unwrap();
            let want: Vec<Node> = want.iter().map(|s| h(s)).collect();
            assert_eq!(got, want, "inclusion {index} in {size}");
            let r = h(ROOTS[size as usize - 1]);
            verify_inclusion(index, size, &l[index as usize], &got, &r).unwrap();
        }
    }

    #[test]
    fn reference_consistency_proofs() {
        let mut l = leaves();
        let cases: [(u64, u64, &[&str]); 4] = [
            (1, 1, &[]),
            (
                1,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                6,
                8,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                5,
                &[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        for (old, new, want) in cases {
            let got = consistency_proof(l.as_mut_slice(), old, new)
                .unwrap()
                .unwrap();
            let want: Vec<Node> = want.iter().map(|s| h(s)).collect();
            assert_eq!(got, want, "consistency {old} -> {new}");
            let (r1, r2) = (h(ROOTS[old as usize - 1]), h(ROOTS[new as usize - 1]));
            verify_consistency(old, new, &got, &r1, &r2).unwrap();
        }
    }

    /// Every proof of every tree up to 70 leaves verifies, and each
    /// one-bit change, a wrong index, a wrong size, a dropped or an extra
    /// hash makes it fail.
    #[test]
    fn all_small_proofs_and_their_mutations() {
        let mut l: Vec<Node> = (0u32..70).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let roots: Vec<Node> = (0..=70).map(|n| subtree_root(&l[..n])).collect();
        for size in 1..=70u64 {
            for index in 0..size {
                let p = inclusion_proof(l.as_mut_slice(), index, size)
                    .unwrap()
                    .unwrap();
                let leaf = l[index as usize];
                let r = roots[size as usize];
                verify_inclusion(index, size, &leaf, &p, &r).unwrap();
                assert_eq!(root_from_inclusion(index, size, &leaf, &p), Some(r));
                for k in 0..p.len() {
                    let mut q = p.clone();
                    q[k][k % 32] ^= 1;
                    assert!(verify_inclusion(index, size, &leaf, &q, &r).is_err());
                }
                if index + 1 < size {
                    assert!(verify_inclusion(index + 1, size, &leaf, &p, &r).is_err());
                }
                // (A proof does not bind the tree size on its own: the root
                // does, so the same path may verify for another size.)
                assert!(
                    verify_inclusion(index, size, &leaf, &p, &roots[size as usize - 1]).is_err()
                );
                let mut longer = p.clone();
                longer.push(r);
                assert!(verify_inclusion(index, size, &leaf, &longer, &r).is_err());
                if !p.is_empty() {
                    assert!(verify_inclusion(index, size, &leaf, &p[1..], &r).is_err());
                }
            }
            for old in 0..=size {
                let p = consistency_proof(l.as_mut_slice(), old, size)
                    .unwrap()
                    .unwrap();
                let (r1, r2) = (roots[old as usize], roots[size as usize]);
                verify_consistency(old, size, &p, &r1, &r2)
                    .unwrap_or_else(|e| panic!("{old} -> {size}: {e}"));
                for k in 0..p.len() {
                    let mut q = p.clone();
                    q[k][0] ^= 0x80;
                    assert!(verify_consistency(old, size, &q, &r1, &r2).is_err());
                }
                if old > 0 && old < size {
                    let other = leaf_hash(b"other");
                    assert!(verify_consistency(old, size, &p, &other, &r2).is_err());
                    assert!(verify_consistency(old, size, &p, &r1, &other).is_err());
                    assert!(verify_consistency(old, size, &p[1..], &r1, &r2).is_err());
                    let mut longer = p.clone();
                    longer.push(r2);
                    assert!(verify_consistency(old, size, &longer, &r1, &r2).is_err());
                }
            }
        }
        assert!(verify_consistency(3, 2, &[], &roots[3], &roots[2]).is_err());
        assert!(verify_consistency(2, 2, &[], &roots[2], &roots[3]).is_err());
    }
}
