//! A sweep of every exported C function with hostile arguments.
//!
//! The prototypes are parsed from `include/evident.h`; for every function a
//! C program calls it
//!
//! - with every pointer argument NULL and every number 0 (case `all-null`);
//! - for each pointer parameter in turn, with that one NULL and the others
//!   valid (case `null:<param>`): a C string (`"x"`, or a path in a temporary
//!   directory for path-like names), a zeroed buffer for data, structs and
//!   out-pointers, a live object of the right type for the opaque handles
//!   (made by the constructor table below), numbers 1.
//!
//! Each call runs in a forked child, so a crash is reported for that call and
//! the sweep goes on. After each call of a function returning
//! `evident_status` the test checks: the status is not OK when a required
//! pointer was NULL (every pointer is required except those in
//! [`NULL_ALLOWED`], each with the header's reason); `evident_last_error()`
//! is not empty after a failure, and names the parameter when the status is
//! `EVIDENT_STATUS_NULL_ARGUMENT` for a single NULL; out-pointers (`T **`,
//! and scalar `T *out_*`) are NULL / zero after a failure (the header:
//! "Out-pointers are set to NULL / zero on entry"). Every other function is
//! checked not to crash, and an accessor of one object
//! (`evident_entry_seq(NULL)`, …) to give NULL / 0 / false for a NULL object,
//! as documented per accessor.
//!
//! The program runs once plainly and once under valgrind (no invalid reads
//! or writes, no definite leaks; only every [`VALGRIND_STRIDE`]-th call, for
//! time), like the programs of `tests/c_abi.rs`. A new handle type in the
//! header needs a constructor in [`constructor`]; a parameter documented as
//! optional needs an entry in [`NULL_ALLOWED`].
#![cfg(unix)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Parameters that may be NULL, as `function:parameter` (`function:*` for
/// all of them), with the reason from the function's doc comment in
/// `include/evident.h`.
const NULL_ALLOWED: &[(&str, &str)] = &[
    // Every free function accepts NULL (a no-op).
    ("evident_entry_free:*", "free functions accept NULL"),
    ("evident_log_free:*", "free functions accept NULL"),
    ("evident_open_options_free:*", "free functions accept NULL"),
    ("evident_query_free:*", "free functions accept NULL"),
    ("evident_query_iter_free:*", "free functions accept NULL"),
    ("evident_recovery_free:*", "free functions accept NULL"),
    ("evident_save_options_free:*", "free functions accept NULL"),
    ("evident_session_free:*", "free functions accept NULL"),
    ("evident_string_free:*", "free functions accept NULL"),
    ("evident_trace_free:*", "free functions accept NULL"),
    (
        "evident_verify_options_free:*",
        "free functions accept NULL",
    ),
    ("evident_verify_result_free:*", "free functions accept NULL"),
    // Optional arguments, documented as such.
    (
        "evident_log_open:options",
        "`options` may be NULL (all defaults)",
    ),
    ("evident_log_append:out_head", "`out_head` may be NULL"),
    (
        "evident_log_append_batch:out_heads",
        "`out_heads` may be NULL",
    ),
    (
        "evident_open_options_set_actor:actor",
        "NULL restores the default",
    ),
    (
        "evident_open_options_set_host:host",
        "NULL restores the default",
    ),
    (
        "evident_open_options_set_checkpoint:skey",
        "`skey` NULL turns automatic checkpoints off",
    ),
    ("evident_compat_rtgs_recent:since", "`since` NULL: any"),
    (
        "evident_compat_rtgs_pg_config:dotenv_path",
        "NULL: `.env` in the working directory",
    ),
    (
        "evident_query_set_session_id:value",
        "NULL removes the filter",
    ),
    (
        "evident_query_set_event_type:value",
        "NULL removes the filter",
    ),
    ("evident_query_set_action:value", "NULL removes the filter"),
    ("evident_query_set_actor:value", "NULL removes the filter"),
    ("evident_query_set_source:value", "NULL removes the filter"),
    ("evident_query_set_since:since", "NULL removes the filter"),
    ("evident_query_set_until:until", "NULL removes the filter"),
    (
        "evident_query_run:query",
        "`query` NULL: every entry, oldest first",
    ),
    (
        "evident_session_add_trace:info_json",
        "`info_json` NULL: the defaults",
    ),
    ("evident_trace_data:data", "each out-pointer may be NULL"),
    (
        "evident_trace_data:len_samples",
        "each out-pointer may be NULL",
    ),
    (
        "evident_trace_data:len_bytes",
        "each out-pointer may be NULL",
    ),
    ("evident_trace_data:dtype", "each out-pointer may be NULL"),
    (
        "evident_session_annotations_json:layer",
        "`layer` NULL: every layer",
    ),
    (
        "evident_save_options_set_audit_log:log",
        "NULL: no audit entry, the default",
    ),
    (
        "evident_session_history_script:module",
        "NULL: `\"tracekit\"`",
    ),
    ("evident_session_history_script:alias", "NULL: `\"tk\"`"),
    (
        "evident_session_history_find_json:operation",
        "NULL: every operation",
    ),
    (
        "evident_verify_options_set_expected_head:hash_hex",
        "NULL removes the expectation",
    ),
    (
        "evident_verify_options_set_expected_log_id:log_id",
        "NULL removes it",
    ),
    (
        "evident_verify_options_set_progress:callback",
        "NULL removes the callback",
    ),
    (
        "evident_verify_options_set_progress:user_data",
        "opaque, passed back unchanged",
    ),
    ("evident_verify:options", "`options` NULL: defaults"),
    (
        "evident_openparallax_read:query_json",
        "`query_json` NULL: every entry, newest first",
    ),
    (
        "evident_openparallax_import:options_json",
        "`options_json` NULL: defaults",
    ),
    (
        "evident_openparallax_migrate:options_json",
        "`options_json` NULL: defaults",
    ),
];

