//! `evident keygen`, `checkpoint`, `prove`, `verify-proof`, `witness` and
//! `verify --checkpoint`: outputs and exit codes.

use std::path::Path;

use assert_cmd::Command;
use evident::{Durability, Event, Log, OpenOptions};
use predicates::prelude::*;

mod support;

fn evident(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("evident").unwrap();
    c.current_dir(dir);
    c
}

fn append(log: &Path, from: u64, to: u64) {
    let l = Log::open(log, OpenOptions::new().durability(Durability::Buffered)).unwrap();
    for i in from..to {
        l.append(&Event::new("ACTION_EXECUTED", format!("a{i}")))
            .unwrap();
    }
    l.close().unwrap();
}

#[test]
fn the_whole_workflow() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let log = p.join("audit.jsonl");
    append(&log, 0, 20);
    evident(p)
        .args(["keygen", "--name", "example.com/audit", "-o", "log.key"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("example.com/audit+"));
    evident(p)
        .args([
            "keygen",
            "--name",
            "witness.example/w1",
            "--witness",
            "-o",
            "w.key",
        ])
        .assert()
        .success();
    // keygen never overwrites a key.
    evident(p)
        .args(["keygen", "--name", "example.com/audit", "-o", "log.key"])
        .assert()
        .code(2);
    evident(p)
        .args(["checkpoint", "audit.jsonl", "--key", "log.key", "-o", "cp1"])
        .assert()
        .success();
    let cp1 = std::fs::read_to_string(p.join("cp1")).unwrap();
    assert!(cp1.contains("\n21\n"), "{cp1}");
    assert!(p.join("audit.jsonl.checkpoints").exists());
    assert!(p.join("audit.jsonl.tree").exists());
    append(&log, 20, 30);
    evident(p)
        .args(["checkpoint", "audit.jsonl", "--key", "log.key", "-o", "cp2"])
        .assert()
        .success();
    // Inclusion proof, checked against the log.
    evident(p)
        .args([
            "prove",
            "audit.jsonl",
            "--seq",
            "7",
            "--checkpoint",
            "cp1",
            "-o",
            "p7",
        ])
        .assert()
        .success();
    evident(p)
        .args([
            "verify-proof",
            "p7",
            "--pubkey",
            "log.key.pub",
            "--log",
            "audit.jsonl",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("entry seq 7"));
    // Against a copy whose entry 6 (action a5) was altered: the entry cannot be read,
    // and the message says why (not that the log has no entry seq 7).
    let text = std::fs::read_to_string(&log).unwrap();
    std::fs::write(p.join("altered.jsonl"), text.replace("\"a5\"", "\"EVIL\"")).unwrap();
    evident(p)
        .args([
            "verify-proof",
            "p7",
            "--pubkey",
            "log.key.pub",
            "--log",
            "altered.jsonl",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cannot be read"))
        .stderr(predicate::str::contains("hash_mismatch at entry seq 6"));
    // The proof does not verify with another key. (Given --log: without
    // it, or --origin, an inclusion proof is a usage error, exit 2,
    // spec/checkpoints.md rule 8a.)
    evident(p)
        .args(["keygen", "--name", "example.com/audit", "-o", "other.key"])
        .assert()
        .success();
    evident(p)
        .args([
            "verify-proof",
            "p7",
            "--pubkey",
            "other.key.pub",
            "--log",
            "audit.jsonl",
        ])
        .assert()
        .code(1);
    evident(p)
        .args(["verify-proof", "p7", "--pubkey", "log.key.pub"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--log LOG"));
    // Consistency proof, as a witness request.
    evident(p)
        .args([
            "prove",
            "audit.jsonl",
            "--consistency",
            "cp1",
            "cp2",
            "-o",
            "c12",
        ])
        .assert()
        .success();
    evident(p)
        .args([
            "verify-proof",
            "c12",
            "--pubkey",
            "log.key.pub",
            "--old",
            "cp1",
        ])
        .assert()
        .success();
    // A witness: first checkpoint from old 0 (stdin), then the proof.
    let mut r0 = String::from("old 0\n\n");
    r0.push_str(&cp1);
    // `prove --consistency 0 NEW` makes that request.
    evident(p)
        .args(["prove", "audit.jsonl", "--consistency", "0", "cp1"])
        .assert()
        .success()
        .stdout(predicate::eq(r0.clone()));
    evident(p)
        .args([
            "witness",
            "--store",
            "ws",
            "--key",
            "w.key",
            "--log-key",
            "log.key.pub",
        ])
        .write_stdin(r0)
        .assert()
        .success()
        .stdout(predicate::str::starts_with("\u{2014} witness.example/w1 "));
    evident(p)
        .args([
            "witness",
            "--store",
            "ws",
            "--key",
            "w.key",
            "--log-key",
            "log.key.pub",
            "c12",
            "--cosigned",
            "cp2w",
        ])
        .assert()
        .success();
    // The same request again: the witness is at 31 now (409).
    evident(p)
        .args([
            "witness",
            "--store",
            "ws",
            "--key",
            "w.key",
            "--log-key",
            "log.key.pub",
            "c12",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("409 conflict"));
    // verify with the checkpoint, requiring the witness.
    evident(p)
        .args([
            "verify",
            "audit.jsonl",
            "--checkpoint",
            "cp2w",
            "--pubkey",
            "log.key.pub",
            "--witness-key",
            "w.key.pub",
            "--min-witnesses",
            "1",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("checkpoint: match"))
        .stdout(predicate::str::contains("valid"));
    // --json: one object, the chain's report under "chain".
    let a = evident(p)
        .args([
            "verify",
            "audit.jsonl",
            "--json",
            "--checkpoint",
            "cp2w",
            "--pubkey",
            "log.key.pub",
        ])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
    assert_eq!(v["outcome"], "match");
    assert_eq!(v["chain"]["status"], "valid", "{v}");
    assert_eq!(v["chain"]["entries"], 30, "{v}");
    evident(p)
        .args([
            "verify",
            "audit.jsonl",
            "--checkpoint",
            "cp2",
            "--pubkey",
            "log.key.pub",
            "--witness-key",
            "w.key.pub",
            "--min-witnesses",
            "1",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("too_few_witnesses"));
    // Incremental from cp1.
    evident(p)
        .args([
            "verify",
            "audit.jsonl",
            "--checkpoint",
            "cp1",
            "--pubkey",
            "log.key.pub",
            "--incremental",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("(incremental, 11 records read)"));
    // Cut the log: truncated, exit 1, with --json too.
    let text = std::fs::read_to_string(&log).unwrap();
    let keep: String = text.lines().take(25).map(|l| format!("{l}\n")).collect();
    std::fs::write(&log, keep).unwrap();
    evident(p)
        .args([
            "verify",
            "audit.jsonl",
            "--checkpoint",
            "cp2",
            "--pubkey",
            "log.key.pub",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("checkpoint: truncated"));
    let out = evident(p)
        .args([
            "verify",
            "audit.jsonl",
            "--checkpoint",
            "cp2",
            "--pubkey",
            "log.key.pub",
            "--json",
        ])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["outcome"], "truncated");
    assert_eq!(v["log_size"], 25);
    // The writer refuses to sign a log inconsistent with its last
    // checkpoint once it grows past it again.
    append(&log, 24, 40);
    evident(p)
        .args(["checkpoint", "audit.jsonl", "--key", "log.key"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("refusing to sign"));
}

#[test]
fn bad_keys_and_files_are_errors() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    append(&p.join("a.jsonl"), 0, 3);
    std::fs::write(p.join("bad.key"), "PRIVATE+KEY+x+00000000+AAAA\n").unwrap();
    evident(p)
        .args(["checkpoint", "a.jsonl", "--key", "bad.key"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.key"));
    evident(p)
        .args(["checkpoint", "a.jsonl", "--key", "missing.key"])
        .assert()
        .code(2);
    // A key file too long to be one is a bad key (exit 2), as an empty or
    // garbled one is, not a failed check (exit 1).
    std::fs::write(p.join("long.key"), vec![0u8; 1 << 20]).unwrap();
    for args in [
        &["checkpoint", "a.jsonl", "--key", "long.key"][..],
        &[
            "verify",
            "a.jsonl",
            "--checkpoint",
            "cp",
            "--pubkey",
            "long.key",
        ],
        &[
            "witness",
            "--store",
            "s",
            "--key",
            "long.key",
            "--log-key",
            "x.pub",
            "-",
        ],
    ] {
        evident(p)
            .args(args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(
                "long.key: key file is longer than 4096 bytes",
            ));
    }
    evident(p)
        .args(["keygen", "--name", "has space"])
        .assert()
        .code(2);
    evident(p)
        .args(["keygen", "--name", "example.com/a", "-o", "k"])
        .assert()
        .success();
    std::fs::write(p.join("cp"), "not a checkpoint\n").unwrap();
    evident(p)
        .args([
            "verify",
            "a.jsonl",
            "--checkpoint",
            "cp",
            "--pubkey",
            "k.pub",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cp"));
    evident(p)
        .args([
            "verify",
            "a.jsonl",
            "--checkpoint",
            "cp",
            "--pubkey",
            "nonsense",
        ])
        .assert()
        .code(2);
    // A witness key cannot sign checkpoints; a log cannot witness itself
    // (its own key as the witness key).
    evident(p)
        .args(["keygen", "--name", "w.example/w", "--witness", "-o", "w"])
        .assert()
        .success();
    evident(p)
        .args(["checkpoint", "a.jsonl", "--key", "w"])
        .assert()
        .code(2);
    evident(p)
        .args([
            "witness",
            "--store",
            "s",
            "--key",
            "k",
            "--log-key",
            "k.pub",
        ])
        .write_stdin("old 0\n\n")
        .assert()
        .code(2);
    // A request the witness refuses names the request.
    evident(p)
        .args(["keygen", "--name", "w.example/w2", "--witness", "-o", "w2"])
        .assert()
        .success();
    std::fs::write(p.join("req"), "").unwrap();
    evident(p)
        .args([
            "witness",
            "--store",
            "s",
            "--key",
            "w2",
            "--log-key",
            "k.pub",
            "req",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with(
            "evident: req: witness: 400 bad_request",
        ));
}

/// keygen never overwrites a key, the public one included: a `k.pub`
/// left from another key pair (its private key moved away) was replaced
/// by the new public key, so what verifiers were given as `k.pub` silently
/// changed. Now the command fails before writing anything.
#[test]
fn keygen_never_replaces_a_public_key() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::write(p.join("k.pub"), "someone else's key\n").unwrap();
    evident(p)
        .args(["keygen", "--name", "example.com/a", "-o", "k"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("k.pub"));
    assert_eq!(
        std::fs::read_to_string(p.join("k.pub")).unwrap(),
        "someone else's key\n"
    );
    assert!(!p.join("k").exists(), "a private key was left behind");
}

/// The private key file of `keygen -o` may be opened by the user who made
/// it and nobody else. On Unix it is mode 0600; on Windows it took the
/// directory's inherited ACL (in a shared directory such as
/// `C:\ProgramData`, readable by every user of the machine). Now its DACL
/// is set when the file is created: one entry, the current user, full
/// access, protected from inheritance. The public key is not restricted.
#[test]
fn keygen_private_key_only_its_user_may_open() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    evident(p)
        .args(["keygen", "--name", "example.com/a", "-o", "k"])
        .assert()
        .success();
    let skey = std::fs::read_to_string(p.join("k")).unwrap();
    assert!(skey.starts_with("PRIVATE+KEY+example.com/a+"), "{skey}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(p.join("k")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    #[cfg(windows)]
    {
        // Allowed: this user and SYSTEM (which has every access anyway;
        // Wine, which maps a DACL to Unix permission bits and back, lists
        // it). Before, the directory's entries were inherited: under Wine,
        // Everyone (S-1-1-0) could read the key.
        let me = windows_acl::current_user();
        let aces = windows_acl::dacl(&p.join("k"));
        assert!(
            aces.iter()
                .any(|a| a.allowed && a.sid == me && a.mask == windows_acl::FILE_ALL_ACCESS),
            "{aces:?}"
        );
        assert!(
            aces.iter()
                .all(|a| !a.allowed || a.sid == me || a.sid == "S-1-5-18"),
            "another user may open the private key: {aces:?} (this user: {me})"
        );
    }
}

/// Reads a file's DACL (Win32 security calls, as the library sets it).
#[cfg(windows)]
mod windows_acl {
    use std::os::windows::ffi::OsStrExt as _;
    use std::path::Path;

    use windows_sys::Win32::Foundation::{CloseHandle, LocalFree, HANDLE};
    use windows_sys::Win32::Security::Authorization::ConvertSidToStringSidW;
    use windows_sys::Win32::Security::{
        GetAce, GetFileSecurityW, GetSecurityDescriptorDacl, GetTokenInformation, TokenUser,
        ACCESS_ALLOWED_ACE, ACE_HEADER, ACL, DACL_SECURITY_INFORMATION, PSID, TOKEN_QUERY,
        TOKEN_USER,
    };
    use windows_sys::Win32::System::SystemServices::ACCESS_ALLOWED_ACE_TYPE;
    use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

    pub const FILE_ALL_ACCESS: u32 = 0x001F_01FF;

    /// One entry of a DACL: allowed or denied, the access mask, the SID
    /// as a string (`S-1-…`).
    #[derive(Debug)]
    pub struct Ace {
        pub allowed: bool,
        pub mask: u32,
        pub sid: String,
    }

    /// `sid` as a string.
    unsafe fn sid_string(sid: PSID) -> String {
        let mut sp: *mut u16 = std::ptr::null_mut();
        assert_ne!(ConvertSidToStringSidW(sid, &mut sp), 0);
        let mut n = 0;
        while *sp.add(n) != 0 {
            n += 1;
        }
        let s = String::from_utf16_lossy(std::slice::from_raw_parts(sp, n));
        LocalFree(sp.cast());
        s
    }

    /// The SID of the user running the tests.
    pub fn current_user() -> String {
        let mut token: HANDLE = std::ptr::null_mut();
        // SAFETY: test code; documented Win32 calls with valid pointers.
        unsafe {
            assert_ne!(
                OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token),
                0
            );
            let mut len = 0u32;
            GetTokenInformation(token, TokenUser, std::ptr::null_mut(), 0, &mut len);
            let mut buf = vec![0usize; (len as usize).div_ceil(8)];
            assert_ne!(
                GetTokenInformation(token, TokenUser, buf.as_mut_ptr().cast(), len, &mut len),
                0
            );
            CloseHandle(token);
            sid_string((*buf.as_ptr().cast::<TOKEN_USER>()).User.Sid)
        }
    }

    /// The entries of the file's DACL (it must have one).
    pub fn dacl(path: &Path) -> Vec<Ace> {
        let wide: Vec<u16> = path.as_os_str().encode_wide().chain([0]).collect();
        // SAFETY: test code; documented Win32 calls with valid pointers and
        // buffers of the sizes the calls asked for.
        unsafe {
            let mut len = 0u32;
            GetFileSecurityW(
                wide.as_ptr(),
                DACL_SECURITY_INFORMATION,
                std::ptr::null_mut(),
                0,
                &mut len,
            );
            assert!(len > 0, "{}", std::io::Error::last_os_error());
            let mut sd = vec![0usize; (len as usize).div_ceil(8)];
            assert_ne!(
                GetFileSecurityW(
                    wide.as_ptr(),
                    DACL_SECURITY_INFORMATION,
                    sd.as_mut_ptr().cast(),
                    len,
                    &mut len
                ),
                0
            );
            let (mut present, mut defaulted) = (0, 0);
            let mut acl: *mut ACL = std::ptr::null_mut();
            assert_ne!(
                GetSecurityDescriptorDacl(
                    sd.as_mut_ptr().cast(),
                    &mut present,
                    &mut acl,
                    &mut defaulted
                ),
                0
            );
            assert!(
                present != 0 && !acl.is_null(),
                "no DACL: everyone may open it"
            );
            let mut aces = Vec::new();
            for i in 0..u32::from((*acl).AceCount) {
                let mut ace: *mut core::ffi::c_void = std::ptr::null_mut();
                assert_ne!(GetAce(acl, i, &mut ace), 0);
                let header = *ace.cast::<ACE_HEADER>();
                // Allowed and denied entries have the same layout.
                let a = ace.cast::<ACCESS_ALLOWED_ACE>();
                aces.push(Ace {
                    allowed: u32::from(header.AceType) == ACCESS_ALLOWED_ACE_TYPE,
                    mask: (*a).Mask,
                    sid: sid_string(std::ptr::addr_of_mut!((*a).SidStart).cast()),
                });
            }
            aces
        }
    }
}

/// A `<log>.checkpoints` sidecar (or a `--checkpoint` file) of hundreds of
/// megabytes with no note in it: it was read whole and copied (twice its
/// size in memory; under a 2 GB limit a 1 GB file aborted the command).
/// Now it is read a line at a time and refused at the first note longer
/// than a note may be (1 MiB), naming the file, in bounded memory.
#[cfg(unix)]
#[test]
fn a_huge_checkpoints_sidecar_is_refused_in_bounded_memory() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    append(&p.join("a.jsonl"), 0, 3);
    evident(p)
        .args(["keygen", "--name", "example.com/a", "-o", "k"])
        .assert()
        .success();
    let sidecar = p.join("a.jsonl.checkpoints");
    std::fs::File::create(&sidecar)
        .unwrap()
        .set_len(300 << 20)
        .unwrap();
    let bin = assert_cmd::cargo::cargo_bin("evident");
    let limit = support::smallest_address_space_kib(&bin) + 100_000;
    for args in [
        &["checkpoint", "a.jsonl", "--key", "k", "-o", "cp"][..],
        &[
            "verify",
            "a.jsonl",
            "--checkpoint",
            "a.jsonl.checkpoints",
            "--pubkey",
            "k.pub",
        ],
        &[
            "prove",
            "a.jsonl",
            "--seq",
            "1",
            "--checkpoint",
            "a.jsonl.checkpoints",
        ],
    ] {
        let o = std::process::Command::new("sh")
            .current_dir(p)
            .arg("-c")
            .arg(format!("ulimit -v {limit} && exec \"$0\" \"$@\""))
            .arg(&bin)
            .args(args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            matches!(o.status.code(), Some(1 | 2))
                && err.contains("a.jsonl.checkpoints")
                && err.contains("longer than"),
            "{args:?}: {:?} {err}",
            o.status
        );
    }
}
