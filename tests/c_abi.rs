//! Checks of the stable C ABI:
//!
//! 1. `include/evident.h` is exactly what cbindgen generates from `src/ffi/`
//!    now (the pinned cbindgen library, `cbindgen.toml`);
//! 2. the dynamic symbols exported by `libevident.so` and the prototypes in
//!    the header match the committed list `abi/symbols.txt`: no removal, no
//!    unlisted addition, no changed prototype;
//! 3. the C programs in `tests/c/` and the C++ programs in `tests/cpp/` are
//!    compiled with gcc/g++ (`-Wall -Wextra -Werror`) against `include/`,
//!    linked against the shared and the static library, and run;
//! 4. the shared-library builds run again under valgrind (no definite
//!    leaks, no invalid reads or writes).
//!
//! Regenerating after an intended change of `src/ffi/`:
//!
//! ```text
//! EVIDENT_BLESS=1 cargo test --test c_abi
//! ```
//!
//! rewrites `include/evident.h` and `abi/symbols.txt`. Blessing additions
//! needs a raised `EVIDENT_ABI_VERSION_MINOR`; removals or changed
//! prototypes need a raised `EVIDENT_ABI_VERSION_MAJOR` (see abi/README.md).
//!
//! Checks 2 to 4 read the ELF `libevident.so` (nm) and build with the host's
//! gcc: Unix only. On Windows (under Wine) the header checks run here and
//! scripts/cross-check.sh builds the C programs with mingw against
//! evident.dll and runs them.
#![cfg_attr(not(unix), allow(dead_code))]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use evident::ffi::{EVIDENT_ABI_VERSION_MAJOR, EVIDENT_ABI_VERSION_MINOR};

const REGEN: &str = "EVIDENT_BLESS=1 cargo test --test c_abi";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn blessing() -> bool {
    std::env::var("EVIDENT_BLESS").is_ok_and(|v| v == "1")
}

/// The header cbindgen generates from the sources now (generated once).
fn generated_header() -> &'static str {
    static HEADER: OnceLock<String> = OnceLock::new();
    HEADER.get_or_init(|| {
        let config = cbindgen::Config::from_file(root().join("cbindgen.toml"))
            .unwrap_or_else(|e| panic!("cbindgen.toml: {e}"));
        let bindings = cbindgen::Builder::new()
            .with_src(root().join("src/ffi/mod.rs"))
            .with_config(config)
            .generate()
            .unwrap_or_else(|e| panic!("cbindgen failed on src/ffi/: {e}"));
        let mut out = Vec::new();
        bindings.write(&mut out);
        String::from_utf8(out).expect("cbindgen wrote UTF-8")
    })
}

/// A scratch directory under the target directory (kept for inspection).
fn scratch(name: &str) -> PathBuf {
    let dir = profile_dir().join("c_abi").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn header_is_up_to_date() {
    let path = root().join("include/evident.h");
    let want = generated_header();
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    if have == want {
        return;
    }
    if blessing() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, want).unwrap();
        eprintln!("EVIDENT_BLESS=1: rewrote {}", path.display());
        return;
    }
    let fresh = scratch("header").join("evident.h");
    std::fs::write(&fresh, want).unwrap();
    let first = have
        .lines()
        .zip(want.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| have.lines().count().min(want.lines().count()));
    panic!(
        "include/evident.h differs from what cbindgen generates from src/ffi/ \
         (first difference at line {}):\n  checked in: {:?}\n  generated:  {:?}\n\
         See the whole difference with:\n  diff -u {} {}\n\
         Regenerate with:\n  {REGEN}",
        first + 1,
        have.lines().nth(first).unwrap_or("<end of file>"),
        want.lines().nth(first).unwrap_or("<end of file>"),
        path.display(),
        fresh.display(),
    );
}

// ---------------------------------------------------------------------------
// Prototypes and symbols