/// Under valgrind the sweep makes every this many-th call (cases 0, n, 2n, …
/// in header order, which mixes functions and argument patterns).
const VALGRIND_STRIDE: usize = 4;

// ---------------------------------------------------------------------------
// The header

#[derive(Debug, Clone)]
struct Param {
    ty: String,
    name: String,
}

#[derive(Debug, Clone)]
struct Proto {
    ret: String,
    name: String,
    params: Vec<Param>,
}

/// Drops comments and preprocessor lines.
fn strip(header: &str) -> String {
    let mut text = String::new();
    let mut rest = header;
    while let Some(i) = rest.find("/*") {
        text.push_str(&rest[..i]);
        rest = rest[i..].find("*/").map_or("", |j| &rest[i + j + 2..]);
    }
    text.push_str(rest);
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Splits `const char *name` into its type and name.
fn split_decl(decl: &str) -> (String, String) {
    let decl = decl.trim();
    let at = decl
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .map_or(0, |i| i + 1);
    let ty = decl[..at].trim().replace(" *", "*").replace('*', " *");
    let ty = ty.split_whitespace().collect::<Vec<_>>().join(" ");
    let ty = ty.replace("* *", "**");
    (ty, decl[at..].to_string())
}

/// The function prototypes of a cbindgen header, and the names of the
/// opaque types (`typedef struct x x;`).
fn parse_header(header: &str) -> (Vec<Proto>, BTreeSet<String>) {
    let text = strip(header);
    let mut protos = Vec::new();
    let mut opaque = BTreeSet::new();
    for stmt in text.split(';') {
        let stmt = stmt.rsplit(['{', '}']).next().unwrap_or("");
        let stmt = stmt.split_whitespace().collect::<Vec<_>>().join(" ");
        if let Some(rest) = stmt.strip_prefix("typedef struct ") {
            let words: Vec<&str> = rest.split(' ').collect();
            if words.len() == 2 && words[0] == words[1] {
                opaque.insert(words[0].to_string());
            }
            continue;
        }
        if stmt.starts_with("typedef") || !stmt.contains('(') {
            continue;
        }
        let open = stmt.find('(').unwrap();
        let close = stmt.rfind(')').unwrap();
        let (ret, name) = split_decl(&stmt[..open]);
        let inner = stmt[open + 1..close].trim();
        let params = if inner == "void" || inner.is_empty() {
            Vec::new()
        } else {
            inner
                .split(',')
                .map(|p| {
                    let (ty, name) = split_decl(p);
                    Param { ty, name }
                })
                .collect()
        };
        protos.push(Proto { ret, name, params });
    }
    (protos, opaque)
}

#[test]
fn header_parser_reads_parameters() {
    let h = "typedef struct evident_log evident_log;\n\
             typedef struct {\n  uint64_t seq;\n} evident_head;\n\
             /* doc; (x) */\n\
             evident_status evident_log_open(const char *path,\n    \
             const evident_open_options *options,\n    evident_log **out_log);\n\
             const char *evident_version(void);\n";
    let (p, opaque) = parse_header(h);
    assert_eq!(opaque.into_iter().collect::<Vec<_>>(), ["evident_log"]);
    assert_eq!(p.len(), 2);
    assert_eq!(p[0].name, "evident_log_open");
    assert_eq!(p[0].ret, "evident_status");
    let params: Vec<_> = p[0]
        .params
        .iter()
        .map(|q| (q.ty.as_str(), q.name.as_str()))
        .collect();
    assert_eq!(
        params,
        [
            ("const char *", "path"),
            ("const evident_open_options *", "options"),
            ("evident_log **", "out_log"),
        ]
    );
    assert_eq!(p[1].ret, "const char *");
    assert_eq!(p[1].name, "evident_version");
    assert!(p[1].params.is_empty());
}

// ---------------------------------------------------------------------------
// Code generation

/// Constructors of the opaque handles: C statements that leave the object in
/// `h` (a static of the handle's pointer type), using `LOG` (a log with two
/// entries), `BAD` (a log whose first entry was altered) and `DIR`.
fn constructor(ty: &str) -> Option<&'static str> {
    Some(match ty {
        "evident_log" => "evident_log_open(LOG, NULL, &h);",
        "evident_open_options" => "evident_open_options_new(&h);",
        "evident_recovery" => "static evident_log *l; evident_log_open(LOG, NULL, &l); \
                               evident_log_recovery(l, &h);",
        "evident_verify_options" => "evident_verify_options_new(&h);",
        "evident_verify_result" => "evident_verify(LOG, NULL, &h);",
        "evident_violation" => "static evident_verify_result *r; evident_verify(BAD, NULL, &r); \
                                evident_verify_result_violation(r, 0, &h);",
        "evident_query" => "evident_query_new(&h);",
        "evident_query_iter" => "evident_query_run(LOG, NULL, &h);",
        "evident_entry" => "static evident_query_iter *it; evident_query_run(LOG, NULL, &it); \
                            evident_query_next(it, &h);",
        "evident_session" => "evident_session_new(\"s\", &h); \
                              evident_session_add_trace(h, \"t\", EVIDENT_DTYPE_U64, SAMPLES, 4, NULL);",
        "evident_trace" => "static evident_session *s; evident_session_new(\"s\", &s); \
                            evident_session_add_trace(s, \"t\", EVIDENT_DTYPE_U64, SAMPLES, 4, NULL); \
                            evident_session_get_trace(s, \"t\", &h);",
        "evident_save_options" => "evident_save_options_new(&h);",
        _ => return None,
    })
}

