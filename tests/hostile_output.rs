//! What evident writes from entry fields an attacker chose (an audit log
//! records what others did): reproduction scripts that must run nothing but
//! the recorded operations with exactly the recorded arguments, reports and
//! terminal lines that show the text and never act on it.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use assert_cmd::Command;
use chrono::{TimeZone, Utc};
use evident::{Event, Log, OpenOptions};
use serde_json::json;
use tempfile::tempdir;

fn evident() -> Command {
    Command::cargo_bin("evident").unwrap()
}

/// `touch` payloads create files named `pwned-*` in the marker directory.
fn payload(dir: &Path, n: u32) -> String {
    format!("{}/pwned-{n}", dir.display())
}

fn pwned(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("pwned-"))
        .collect()
}

fn append(log: &Log, minute: u32, f: impl FnOnce(&mut Event)) {
    let mut e = Event::new("tool_operation", "extract").source("sensing-data");
    e.ts = Some(Utc.with_ymd_and_hms(2023, 6, 15, 14, minute, 0).unwrap());
    e.success = Some(true);
    f(&mut e);
    log.append(&e).unwrap();
}

/// Hostile parameter values (key, value) and the argv they must become.
fn hostile_params(m: &Path) -> Vec<(String, String)> {
    vec![
        ("a".into(), format!("$(touch {})", payload(m, 1))),
        ("b".into(), format!("`touch {}`", payload(m, 2))),
        (
            "c".into(),
            format!("x\ny'\"\\#;touch {} & echo", payload(m, 3)),
        ),
        ("d".into(), "\r\u{1b}[2J\u{7}cr\u{9b}31m".into()),
        ("e".into(), "\u{202e}bidi\u{2066}".into()),
        ("f".into(), "trailing\\".into()),
        ("g".into(), "!event ${HOME} '$'".into()),
        // characters that show nothing: passed exactly, shown escaped
        ("h".into(), "v\u{200b}a\u{feff}l\u{ad}".into()),
        (format!("k$(touch {})", payload(m, 4)), "v".into()),
    ]
}

/// The argv each call of a stub recorded (NUL-separated, `END` closes one).
fn calls(rec: &Path) -> Vec<Vec<String>> {
    let raw = fs::read(rec).unwrap_or_default();
    let mut out = vec![];
    let mut cur = vec![];
    for a in raw.split(|b| *b == 0) {
        let a = String::from_utf8(a.to_vec()).unwrap();
        if a == "END" {
            out.push(std::mem::take(&mut cur));
        } else if !a.is_empty() || !cur.is_empty() {
            cur.push(a);
        }
    }
    out
}