/// Function prototypes in a C header, by name, normalised to one line.
fn header_prototypes(header: &str) -> BTreeMap<String, String> {
    // Drop comments and preprocessor lines.
    let mut text = String::new();
    let mut rest = header;
    while let Some(i) = rest.find("/*") {
        text.push_str(&rest[..i]);
        rest = rest[i..].find("*/").map_or("", |j| &rest[i + j + 2..]);
    }
    text.push_str(rest);
    let text: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let mut protos = BTreeMap::new();
    for stmt in text.split(';') {
        // What follows the last brace: skips `extern "C" {` and struct bodies.
        let stmt = stmt.rsplit(['{', '}']).next().unwrap_or("");
        let stmt = stmt.split_whitespace().collect::<Vec<_>>().join(" ");
        if stmt.starts_with("typedef") || !stmt.contains('(') {
            continue;
        }
        let stmt = stmt.replace("( ", "(").replace(" )", ")");
        let name = stmt[..stmt.find('(').unwrap()]
            .rsplit([' ', '*'])
            .next()
            .unwrap()
            .to_string();
        protos.insert(name, format!("{stmt};"));
    }
    protos
}

/// The `evident_*` functions `libevident.so` exports (`nm -D --defined-only`).
fn exported_symbols(so: &Path) -> Vec<String> {
    let out = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(so)
        .output()
        .unwrap_or_else(|e| panic!("cannot run nm (binutils): {e}"));
    assert!(out.status.success(), "nm failed: {}", text(&out.stderr));
    let mut syms: Vec<String> = text(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .filter(|s| s.starts_with("evident_"))
        .map(str::to_string)
        .collect();
    syms.sort();
    syms.dedup();
    syms
}

struct SymbolList {
    version: (u32, u32),
    protos: BTreeMap<String, String>,
}

fn parse_symbol_list(text: &str) -> SymbolList {
    let mut version = (0, 0);
    let mut protos = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(v) = line.strip_prefix("# abi-version:") {
            let (maj, min) = v.trim().split_once('.').expect("abi-version: MAJOR.MINOR");
            version = (maj.parse().unwrap(), min.parse().unwrap());
        } else if !line.is_empty() && !line.starts_with('#') {
            let name = line[..line.find('(').expect("a prototype")]
                .rsplit([' ', '*'])
                .next()
                .unwrap()
                .to_string();
            protos.insert(name, line.to_string());
        }
    }
    SymbolList { version, protos }
}

fn render_symbol_list(protos: &BTreeMap<String, String>) -> String {
    let mut s = String::from(
        "# The exported symbols of the evident C ABI, one function per line with its\n\
         # prototype as in include/evident.h. tests/c_abi.rs compares this list with\n\
         # the header and with `nm -D --defined-only libevident.so`.\n\
         # Do not edit by hand; see abi/README.md.\n",
    );
    s.push_str(&format!(
        "# abi-version: {EVIDENT_ABI_VERSION_MAJOR}.{EVIDENT_ABI_VERSION_MINOR}\n"
    ));
    for p in protos.values() {
        s.push_str(p);
        s.push('\n');
    }
    s
}