/// An out-pointer the header promises to reset on entry: `T **` that is
/// not `const T **` input, or a scalar `T *` named `out*`.
fn is_out(p: &Param) -> bool {
    let stars = p.ty.matches('*').count();
    let scalar = matches!(
        pointee(&p.ty).as_str(),
        "size_t" | "uint64_t" | "int64_t" | "uint32_t" | "int32_t" | "double" | "int"
    );
    !p.ty.starts_with("const ") && p.name.starts_with("out") && (stars == 2 || scalar)
        || stars == 2 && p.name.starts_with("out")
}

fn is_pointer(p: &Param) -> bool {
    p.ty.contains('*') || p.ty.ends_with("_fn")
}

/// The base type of a pointer type: `const evident_log *` -> `evident_log`.
fn pointee(ty: &str) -> String {
    ty.replace("const ", "").replace('*', "").trim().to_string()
}

/// A valid C expression for a pointer parameter, and the statements that
/// make it (in the child, before the call).
fn valid_arg(p: &Param, opaque: &BTreeSet<String>, slot: usize) -> (String, String) {
    let base = pointee(&p.ty);
    let stars = p.ty.matches('*').count();
    if p.ty.ends_with("_fn") {
        return (format!("({})progress", p.ty), String::new());
    }
    if stars == 1 && opaque.contains(&base) {
        let make = constructor(&base)
            .unwrap_or_else(|| panic!("no constructor for the handle type {base}: add one"));
        let setup = format!(
            "{{ static {base} *h; h = NULL; {make} if (!h) {{ printf(\"SETUP {base}\\n\"); \
             fflush(stdout); _exit(3); }} H{slot} = (void *)h; }}"
        );
        return (format!("H{slot}"), setup);
    }
    if stars == 1 && base == "char" && p.ty.starts_with("const") {
        let n = p.name.as_str();
        let value = if n.starts_with("out") {
            "OUTPATH"
        } else if n.contains("path") || matches!(n, "log" | "store" | "log_dir") {
            "LOG"
        } else {
            "\"x\""
        };
        return (value.to_string(), String::new());
    }
    // Data, structs, out-pointers: a zeroed buffer of its own (out-pointers
    // `T **` start as a non-NULL sentinel, to see that a failure resets them).
    // (An out-pointer starts with a non-zero first byte, to see that a
    // failure resets it; zero in every width is all bytes zero.)
    let mut setup = format!("memset(S{slot}, 0, sizeof S{slot});");
    if is_out(p) {
        let _ = write!(setup, " S{slot}[0] = SENTINEL;");
    }
    (format!("({})S{slot}", p.ty), setup)
}