#[test]
fn bash_reproduction_runs_exactly_the_recorded_operations() {
    let d = tempdir().unwrap();
    let m = d.path().join("markers");
    fs::create_dir(&m).unwrap();
    let log_path = d.path().join("audit.jsonl");
    let log = Log::open(&log_path, OpenOptions::new()).unwrap();
    let params = hostile_params(&m);
    let note = format!("n\n$(touch {})'\"` #", payload(&m, 5));
    let mut pm = serde_json::Map::new();
    for (k, v) in &params {
        pm.insert(k.clone(), json!(v));
    }
    append(&log, 1, |e| {
        e.details = Some(json!({"parameters": pm}));
        e.note = Some(note.clone());
        e.git_commit = Some(format!("$(touch {})", payload(&m, 6)));
    });
    // a recorded shell command (seed 004 records denied ones) is evidence,
    // not something to run
    append(&log, 2, |e| {
        e.action = "shell_exec".into();
        e.details = Some(
            json!({"command": format!("touch {}", payload(&m, 7)), "reason": "denied by policy"}),
        );
        e.success = Some(false);
        e.error = Some(format!("denied\ntouch {}", payload(&m, 8)));
        e.git_commit = Some("--orphan=evil".into());
    });
    append(&log, 3, |e| {
        e.action = format!("op;touch {}", payload(&m, 9));
        e.source = format!("tool\ntouch {}\u{1b}[2J", payload(&m, 10));
        e.git_commit = Some("abc123DEF456".into());
    });
    log.close().unwrap();

    let script = d.path().join("again.sh");
    evident()
        .args([
            "reproduce",
            log_path.to_str().unwrap(),
            "--program",
            "rtgs",
            "-o",
        ])
        .arg(&script)
        .assert()
        .success();
    let text = fs::read_to_string(&script).unwrap();
    let raw: Vec<char> = text
        .chars()
        .filter(|c| *c != '\n' && evident::report::is_hidden(*c))
        .collect();
    assert!(raw.is_empty(), "the script holds {raw:?} raw:\n{text}");
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(check.status.success(), "bash -n: {check:?}\n{text}");

    // stubs for the commands the script may run
    let bin = d.path().join("bin");
    fs::create_dir(&bin).unwrap();
    let rec = d.path().join("calls");
    for name in ["rtgs", "git"] {
        let p = bin.join(name);
        fs::write(
            &p,
            format!(
                "#!/bin/bash\nprintf '%s\\0' {name} \"$@\" >> '{}'\nprintf 'END\\0' >> '{}'\n",
                rec.display(),
                rec.display()
            ),
        )
        .unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let run = std::process::Command::new("bash")
        .arg(&script)
        .current_dir(d.path())
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .output()
        .unwrap();
    assert!(run.status.success(), "{run:?}\n{text}");
    assert_eq!(pwned(&m), Vec::<String>::new(), "a payload ran:\n{text}");
    // what the script echoes shows controls escaped (it goes to a terminal)
    let shown = String::from_utf8(run.stdout.clone()).unwrap();
    assert!(
        !shown
            .chars()
            .any(|c| c != '\n' && evident::report::is_hidden(c)),
        "{shown:?}"
    );

    let mut first = vec!["rtgs".to_string(), "sensing-data".into(), "extract".into()];
    let mut sorted = params.clone();
    sorted.sort();
    for (k, v) in &sorted {
        first.push(format!("--{}", k.replace('_', "-")));
        first.push(v.clone());
    }
    first.push("--note".into());
    first.push(format!("Reproduction: {note}"));
    let got = calls(&rec);
    assert_eq!(got.len(), 4, "{got:?}\n{text}");
    assert_eq!(got[0], first, "{text}");
    // the denied command is not run; its operation is replayed as any other
    assert_eq!(got[1][..3], ["rtgs", "sensing-data", "shell_exec"]);
    // only the commit that is a commit id is checked out
    assert_eq!(got[2], ["git", "checkout", "abc123DEF456"]);
    assert_eq!(
        got[3][..3],
        [
            "rtgs".to_string(),
            format!("tool\ntouch {}\u{1b}[2J", payload(&m, 10)),
            format!("op;touch {}", payload(&m, 9))
        ]
    );
    assert!(
        text.contains(&format!("touch {}", payload(&m, 7))),
        "the recorded command is shown:\n{text}"
    );
}

/// A recorded tool or operation name that starts with `-` would reach the
/// replayed program as an option (`rtgs --config=/x extract`), or, without
/// `--program`, the recorded tool's own options: refused, naming the entry.
#[test]
fn bash_reproduction_refuses_a_command_word_that_is_an_option() {
    for (source, action) in [("--config=/tmp/evil", "extract"), ("sensing-data", "-rf")] {
        for program in [Some("rtgs"), None] {
            let d = tempdir().unwrap();
            let log_path = d.path().join("audit.jsonl");
            let log = Log::open(&log_path, OpenOptions::new()).unwrap();
            append(&log, 1, |_| {});
            append(&log, 2, |e| {
                e.source = source.into();
                e.action = action.into();
            });
            log.close().unwrap();
            let script = d.path().join("again.sh");
            let mut cmd = evident();
            cmd.args(["reproduce", log_path.to_str().unwrap()]);
            if let Some(p) = program {
                cmd.args(["--program", p]);
            }
            let out = cmd.arg("-o").arg(&script).output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                !out.status.success(),
                "{source} {action} {program:?}: accepted"
            );
            assert!(
                err.contains("seq 2") && err.contains("starts with"),
                "{err}"
            );
            assert!(!script.exists());
        }
    }
}