#[cfg(unix)]
#[test]
fn exported_symbols_match_the_committed_list() {
    let current = header_prototypes(generated_header());
    assert!(
        current.len() > 50 && current.contains_key("evident_log_open"),
        "header parser found only {} prototypes",
        current.len()
    );

    // The library exports exactly the functions the header declares.
    let exported = exported_symbols(&libs().shared);
    let declared: Vec<String> = current.keys().cloned().collect();
    let not_declared: Vec<_> = exported
        .iter()
        .filter(|s| !current.contains_key(*s))
        .collect();
    let not_exported: Vec<_> = declared.iter().filter(|s| !exported.contains(s)).collect();
    assert!(
        not_declared.is_empty() && not_exported.is_empty(),
        "libevident.so and the header disagree:\n  exported but not in the header: \
         {not_declared:?}\n  in the header but not exported: {not_exported:?}"
    );

    let list_path = root().join("abi/symbols.txt");
    let committed = std::fs::read_to_string(&list_path).unwrap_or_default();
    let committed = parse_symbol_list(&committed);
    let removed: Vec<_> = committed
        .protos
        .keys()
        .filter(|k| !current.contains_key(*k))
        .collect();
    let changed: Vec<String> = committed
        .protos
        .iter()
        .filter_map(|(k, p)| {
            let now = current.get(k)?;
            (now != p).then(|| format!("{k}:\n      was: {p}\n      now: {now}"))
        })
        .collect();
    let added: Vec<_> = current
        .keys()
        .filter(|k| !committed.protos.contains_key(*k))
        .collect();
    let now_version = (EVIDENT_ABI_VERSION_MAJOR, EVIDENT_ABI_VERSION_MINOR);

    let breaking = !removed.is_empty() || !changed.is_empty();
    if !breaking && added.is_empty() && now_version == committed.version {
        return;
    }
    let mut summary = String::new();
    if !removed.is_empty() {
        summary += &format!("  removed: {removed:?}\n");
    }
    for c in &changed {
        summary += &format!("  changed {c}\n");
    }
    if !added.is_empty() {
        summary += &format!("  added: {added:?}\n");
    }
    summary += &format!(
        "  ABI version: abi/symbols.txt {}.{}, src/ffi/mod.rs {}.{}",
        committed.version.0, committed.version.1, now_version.0, now_version.1
    );
    // Rules that blessing cannot override (except for the very first list).
    if !committed.protos.is_empty() {
        if breaking && now_version.0 <= committed.version.0 {
            panic!(
                "ABI BREAK against abi/symbols.txt:\n{summary}\n\
                 Within one ABI major version only additions are allowed. Restore the \
                 removed or changed functions; for a deliberate break raise \
                 EVIDENT_ABI_VERSION_MAJOR in src/ffi/mod.rs and run `{REGEN}`."
            );
        }
        if !breaking && !added.is_empty() && now_version <= committed.version {
            panic!(
                "new exported functions not in abi/symbols.txt:\n{summary}\n\
                 Raise EVIDENT_ABI_VERSION_MINOR in src/ffi/mod.rs and run `{REGEN}`."
            );
        }
    }
    if !blessing() {
        panic!("abi/symbols.txt is out of date:\n{summary}\nRun `{REGEN}`.");
    }
    std::fs::create_dir_all(list_path.parent().unwrap()).unwrap();
    std::fs::write(&list_path, render_symbol_list(&current)).unwrap();
    eprintln!("EVIDENT_BLESS=1: rewrote {}", list_path.display());
}

#[test]
fn header_parser_reads_cbindgen_prototypes() {
    let h = "#ifdef __cplusplus\nextern \"C\" {\n#endif\n/* doc (with parens); */\n\
             typedef struct evident_log evident_log;\n\
             typedef struct evident_head {\n  uint64_t seq;\n  char hash[129];\n} evident_head;\n\
             typedef void (*evident_progress_fn)(void *user_data, uint64_t done);\n\
             evident_status evident_log_open(const char *path,\n    evident_log **out_log);\n\
             const char *evident_version(void);\n}  // extern \"C\"\n";
    let p = header_prototypes(h);
    assert_eq!(p.len(), 2, "{p:?}");
    assert_eq!(
        p["evident_log_open"],
        "evident_status evident_log_open(const char *path, evident_log **out_log);"
    );
    assert_eq!(p["evident_version"], "const char *evident_version(void);");
}

// ---------------------------------------------------------------------------
// The libraries

struct Libs {
    dir: PathBuf,
    shared: PathBuf,
    stat: PathBuf,
}

/// `target/<profile>/`: the test executable lives in `target/<profile>/deps/`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .and_then(Path::parent)
        .expect("test executable in target/<profile>/deps")
        .to_path_buf()
}

/// libevident.so and libevident.a of this source tree, in `target/<profile>/`.
/// `cargo test` builds them with the rlib (the crate types include cdylib and
/// staticlib) but does not copy them up from `deps/`, so a file left there by
/// an older build would be tested instead: `cargo build --lib` with the same
/// profile and target directory runs every time (a no-op when they are fresh).
fn libs() -> &'static Libs {
    static LIBS: OnceLock<Libs> = OnceLock::new();
    LIBS.get_or_init(|| {
        let dir = profile_dir();
        let shared = dir.join("libevident.so");
        let stat = dir.join("libevident.a");
        {
            let profile = match dir.file_name().and_then(|n| n.to_str()) {
                Some("debug") => "dev".to_string(),
                Some(p) => p.to_string(),
                None => panic!("cannot tell the profile from {}", dir.display()),
            };
            let target_dir = dir.parent().unwrap();
            let st = Command::new(env!("CARGO"))
                .args(["build", "--lib", "--profile", &profile])
                .arg("--manifest-path")
                .arg(root().join("Cargo.toml"))
                .env("CARGO_TARGET_DIR", target_dir)
                .status()
                .expect("run cargo build");
            assert!(st.success(), "cargo build --lib failed");
        }
        assert!(shared.exists(), "{} was not built", shared.display());
        assert!(stat.exists(), "{} was not built", stat.display());
        Libs { dir, shared, stat }
    })
}