struct Case {
    func: String,
    label: String,
    /// The pointer parameters passed NULL.
    nulls: Vec<String>,
    status: bool,
    /// Not returning a status, with one parameter, a handle.
    accessor: bool,
}

fn generate(protos: &[Proto], opaque: &BTreeSet<String>) -> (String, Vec<Case>) {
    let max_params = protos.iter().map(|p| p.params.len()).max().unwrap_or(0);
    let mut c = String::new();
    c.push_str(
        "#define _GNU_SOURCE\n#include <stdint.h>\n#include <stdbool.h>\n#include <stdio.h>\n\
         #include <stdlib.h>\n#include <string.h>\n#include <unistd.h>\n#include <signal.h>\n\
         #include <sys/wait.h>\n#include \"evident.h\"\n\n\
         #define SENTINEL 0x10\n\
         static char LOG[4096], BAD[4096], OUTPATH[4096], DIRP[4096];\n\
         static uint64_t SAMPLES[4];\n\
         static void progress(void *u, uint64_t d, uint64_t t) { (void)u; (void)d; (void)t; }\n",
    );
    for i in 0..max_params {
        let _ = writeln!(c, "static _Alignas(16) unsigned char S{i}[8192];");
        let _ = writeln!(c, "static void *H{i};");
    }
    c.push_str(
        "\n/* Clears the thread's last error (a successful status call does). */\n\
         static void clear_error(void) { char *s = NULL; evident_dtypes_json(&s); evident_string_free(s); }\n\
         static void report(const char *fn, const char *label, evident_status st, int nouts, void **outs) {\n\
         \x20 const char *e = evident_last_error();\n\
         \x20 int reset = 1;\n\
         \x20 for (int i = 0; i < nouts; i++) if (*(unsigned char *)outs[i] != 0) reset = 0;\n\
         \x20 printf(\"CALL %s %s status=%u err=%d reset=%d %s\\n\", fn, label, (unsigned)st, e != NULL && e[0] != 0, reset, e ? e : \"\");\n\
         \x20 fflush(stdout);\n}\n\n",
    );
    let mut cases = Vec::new();
    let mut bodies = Vec::new();
    for p in protos {
        let ptrs: Vec<usize> = (0..p.params.len())
            .filter(|&i| is_pointer(&p.params[i]))
            .collect();
        let status = p.ret == "evident_status";
        // (label, index of the NULL parameter or None for all-null)
        let mut variants: Vec<(String, Option<usize>)> = vec![("all-null".into(), None)];
        for &i in &ptrs {
            variants.push((format!("null:{}", p.params[i].name), Some(i)));
        }
        for (label, which) in variants {
            let mut setup = String::new();
            let mut args = Vec::new();
            let mut outs = Vec::new();
            let mut nulls = Vec::new();
            for (i, q) in p.params.iter().enumerate() {
                if is_pointer(q) {
                    let null = which.is_none_or(|w| w == i);
                    if null {
                        nulls.push(q.name.clone());
                        args.push("NULL".to_string());
                    } else {
                        let (expr, s) = valid_arg(q, opaque, i);
                        setup.push_str(&s);
                        setup.push('\n');
                        if s.contains("SENTINEL") {
                            outs.push(format!("(void *)S{i}"));
                        }
                        args.push(expr);
                    }
                } else {
                    let one = which.is_some();
                    args.push(match (q.ty.as_str(), one) {
                        ("double", true) => "1.0".into(),
                        ("double", false) => "0.0".into(),
                        ("bool", v) => v.to_string(),
                        (_, true) => "1".into(),
                        (_, false) => "0".into(),
                    });
                }
            }
            if p.params.is_empty() && label != "all-null" {
                continue;
            }
            let idx = cases.len();
            let call = format!("{}({})", p.name, args.join(", "));
            let mut body = format!("static void case_{idx}(void) {{\n{setup}");
            if status {
                let _ = write!(
                    body,
                    "clear_error();\nevident_status st = {call};\n\
                     void *outs[] = {{ {} }};\nreport(\"{}\", \"{label}\", st, {}, outs);\n",
                    if outs.is_empty() {
                        "NULL".to_string()
                    } else {
                        outs.join(", ")
                    },
                    p.name,
                    outs.len()
                );
            } else {
                // `zero`: whether the result is NULL / 0 / false.
                if p.ret == "const char *" {
                    let _ = write!(
                        body,
                        "const char *r = {call};\nif (r) (void)strlen(r);\nint zero = r == NULL;\n"
                    );
                } else if p.ret == "void" {
                    let _ = writeln!(body, "{call};\nint zero = 1;");
                } else {
                    let _ = writeln!(body, "int zero = {call} == 0;");
                }
                let _ = writeln!(
                    body,
                    "printf(\"CALL {} {label} status=none err=0 reset=1 zero=%d\\n\", zero); fflush(stdout);",
                    p.name
                );
            }
            body.push_str("}\n");
            bodies.push(body);
            cases.push(Case {
                func: p.name.clone(),
                label,
                nulls,
                status,
                accessor: !status
                    && p.params.len() == 1
                    && p.params[0].ty.matches('*').count() == 1
                    && opaque.contains(&pointee(&p.params[0].ty)),
            });
        }
    }
    for b in &bodies {
        c.push_str(b);
    }
    c.push_str("\nstatic void (*const CASES[])(void) = {\n");
    for i in 0..cases.len() {
        let _ = writeln!(c, "  case_{i},");
    }
    c.push_str("};\nstatic const char *const NAMES[] = {\n");
    for k in &cases {
        let _ = writeln!(c, "  \"{} {}\",", k.func, k.label);
    }
    c.push_str(
        "};\n\n\
         /* A log with two entries at LOG; the same at BAD with the first entry altered. */\n\
         static void make_log(const char *path) {\n\
         \x20 evident_log *log = NULL;\n\
         \x20 if (evident_log_open(path, NULL, &log) != EVIDENT_STATUS_OK) { printf(\"SETUP log: %s\\n\", evident_last_error()); exit(2); }\n\
         \x20 evident_event ev; memset(&ev, 0, sizeof ev); ev.action = \"zzzz\";\n\
         \x20 for (int i = 0; i < 2; i++) if (evident_log_append(log, &ev, NULL) != EVIDENT_STATUS_OK) exit(2);\n\
         \x20 if (evident_log_close(log) != EVIDENT_STATUS_OK) exit(2);\n\
         \x20 evident_log_free(log);\n}\n\n\
         int main(int argc, char **argv) {\n\
         \x20 if (argc < 2) return 2;\n\
         \x20 snprintf(DIRP, sizeof DIRP, \"%s\", argv[1]);\n\
         \x20 snprintf(LOG, sizeof LOG, \"%s/log.jsonl\", argv[1]);\n\
         \x20 snprintf(BAD, sizeof BAD, \"%s/bad.jsonl\", argv[1]);\n\
         \x20 snprintf(OUTPATH, sizeof OUTPATH, \"%s/out\", argv[1]);\n\
         \x20 make_log(LOG); make_log(BAD);\n\
         \x20 { FILE *f = fopen(BAD, \"r+b\"); char buf[65536]; size_t n = fread(buf, 1, sizeof buf, f);\n\
         \x20   char *z = memmem(buf, n, \"zzzz\", 4); if (!z) return 2; fseek(f, z - buf, SEEK_SET); fputs(\"zzzy\", f); fclose(f); }\n\
         \x20 size_t n = sizeof CASES / sizeof CASES[0];\n\
         \x20 size_t stride = argc > 2 ? (size_t)atoi(argv[2]) : 1, ran = 0;\n\
         \x20 if (stride == 0) stride = 1;\n\
         \x20 for (size_t i = 0; i < n; i += stride) {\n\
         \x20   ran++;\n\
         \x20   fflush(stdout);\n\
         \x20   pid_t pid = fork();\n\
         \x20   if (pid == 0) { alarm(20); CASES[i](); exit(0); }\n\
         \x20   int ws = 0; waitpid(pid, &ws, 0);\n\
         \x20   if (WIFSIGNALED(ws)) printf(\"CRASH %s signal=%d\\n\", NAMES[i], WTERMSIG(ws));\n\
         \x20   else if (WEXITSTATUS(ws) != 0) printf(\"EXIT %s code=%d\\n\", NAMES[i], WEXITSTATUS(ws));\n\
         \x20 }\n\
         \x20 printf(\"DONE %zu\\n\", ran);\n\
         \x20 return 0;\n}\n",
    );
    (c, cases)
}