#[test]
fn bash_reproduction_refuses_a_nul_byte_it_cannot_pass() {
    let d = tempdir().unwrap();
    let log_path = d.path().join("audit.jsonl");
    let log = Log::open(&log_path, OpenOptions::new()).unwrap();
    append(&log, 1, |e| {
        e.details = Some(json!({"parameters": {"file": "a\u{0}b"}}));
    });
    log.close().unwrap();
    let script = d.path().join("again.sh");
    let out = evident()
        .args(["reproduce", log_path.to_str().unwrap(), "-o"])
        .arg(&script)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("seq 1") && err.contains("NUL"), "{err}");
    assert!(!script.exists());
}

#[test]
fn python_reproduction_is_literals_and_shows_no_raw_controls() {
    let d = tempdir().unwrap();
    let m = d.path().join("markers");
    fs::create_dir(&m).unwrap();
    let log_path = d.path().join("audit.jsonl");
    let log = Log::open(&log_path, OpenOptions::new()).unwrap();
    let mut pm = serde_json::Map::new();
    for (k, v) in hostile_params(&m) {
        pm.insert(k, json!(v));
    }
    pm.insert("q".into(), json!("\"\"\"; import os; os.system('x') #"));
    append(&log, 1, |e| {
        e.action = "measure".into();
        e.details = Some(json!({"parameters": pm}));
        e.git_commit = Some("x\n__import__('os').system('touch pwned')\u{202e}".into());
    });
    append(&log, 2, |e| {
        e.action = "os.system\n__import__('os')".into();
        e.success = Some(false);
        e.error = Some("bad\n\u{2028}import os\u{202e}\u{200b}".into());
    });
    log.close().unwrap();
    let script = d.path().join("again.py");
    evident()
        .args([
            "reproduce",
            log_path.to_str().unwrap(),
            "--format",
            "python",
            "-o",
        ])
        .arg(&script)
        .assert()
        .success();
    let text = fs::read_to_string(&script).unwrap();
    assert!(
        !text.chars().any(evident::report::is_hidden) || {
            // only the newlines of the layout itself
            text.chars()
                .filter(|c| evident::report::is_hidden(*c))
                .all(|c| c == '\n')
        },
        "{text:?}"
    );
    // every statement is an import or one call of tk.<name> with literal
    // keyword values
    let check = r#"
import ast, sys
src = open(sys.argv[1]).read()
tree = ast.parse(src)
calls = 0
for node in tree.body:
    if isinstance(node, (ast.Import, ast.Try)) or (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
        continue
    assert isinstance(node, ast.Expr) and isinstance(node.value, ast.Call), ast.dump(node)
    f = node.value.func
    assert isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "tk", ast.dump(f)
    assert not node.value.args
    for kw in node.value.keywords:
        ast.literal_eval(kw.value)
    calls += 1
print(calls)
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", check])
        .arg(&script)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}\n{text}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1", "{text}");
    assert_eq!(pwned(&m), Vec::<String>::new());
}

/// Characters a terminal acts on (ESC, CSI, BEL, CR, C1, DEL) or that
/// reorder what it shows (bidi).
fn terminal_raw(s: &str) -> Vec<char> {
    s.chars()
        .filter(|c| *c != '\n' && evident::report::is_invisible_control(*c))
        .collect()
}