// ---------------------------------------------------------------------------
// C and C++ programs

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn sources(sub: &str, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("tests").join(sub))
        .unwrap_or_else(|e| panic!("tests/{sub}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no *.{ext} programs in tests/{sub}");
    v
}

#[derive(Clone, Copy, PartialEq)]
enum Link {
    Shared,
    Static,
}

/// Compiles one program and returns the executable.
fn compile(src: &Path, link: Link, out_dir: &Path) -> PathBuf {
    let libs = libs();
    let cpp = src.extension().is_some_and(|e| e == "cpp");
    let stem = src.file_stem().unwrap().to_str().unwrap();
    let kind = if link == Link::Shared {
        "shared"
    } else {
        "static"
    };
    let exe = out_dir.join(format!("{}_{stem}_{kind}", if cpp { "cpp" } else { "c" }));
    let mut cmd = Command::new(if cpp { "g++" } else { "gcc" });
    if cpp {
        cmd.args(["-std=c++17", "-Wall", "-Wextra", "-Werror", "-pedantic"]);
    } else {
        cmd.args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic"]);
    }
    cmd.arg("-g").arg("-I").arg(root().join("include")).arg(src);
    cmd.arg("-o").arg(&exe);
    match link {
        Link::Shared => {
            cmd.arg("-L").arg(&libs.dir).arg("-levident");
            cmd.arg(format!("-Wl,-rpath,{}", libs.dir.display()));
        }
        Link::Static => {
            cmd.arg(&libs.stat).args(["-lpthread", "-ldl", "-lm"]);
        }
    }
    if cpp {
        cmd.arg("-pthread");
    }
    let out = run(&mut cmd);
    assert!(
        out.status.success(),
        "compiling {} failed:\n{cmd:?}\n{}{}",
        src.display(),
        text(&out.stdout),
        text(&out.stderr)
    );
    exe
}

/// Runs a compiled program with a fresh work directory as its argument.
fn run_program(exe: &Path, valgrind: bool) {
    let work = tempfile::tempdir().unwrap();
    let mut cmd = if valgrind {
        let mut c = Command::new("valgrind");
        c.args([
            "--quiet",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite",
            "--error-exitcode=99",
        ]);
        c.arg(exe);
        c
    } else {
        Command::new(exe)
    };
    cmd.arg(work.path());
    let out = run(&mut cmd);
    let what = if valgrind { "under valgrind " } else { "" };
    assert!(
        out.status.success(),
        "{} {what}failed ({}):\n--- stdout\n{}--- stderr\n{}",
        exe.display(),
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("all checks passed"),
        "{} did not report success:\n{stdout}",
        exe.display()
    );
}

fn all_programs() -> Vec<PathBuf> {
    let mut v = sources("c", "c");
    v.extend(sources("cpp", "cpp"));
    v
}

#[cfg(unix)]
#[test]
fn c_and_cpp_programs_with_shared_library() {
    let out = scratch("shared");
    for src in all_programs() {
        let exe = compile(&src, Link::Shared, &out);
        run_program(&exe, false);
    }
}

#[cfg(unix)]
#[test]
fn c_and_cpp_programs_with_static_library() {
    let out = scratch("static");
    for src in all_programs() {
        let exe = compile(&src, Link::Static, &out);
        run_program(&exe, false);
    }
}

#[cfg(unix)]
#[test]
fn c_and_cpp_programs_under_valgrind() {
    let have = Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        eprintln!(
            "NOTE: valgrind is not installed; skipping the memory check of the C/C++ programs"
        );
        return;
    }
    let out = scratch("valgrind");
    for src in all_programs() {
        let exe = compile(&src, Link::Shared, &out);
        run_program(&exe, true);
    }
}