// ---------------------------------------------------------------------------
// Building and running

/// `target/<profile>/`: the test executable lives in `target/<profile>/deps/`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .and_then(Path::parent)
        .expect("test executable in target/<profile>/deps")
        .to_path_buf()
}

/// libevident.so of this source tree (built like `tests/c_abi.rs` does: the
/// copy in `target/<profile>/` is refreshed by `cargo build --lib`).
fn lib_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = profile_dir();
        let profile = match dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") => "dev".to_string(),
            Some(p) => p.to_string(),
            None => panic!("cannot tell the profile from {}", dir.display()),
        };
        let st = Command::new(env!("CARGO"))
            .args(["build", "--lib", "--profile", &profile])
            .arg("--manifest-path")
            .arg(root().join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", dir.parent().unwrap())
            .status()
            .expect("run cargo build");
        assert!(st.success(), "cargo build --lib failed");
        assert!(dir.join("libevident.so").exists());
        dir
    })
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Generates, compiles and returns the sweep program and its cases.
fn program() -> &'static (PathBuf, Vec<Case>) {
    static PROGRAM: OnceLock<(PathBuf, Vec<Case>)> = OnceLock::new();
    PROGRAM.get_or_init(|| {
        let header = std::fs::read_to_string(root().join("include/evident.h")).unwrap();
        let (protos, opaque) = parse_header(&header);
        assert!(
            protos.len() > 200 && protos.iter().any(|p| p.name == "evident_log_open"),
            "the header parser found only {} prototypes",
            protos.len()
        );
        let (c, cases) = generate(&protos, &opaque);
        let libs = lib_dir();
        let out = libs.join("c_abi_sweep");
        let _ = std::fs::remove_dir_all(&out);
        std::fs::create_dir_all(&out).unwrap();
        let src = out.join("sweep.c");
        std::fs::write(&src, c).unwrap();
        let exe = out.join("sweep");
        let mut cmd = Command::new("gcc");
        cmd.args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-g", "-O0"])
            .args(["-Wno-unused-but-set-variable", "-Wno-unused-variable"])
            .arg("-I")
            .arg(root().join("include"))
            .arg(&src)
            .arg("-o")
            .arg(&exe)
            .arg("-L")
            .arg(libs)
            .arg("-levident")
            .arg(format!("-Wl,-rpath,{}", libs.display()));
        let o = cmd.output().expect("run gcc");
        assert!(
            o.status.success(),
            "compiling {} failed:\n{}",
            src.display(),
            text(&o.stderr)
        );
        (exe, cases)
    })
}