#[test]
fn terminal_output_escapes_controls_and_json_stays_exact() {
    let d = tempdir().unwrap();
    let log_path = d.path().join("audit.jsonl");
    let log = Log::open(&log_path, OpenOptions::new()).unwrap();
    let nasty = "\u{1b}]0;title\u{7}\u{1b}[2J\r\u{9b}31m\u{7f}\u{202e}gpj.exe\u{2066}";
    append(&log, 1, |e| {
        e.event_type = format!("t{nasty}");
        e.action = format!("a{nasty}");
        e.actor = Some(format!("u{nasty}"));
        e.session_id = format!("s{nasty}");
        e.source = format!("src{nasty}");
        e.error = Some(format!("err{nasty}"));
        e.note = Some(format!("note{nasty}"));
        e.git_commit = Some(format!("g{nasty}"));
        e.details = Some(json!({format!("k{nasty}"): format!("v{nasty}")}));
    });
    log.close().unwrap();
    let p = log_path.to_str().unwrap();
    for args in [
        vec!["cat", p],
        vec!["tail", p],
        vec!["stats", p],
        vec!["verify", p],
        vec!["--color", "always", "cat", p],
    ] {
        let out = evident().args(&args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        for stream in [&out.stdout, &out.stderr] {
            let s = String::from_utf8(stream.clone()).unwrap();
            let raw: Vec<char> = terminal_raw(&s)
                .into_iter()
                // the ESC of evident's own colors
                .filter(|c| !(args[0] == "--color" && *c == '\u{1b}'))
                .collect();
            assert!(raw.is_empty(), "{args:?} printed {raw:?} raw: {s:?}");
        }
    }
    // colors: only SGR sequences, none from the entry
    let out = evident()
        .args(["--color", "always", "cat", p])
        .output()
        .unwrap();
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(!s.contains("\u{1b}]") && !s.contains("\u{1b}[2J"), "{s:?}");
    // --json is the exact entry
    let out = evident().args(["cat", "--json", p]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["action"], json!(format!("a{nasty}")));
    assert_eq!(
        v["details"],
        json!({format!("k{nasty}"): format!("v{nasty}")})
    );
}

const MD_HOSTILE: &str = "x | y\n### forged ✅\n<img src=x onerror=alert(1)> <!-- hide \
[link](javascript:alert(1)) **bold** `code` _em_ \\ & ~~s~~ #";

/// The Markdown report text outside the embedded entries block.
fn md_body(text: &str) -> &str {
    &text[..text.find(evident::report::ENTRIES_MARKER).unwrap()]
}

#[test]
fn markdown_reports_show_hostile_values_as_text() {
    let d = tempdir().unwrap();
    let log_path = d.path().join("audit.jsonl");
    let log = Log::open(&log_path, OpenOptions::new()).unwrap();
    append(&log, 1, |e| {
        e.action = format!("op {MD_HOSTILE}");
        e.source = format!("tool {MD_HOSTILE}");
        e.actor = Some(format!("u {MD_HOSTILE}"));
        e.success = Some(false);
        e.error = Some(format!("err {MD_HOSTILE}"));
        e.note = Some(format!("note {MD_HOSTILE}"));
        e.details = Some(json!({
            // (a parameter name with `=` cannot be replayed, and reproduce
            // refuses it: review_stop48_report.rs; the value keeps it)
            "parameters": {format!("k {}", MD_HOSTILE.replace('=', " ")): format!("v {MD_HOSTILE}"), "obj": {"a": "``` x | `"}},
            "results": {"r": MD_HOSTILE},
        }));
    });
    log.close().unwrap();
    for by in ["day", "week", "tool"] {
        let out = d.path().join(by);
        evident()
            .args(["report", log_path.to_str().unwrap(), "--by", by, "-o"])
            .arg(&out)
            .assert()
            .success();
        let file = fs::read_dir(&out).unwrap().next().unwrap().unwrap().path();
        let text = fs::read_to_string(&file).unwrap();
        let body = md_body(&text);
        // the failed operation forges no ✅ and no heading
        assert!(!body.contains('✅'), "{by}: {body}");
        let headings: Vec<&str> = body.lines().filter(|l| l.starts_with('#')).collect();
        assert!(
            headings.iter().all(|h| !h.starts_with("### forged")),
            "{by}: {headings:?}"
        );
        assert!(headings.len() <= 6, "{by}: {headings:?}");
        // no raw HTML, no comment, no link, no emphasis from content; a
        // code span is evident's (a fence, then the same fence on the line)
        let bytes = body.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if !body.is_char_boundary(i) {
                i += 1;
                continue;
            }
            let c = bytes[i] as char;
            let before = &body[..i];
            let after = &body[i..];
            let escaped = before.ends_with('\\') && !before.ends_with("\\\\");
            if c == '`' && !escaped {
                let n = after.bytes().take_while(|b| *b == b'`').count();
                let fence = "`".repeat(n);
                let line_end = after.find('\n').unwrap_or(after.len());
                let rest = &after[n..line_end];
                let close = (0..rest.len())
                    .find(|&j| {
                        rest[j..].starts_with(&fence)
                            && !rest[j + n..].starts_with('`')
                            && (j == 0 || !rest[..j].ends_with('`'))
                    })
                    .unwrap_or_else(|| panic!("{by}: unclosed code span at {after:.60}"));
                i += n + close + n;
                continue;
            }
            if matches!(c, '<' | '[' | '*' | '|' | '&' | '~' | '_') && !escaped {
                let template = match c {
                    // table pipes: at line start, or between spaces
                    '|' => {
                        before.ends_with('\n')
                            || after[1..].starts_with(['\n', '-', ':'])
                            || before.ends_with(['-', ':'])
                            || (before.ends_with(' ') && after[1..].starts_with(' '))
                    }
                    // the field labels: `- **Label**: `
                    '*' => {
                        before.ends_with("\n- ")
                            || before.ends_with("\n- *")
                            || after.starts_with("**: ")
                            || after.starts_with("*: ")
                    }
                    // inside a word
                    '_' => {
                        before.chars().last().is_some_and(char::is_alphanumeric)
                            && after[1..].chars().next().is_some_and(char::is_alphanumeric)
                    }
                    _ => false,
                };
                assert!(
                    template,
                    "{by}: raw {c:?} at {}",
                    after.chars().take(60).collect::<String>()
                );
            }
            i += 1;
        }
        // table rows keep their cell count
        for l in body.lines().filter(|l| l.starts_with('|')) {
            let cells = l.replace("\\|", "").matches('|').count();
            assert!(cells == 5 || cells == 6, "{by}: {l}");
        }
        // the report still reproduces exactly
        let script = d.path().join(format!("{by}.sh"));
        evident()
            .args(["reproduce", out.to_str().unwrap(), "-o"])
            .arg(&script)
            .assert()
            .success();
    }
}

/// evident's CSV is evidence: every cell is the recorded value exactly
/// (RFC 4180 quoting), also one a spreadsheet would read as a formula; the
/// README says so (a `'` prefix would change the data and the hashes'
/// inputs next to it).
#[test]
fn csv_export_keeps_formula_like_values_exact() {
    let d = tempdir().unwrap();
    let log_path = d.path().join("audit.jsonl");
    let log = Log::open(&log_path, OpenOptions::new()).unwrap();
    let values = [
        "=HYPERLINK(\"http://evil.example\",\"x\")",
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1)",
        "\tx",
        "\rx",
        "a,\"b\"\nc",
    ];
    for (i, v) in values.iter().enumerate() {
        append(&log, i as u32, |e| {
            e.action = v.to_string();
            e.note = Some(v.to_string());
        });
    }
    log.close().unwrap();
    let out = evident()
        .args(["export", log_path.to_str().unwrap(), "--format", "csv"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut r = csv_reader(&out.stdout);
    let rows: Vec<Vec<String>> = r
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    assert_eq!(rows.len(), values.len());
    for (row, v) in rows.iter().zip(values) {
        assert_eq!(row[3], v);
        assert_eq!(row[11], v);
    }
    let readme = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(readme.contains("formula"), "the README states the CSV rule");
}

fn csv_reader(b: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new().from_reader(b)
}

/// Characters that show nothing at all (zero-width space, joiners, word
/// joiner, invisible operators, BOM, soft hyphen, Mongolian vowel
/// separator): printed raw, `actor=alice` and `actor=alice\u{200b}` look
/// the same on a terminal while `--actor alice` matches only one.
#[test]
fn human_lines_show_invisible_characters_escaped() {
    let d = tempdir().unwrap();
    let log_path = d.path().join("audit.jsonl");
    let log = Log::open(&log_path, OpenOptions::new()).unwrap();
    let hidden = [
        '\u{ad}', '\u{180e}', '\u{200b}', '\u{200c}', '\u{200d}', '\u{2060}', '\u{2063}',
        '\u{feff}',
    ];
    for (i, c) in hidden.iter().enumerate() {
        append(&log, i as u32, |e| {
            e.actor = Some(format!("alice{c}"));
            e.details = Some(json!({format!("k{c}"): format!("v{c}")}));
        });
    }
    log.close().unwrap();
    let p = log_path.to_str().unwrap();
    for args in [vec!["cat", p], vec!["tail", "-n", "20", p]] {
        let out = evident().args(&args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        let s = String::from_utf8(out.stdout).unwrap();
        for c in hidden {
            assert!(
                !s.contains(c),
                "{args:?} printed U+{:04X} raw: {s:?}",
                c as u32
            );
            let esc = format!("actor=\"alice\\u{:04x}\"", c as u32);
            assert!(s.contains(&esc), "{args:?}: no {esc} in {s:?}");
        }
    }
    // --json stays the exact value.
    let out = evident().args(["cat", "--json", p]).output().unwrap();
    let first: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(first["actor"], json!("alice\u{ad}"));
}

/// The Markdown and HTML reports show the invisible characters as the
/// terminal lines do (one definition, `evident::report::is_hidden`): a
/// report must not show `alice` for an actor that is `alice` followed by a
/// zero-width space, nor let a bidi control reorder what it shows.
#[test]
fn reports_show_invisible_characters_escaped() {
    let d = tempdir().unwrap();
    let log_path = d.path().join("audit.jsonl");
    let log = Log::open(&log_path, OpenOptions::new()).unwrap();
    let hidden = [
        '\u{ad}', '\u{180e}', '\u{200b}', '\u{200c}', '\u{200d}', '\u{200e}', '\u{200f}',
        '\u{2060}', '\u{2063}', '\u{2064}', '\u{feff}', '\u{202e}', '\u{2066}',
    ];
    for (i, c) in hidden.iter().enumerate() {
        append(&log, i as u32, |e| {
            e.action = format!("extract{c}");
            if i == 2 {
                // one tool with a hidden character in its name
                e.source = format!("sensing{c}");
            }
            e.actor = Some(format!("alice{c}"));
            e.success = Some(false);
            e.error = Some(format!("err{c}"));
            e.details = Some(json!({
                "parameters": {format!("k{c}"): format!("v{c}"), "obj": {"a": format!("w{c}")}},
                "results": {"r": format!("x{c}")},
            }));
        });
    }
    log.close().unwrap();
    let p = log_path.to_str().unwrap();
    // `words`: values the report shows (weekly and tool reports show no
    // actor)
    let check = |what: &str, text: &str, words: &[&str]| {
        for c in hidden {
            assert!(
                !text.contains(c),
                "{what} shows U+{:04X} raw: {:?}",
                c as u32,
                text.lines()
                    .filter(|l| l.contains(c))
                    .take(3)
                    .collect::<Vec<_>>()
            );
            for w in words {
                let esc = format!("{w}\\u{{{:x}}}", c as u32);
                assert!(text.contains(&esc), "{what}: no {esc}");
            }
        }
    };
    for by in ["day", "week", "tool"] {
        let out = d.path().join(by);
        evident()
            .args(["report", p, "--by", by, "-o"])
            .arg(&out)
            .assert()
            .success();
        let mut text = String::new();
        for f in fs::read_dir(&out).unwrap() {
            text.push_str(&fs::read_to_string(f.unwrap().path()).unwrap());
        }
        let words: &[&str] = match by {
            "day" => &["extract", "alice", "err", "K", "v", "w", "x"],
            _ => &["extract"],
        };
        check(&format!("markdown --by {by}"), &text, words);
    }
    let html = d.path().join("r.html");
    evident()
        .args(["report", p, "--format", "html", "-o"])
        .arg(&html)
        .assert()
        .success();
    let text = fs::read_to_string(&html).unwrap();
    check("html", &text, &["extract", "alice", "err", "k", "v", "w"]);
    // escaped once: HTML-escaping does not touch the `\u{..}` text
    assert!(text.contains("<td>alice\\u{200b}</td>"), "html");
}

/// A parameter recorded with an empty name would become the word `--`,
/// which ends the replayed program's options: every flag after it would
/// reach the program as a plain argument. Refused, naming the entry.
#[test]
fn bash_reproduction_refuses_an_empty_parameter_name() {
    let d = tempdir().unwrap();
    let log_path = d.path().join("audit.jsonl");
    let log = Log::open(&log_path, OpenOptions::new()).unwrap();
    append(&log, 1, |_| {});
    append(&log, 2, |e| {
        e.details = Some(json!({"parameters": {"": "x", "verbose": true}}));
    });
    log.close().unwrap();
    let script = d.path().join("again.sh");
    let out = evident()
        .args(["reproduce", log_path.to_str().unwrap(), "--program", "rtgs"])
        .arg("-o")
        .arg(&script)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let text = fs::read_to_string(&script).unwrap_or_default();
    assert!(!out.status.success(), "accepted:\n{text}");
    assert!(err.contains("seq 2") && err.contains("empty"), "{err}");
    assert!(!script.exists());
}