/// Runs the sweep program (under valgrind if asked) and returns its findings.
fn sweep(valgrind: bool) -> (usize, Vec<String>) {
    let (exe, cases) = program();
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
    // Under valgrind every call costs about 0.15 s: every VALGRIND_STRIDE-th
    // call only, to keep the test under a minute.
    let stride = if valgrind { VALGRIND_STRIDE } else { 1 };
    cmd.arg(work.path()).arg(stride.to_string());
    let out = cmd.output().expect("run the sweep program");
    let stdout = text(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(&format!("DONE {}", cases.len().div_ceil(stride))),
        "the sweep program failed ({}):\n{}\n{}",
        out.status,
        stdout,
        text(&out.stderr)
    );
    let allowed: BTreeMap<&str, &str> = NULL_ALLOWED.iter().copied().collect();
    let may_be_null = |func: &str, param: &str| {
        allowed.contains_key(format!("{func}:*").as_str())
            || allowed.contains_key(format!("{func}:{param}").as_str())
    };
    let by_name: BTreeMap<String, &Case> = cases
        .iter()
        .map(|k| (format!("{} {}", k.func, k.label), k))
        .collect();
    let mut findings = Vec::new();
    let mut calls = 0;
    for line in stdout.lines() {
        let mut w = line.split(' ');
        match w.next() {
            Some("CALL") => {
                calls += 1;
                let (func, label) = (w.next().unwrap(), w.next().unwrap());
                let case = by_name[&format!("{func} {label}")];
                if !case.status {
                    // An accessor of one object gives its documented default
                    // for NULL: NULL, 0, false or the `*_AUTO` (0) value.
                    if case.accessor && line.ends_with("zero=0") {
                        findings.push(format!("{func} {label}: not NULL / 0 for a NULL object"));
                    }
                    continue;
                }
                let st: u32 = w.next().unwrap()["status=".len()..].parse().unwrap();
                let err = w.next() == Some("err=1");
                let reset = w.next() == Some("reset=1");
                let message = w.collect::<Vec<_>>().join(" ");
                let required: Vec<&String> = case
                    .nulls
                    .iter()
                    .filter(|p| !may_be_null(func, p))
                    .collect();
                if st == 0 && !required.is_empty() {
                    findings.push(format!("{func} {label}: OK with NULL {required:?}"));
                }
                if st != 0 && !err {
                    findings.push(format!("{func} {label}: status {st} without a message"));
                }
                // EVIDENT_STATUS_NULL_ARGUMENT for the one NULL parameter:
                // the message names it.
                if let (100, [param]) = (st, case.nulls.as_slice()) {
                    if !message.contains(param.as_str()) {
                        findings.push(format!(
                            "{func} {label}: the message does not name `{param}`: {message:?}"
                        ));
                    }
                }
                if st != 0 && !reset {
                    findings.push(format!("{func} {label}: out-pointer not reset on failure"));
                }
            }
            Some("CRASH") | Some("EXIT") => findings.push(line.to_string()),
            _ => {}
        }
    }
    if valgrind && !findings.is_empty() {
        // A child with a memory error or a definite leak exits with 99.
        findings.push(format!("valgrind:\n{}", text(&out.stderr)));
    }
    (calls, findings)
}

#[test]
fn every_function_survives_null_arguments() {
    let (calls, findings) = sweep(false);
    let (_, cases) = program();
    let funcs: BTreeSet<&str> = cases.iter().map(|k| k.func.as_str()).collect();
    eprintln!("swept {} functions with {calls} calls", funcs.len());
    assert_eq!(calls, cases.len(), "every case reports its call");
    assert!(
        findings.is_empty(),
        "{} findings:\n{}",
        findings.len(),
        findings.join("\n")
    );
}

#[test]
fn every_function_survives_null_arguments_under_valgrind() {
    let have = Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        eprintln!("NOTE: valgrind is not installed; skipping the memory check of the sweep");
        return;
    }
    let (_, findings) = sweep(true);
    assert!(
        findings.is_empty(),
        "{} findings:\n{}",
        findings.len(),
        findings.join("\n")
    );
}
