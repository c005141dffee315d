//! `evident report` and `evident reproduce`: the files they write, their
//! layouts, and their errors.

use std::fs;

use assert_cmd::Command;
use chrono::{TimeZone, Utc};
use evident::{Event, Log, OpenOptions};
use predicates::prelude::*;
use serde_json::json;
use tempfile::tempdir;

fn evident() -> Command {
    Command::cargo_bin("evident").unwrap()
}

fn sample(path: &std::path::Path) {
    let log = Log::open(path, OpenOptions::new()).unwrap();
    let ops = [
        (
            15,
            14,
            "sensing-data",
            "extract",
            true,
            json!({"project": "Winter Turf - v3"}),
        ),
        (
            15,
            15,
            "visualization",
            "create",
            false,
            json!({"file": "a b.csv"}),
        ),
        (
            16,
            9,
            "sensing-data",
            "extract",
            true,
            json!({"project": "P2"}),
        ),
        (22, 9, "gridded-data", "download", true, json!({})),
    ];
    for (day, hour, tool, op, ok, params) in ops {
        let mut e = Event::new("tool_operation", op)
            .source(tool)
            .details(json!({"parameters": params, "results": {"rows": 1200}}));
        e.ts = Some(Utc.with_ymd_and_hms(2023, 6, day, hour, 0, 0).unwrap());
        e.success = Some(ok);
        e.duration_ms = Some(1500.0);
        e.git_commit = Some(if day < 20 { "aaa111" } else { "bbb222" }.into());
        if !ok {
            e.error = Some("failed to open".into());
        }
        log.append(&e).unwrap();
    }
    log.close().unwrap();
}

#[test]
fn markdown_reports_by_day_week_and_tool() {
    let d = tempdir().unwrap();
    let log = d.path().join("audit.jsonl");
    sample(&log);
    let out = d.path().join("daily");
    evident()
        .args(["report", log.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::contains("audit_report_2023-06-15.md"));
    let mut names: Vec<_> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "audit_report_2023-06-15.md",
            "audit_report_2023-06-16.md",
            "audit_report_2023-06-22.md"
        ]
    );
    let day = fs::read_to_string(out.join("audit_report_2023-06-15.md")).unwrap();
    assert!(day.starts_with("# Audit Report - 2023-06-15\n\n## Summary\n- Total Operations: 2\n- Successful: 1 (50.0%)\n- Failed: 1 (50.0%)\n"));
    assert!(day.contains("### 15:00:00 - visualization create ❌\n- **File**: a b.csv\n- **Rows**: 1,200\n- **Duration**: 1.5s\n- **Error**: failed to open\n"), "{day}");
    assert!(day.contains("verified, 4 entries, head 4:"));

    let weekly = d.path().join("weekly");
    evident()
        .args([
            "report",
            log.to_str().unwrap(),
            "--by",
            "week",
            "--since",
            "2023-06-01",
            "--until",
            "2023-06-20",
            "-o",
            weekly.to_str().unwrap(),
        ])
        .assert()
        .success();
    let w = fs::read_to_string(weekly.join("weekly_report_2023-W24.md")).unwrap();
    assert!(w.contains("- Total Operations: 3\n"), "{w}");
    assert!(
        !weekly.join("weekly_report_2023-W25.md").exists(),
        "--until excludes the 22nd"
    );

    let tools = d.path().join("tools");
    evident()
        .args([
            "report",
            log.to_str().unwrap(),
            "--by",
            "tool",
            "-o",
            tools.to_str().unwrap(),
        ])
        .assert()
        .success();
    let t = fs::read_to_string(tools.join("tool_report_sensing-data.md")).unwrap();
    assert!(t.contains("| extract | 2 | 2 | 0 | 1.5s |"), "{t}");
}

#[test]
fn html_report_is_self_contained_and_shows_verification() {
    let d = tempdir().unwrap();
    let log = d.path().join("audit.jsonl");
    sample(&log);
    let html = d.path().join("r.html");
    evident()
        .args([
            "report",
            log.to_str().unwrap(),
            "--format",
            "html",
            "--title",
            "June <ops>",
            "-o",
            html.to_str().unwrap(),
        ])
        .assert()
        .success();
    let h = fs::read_to_string(&html).unwrap();
    assert!(h.contains("<title>June &lt;ops&gt;</title>"));
    for id in [
        "chart-activity",
        "chart-success",
        "chart-event-type",
        "chart-action",
        "chart-actor",
        "chart-tool",
    ] {
        assert!(h.contains(&format!("id=\"{id}\"")), "{id}");
    }
    assert!(h.contains("valid</span>, 4 entries, head <code>4:"));
    assert!(!h.contains("<script") && !h.contains("src=\"http") && !h.contains("href=\"http"));

    // -o naming no .html file: a directory (created) for audit_report.html
    let dir = d.path().join("html-out");
    evident()
        .args([
            "report",
            log.to_str().unwrap(),
            "--format",
            "html",
            "-o",
            dir.to_str().unwrap(),
        ])
        .assert()
        .success();
    assert!(dir.join("audit_report.html").is_file());

    // a tampered log is reported as not valid at the top (the report is
    // written; the command warns and exits 1, as the README says)
    let text = fs::read_to_string(&log).unwrap().replace("P2", "P3");
    fs::write(&log, text).unwrap();
    evident()
        .args([
            "report",
            log.to_str().unwrap(),
            "--format",
            "html",
            "-o",
            html.to_str().unwrap(),
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("warning"));
    assert!(fs::read_to_string(&html).unwrap().contains("NOT VALID"));
}

/// The strings a PDF shows with `Tj`, in order (pdf-writer writes content
/// streams uncompressed, each string literal `(…)` or hex `<…>`), decoded
/// from WinAnsi (Latin-1 but for the ellipsis, all the report uses of
/// 0x80–0x9f).
fn pdf_strings(pdf: &[u8]) -> Vec<String> {
    let decode = |bytes: &[u8]| -> String {
        bytes
            .iter()
            .map(|&b| if b == 0x85 { '…' } else { char::from(b) })
            .collect()
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < pdf.len() {
        let (bytes, end) = match pdf[i] {
            b'(' => {
                let (mut v, mut j, mut depth) = (Vec::new(), i + 1, 1);
                while j < pdf.len() {
                    match pdf[j] {
                        b'\\' => {
                            j += 1;
                            v.push(match pdf[j] {
                                b'n' => b'\n',
                                b'r' => b'\r',
                                b't' => b'\t',
                                c => c,
                            });
                        }
                        b'(' => {
                            depth += 1;
                            v.push(b'(');
                        }
                        b')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                            v.push(b')');
                        }
                        c => v.push(c),
                    }
                    j += 1;
                }
                (v, j + 1)
            }
            b'<' if pdf.get(i + 1) != Some(&b'<') => {
                let close = i + pdf[i..].iter().position(|&c| c == b'>').unwrap();
                let hex: Vec<u8> = pdf[i + 1..close]
                    .iter()
                    .copied()
                    .filter(u8::is_ascii_hexdigit)
                    .collect();
                let v = hex
                    .chunks(2)
                    .map(|h| u8::from_str_radix(std::str::from_utf8(h).unwrap(), 16).unwrap())
                    .collect();
                (v, close + 1)
            }
            _ => {
                i += 1;
                continue;
            }
        };
        if pdf[end..].starts_with(b" Tj") {
            out.push(decode(&bytes));
        }
        i = end;
    }
    out
}

#[test]
fn pdf_report_has_every_entry_on_numbered_pages_and_shows_verification() {
    let d = tempdir().unwrap();
    let log = d.path().join("audit.jsonl");
    sample(&log);
    let l = Log::open(&log, OpenOptions::new()).unwrap();
    for i in 0..120 {
        l.append(
            &Event::new("data_access", format!("read_{i}"))
                .actor("中村")
                .details(json!({"rows": i})),
        )
        .unwrap();
    }
    l.close().unwrap();
    let pdf_path = d.path().join("out/r.pdf");
    evident()
        .args([
            "report",
            log.to_str().unwrap(),
            "--format",
            "pdf",
            "--title",
            "June (ops)",
            "-o",
            pdf_path.to_str().unwrap(),
        ])
        .assert()
        .success();
    let pdf = fs::read(&pdf_path).unwrap();
    assert!(pdf.starts_with(b"%PDF-1.7"));
    assert!(pdf.trim_ascii_end().ends_with(b"%%EOF"));
    let strings = pdf_strings(&pdf);
    let has = |s: &str| strings.iter().any(|t| t.contains(s));
    assert!(has("June (ops)"), "{strings:?}");
    assert!(strings.iter().any(|t| t == "valid"));
    assert!(has("124 entries") && has("Entries (124)"));
    // every entry, and a character outside the fonts as <U+XXXX>
    for i in 0..120 {
        assert!(has(&format!(" read_{i} ")), "read_{i}");
    }
    assert!(has("<U+4E2D><U+6751>"));
    assert!(has("failed to open"));
    for chart in [
        "Activity over time",
        "Success rate",
        "By event type",
        "By tool / source",
    ] {
        assert!(has(chart), "{chart}");
    }
    // numbered pages: "page i of n" on each of the n pages
    let footers: Vec<&String> = strings.iter().filter(|t| t.contains(" page ")).collect();
    let n = footers.len();
    assert!(n > 2, "{footers:?}");
    for (i, f) in footers.iter().enumerate() {
        assert!(f.ends_with(&format!("page {} of {n}", i + 1)), "{f}");
    }
    assert_eq!(
        String::from_utf8_lossy(&pdf)
            .matches("/Type /Page\n")
            .count(),
        n
    );

    // -o naming no .pdf file: a directory (created) for audit_report.pdf;
    // --no-charts leaves the charts out
    let dir = d.path().join("pdf-out");
    evident()
        .args([
            "report",
            log.to_str().unwrap(),
            "--format",
            "pdf",
            "--no-charts",
        ])
        .args(["-o", dir.to_str().unwrap()])
        .assert()
        .success();
    let plain = pdf_strings(&fs::read(dir.join("audit_report.pdf")).unwrap());
    assert!(!plain.iter().any(|t| t.contains("By event type")));

    // a tampered log is reported as not valid at the top (exit 1)
    let text = fs::read_to_string(&log).unwrap().replace("P2", "P3");
    fs::write(&log, text).unwrap();
    evident()
        .args(["report", log.to_str().unwrap(), "--format", "pdf"])
        .args(["-o", pdf_path.to_str().unwrap()])
        .assert()
        .code(1);
    assert!(pdf_strings(&fs::read(&pdf_path).unwrap())
        .iter()
        .any(|t| t == "NOT VALID"));
}

#[test]
fn reproduce_from_logs_and_curated_reports() {
    let d = tempdir().unwrap();
    let log = d.path().join("audit.jsonl");
    sample(&log);
    let script = d.path().join("again.sh");
    evident()
        .args([
            "reproduce",
            log.to_str().unwrap(),
            "--program",
            "rtgs",
            "--exclude-operation",
            "download",
            "-o",
            script.to_str().unwrap(),
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "3 operation(s), 2023-06-15 to 2023-06-16",
        ));
    let s = fs::read_to_string(&script).unwrap();
    assert!(s.starts_with("#!/bin/bash\n"));
    assert!(s.contains("git checkout aaa111\n") && !s.contains("bbb222"));
    assert!(s.contains("rtgs visualization create \\\n  --file \"a b.csv\" \\\n  --note \"Reproduction of visualization create at 2023-06-15T15:00:00.000000Z\"\n"), "{s}");
    assert!(s.contains("# The original run failed: failed to open\n"));

    // reports written by `evident report`, curated by deleting one
    let reports = d.path().join("reports");
    evident()
        .args([
            "report",
            log.to_str().unwrap(),
            "-o",
            reports.to_str().unwrap(),
        ])
        .assert()
        .success();
    fs::remove_file(reports.join("audit_report_2023-06-16.md")).unwrap();
    evident()
        .args([
            "reproduce",
            reports.to_str().unwrap(),
            "-o",
            script.to_str().unwrap(),
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "3 operation(s), 2023-06-15 to 2023-06-22",
        ));

    // a file that is neither a log nor a report: exit 2 naming it
    let other = d.path().join("notes.txt");
    fs::write(&other, "hello").unwrap();
    evident()
        .args([
            "reproduce",
            other.to_str().unwrap(),
            "-o",
            script.to_str().unwrap(),
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "notes.txt: neither an evident log nor a report",
        ));
}

/// Hostile strings in every field an HTML or PDF report shows.
const HOSTILE: [&str; 8] = [
    "</script><script>alert(1)</script>",
    "<img src=x onerror=alert(2)>",
    "\" onmouseover=\"alert(3)",
    "javascript:alert(4)",
    "</text><foreignObject><iframe src=javascript:alert(5)></iframe></foreignObject><text>",
    "</style><style>body{background:url(http://evil.example/x)}</style>",
    "a) Tj (b\\) (c \\\\ d ( e",
    "Wörd€→𝔘 verylongwordwithoutanybreakverylongwordwithoutanybreakverylongwordwithoutanybreakverylongwordwithoutanybreak",
];

fn hostile_log(path: &std::path::Path) {
    let log = Log::open(path, OpenOptions::new()).unwrap();
    for (i, h) in HOSTILE.iter().enumerate() {
        let mut e = Event::new(format!("type {h}"), format!("act {h}"))
            .source(format!("tool {h}"))
            .actor(format!("user {h}"))
            .details(json!({format!("k {h}"): format!("v {h}")}));
        e.success = Some(i % 2 == 0);
        e.error = Some(format!("err {h}"));
        e.ts = Some(Utc.with_ymd_and_hms(2023, 6, 15, 10, i as u32, 0).unwrap());
        log.append(&e).unwrap();
    }
    log.close().unwrap();
}

#[test]
fn html_report_shows_hostile_fields_as_text_only() {
    let d = tempdir().unwrap();
    let log = d.path().join("audit.jsonl");
    hostile_log(&log);
    let html = d.path().join("r.html");
    evident()
        .args(["report", log.to_str().unwrap(), "--format", "html", "-o"])
        .arg(&html)
        .args(["--title", HOSTILE[0]])
        .assert()
        .success();
    let text = fs::read_to_string(&html).unwrap();
    for h in HOSTILE {
        if h.contains(['<', '"']) {
            assert!(!text.contains(h), "raw {h:?}");
        }
    }
    // the elements and attributes are the template's: parsed as a browser's
    // tokenizer would, no script, no event handler, no URL but the SVG
    // namespace, no foreign element
    let check = r#"
import sys, html.parser
allowed = {"html","head","meta","title","style","body","h1","h2","p","ul","li","code","span","div","b","section","figure","figcaption","svg","g","rect","text","table","thead","tbody","tr","th","td","details","summary","pre","br","small","em","strong","nav","header","footer","main","a","caption","colgroup","col","line","path","circle","polyline","tspan","i"}
bad = []
class P(html.parser.HTMLParser):
    def handle_starttag(self, tag, attrs):
        if tag not in allowed:
            bad.append(tag)
        for k, v in attrs:
            if k.startswith("on") or (v or "").strip().lower().startswith(("javascript:", "http:", "https:", "data:")) and not (k == "xmlns" and v == "http://www.w3.org/2000/svg"):
                bad.append((tag, k, v))
        if tag == "a":
            bad.append(("a", attrs))
p = P()
p.feed(open(sys.argv[1], encoding="utf-8").read())
print(bad)
"#;
    // Python's HTML parser lists every element and attribute (where there
    // is a python3: not under Wine, which runs the Windows build of this)
    if cfg!(unix) {
        let out = std::process::Command::new("python3")
            .args(["-c", check])
            .arg(&html)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]");
    }
    assert_eq!(text.matches("<script").count(), 0);
    assert_eq!(text.matches("<style").count(), 1);
}

#[test]
fn pdf_report_stays_valid_and_shows_hostile_strings() {
    let d = tempdir().unwrap();
    let log = d.path().join("audit.jsonl");
    hostile_log(&log);
    let pdf_path = d.path().join("r.pdf");
    evident()
        .args(["report", log.to_str().unwrap(), "--format", "pdf", "-o"])
        .arg(&pdf_path)
        .args(["--title", HOSTILE[6]])
        .assert()
        .success();
    let pdf = fs::read(&pdf_path).unwrap();
    assert!(pdf.starts_with(b"%PDF-1.7"));
    assert!(pdf.trim_ascii_end().ends_with(b"%%EOF"));
    let strings = pdf_strings(&pdf);
    let all = strings.join("");
    assert!(all.contains(HOSTILE[6]), "{strings:?}");
    assert!(strings
        .iter()
        .any(|t| t.contains("act a) Tj (b\\) (c \\\\ d ( e")));
    // € is WinAnsi 0x80 (the decoder here maps 0x80 to U+0080)
    assert!(all.contains("Wörd\u{80}<U+2192><U+1D518>"), "{strings:?}");
    // the long word is shown whole (maybe over several lines)
    let joined: String = all.split_whitespace().collect();
    let word = HOSTILE[7].split(' ').nth(1).unwrap();
    assert!(joined.contains(word), "{strings:?}");
    // pypdf in strict mode reads every page, when this checkout's Python
    // environment (scripts/test.sh makes it) has it
    let py = concat!(env!("CARGO_MANIFEST_DIR"), "/target/py-venv/bin/python");
    if cfg!(unix) && std::path::Path::new(py).exists() {
        let out = std::process::Command::new(py)
            .args([
                "-c",
                "import sys, pypdf; r = pypdf.PdfReader(sys.argv[1], strict=True); print(sum(len(p.extract_text()) > 0 for p in r.pages) == len(r.pages))",
            ])
            .arg(&pdf_path)
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "True",
            "{out:?}"
        );
    }
}

/// Every report is a text file ending with a newline: the Markdown ones
/// did, the HTML one lost the template's last newline.
#[test]
fn html_report_ends_with_a_newline_as_markdown_reports_do() {
    let d = tempdir().unwrap();
    let log = d.path().join("audit.jsonl");
    sample(&log);
    let html = d.path().join("r.html");
    evident()
        .args(["report", log.to_str().unwrap(), "--format", "html", "-o"])
        .arg(&html)
        .assert()
        .success();
    let h = fs::read_to_string(&html).unwrap();
    assert!(h.ends_with("</html>\n"), "{:?}", &h[h.len() - 20..]);
    let md = d.path().join("md");
    evident()
        .args(["report", log.to_str().unwrap(), "-o"])
        .arg(&md)
        .assert()
        .success();
    let m = fs::read_to_string(md.join("audit_report_2023-06-15.md")).unwrap();
    assert!(m.ends_with("-->\n"), "{:?}", &m[m.len() - 20..]);
}

/// RTGS's `report --tool-name visualization` names its files as the
/// report of every tool does (seed 002; RTGS writes one file per day), so
/// the report of one tool is `audit_report_DAY.md` with only its entries.
#[test]
fn a_report_filtered_by_tool_has_the_names_of_the_daily_and_weekly_reports() {
    let d = tempdir().unwrap();
    let log = d.path().join("audit.jsonl");
    sample(&log);
    let out = d.path().join("reports");
    let p = log.to_str().unwrap();
    for by in ["day", "week"] {
        evident()
            .args(["report", p, "--by", by, "--source", "visualization", "-o"])
            .arg(&out)
            .assert()
            .success();
    }
    let mut names: Vec<_> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["audit_report_2023-06-15.md", "weekly_report_2023-W24.md"]
    );
    let one = fs::read_to_string(out.join("audit_report_2023-06-15.md")).unwrap();
    assert!(!one.contains("sensing-data extract") && one.contains("visualization create"));
}

/// Tools whose names differ only in characters a file name cannot hold
/// (`sensing data`, `sensing_data`, `sensing/data`) each get a report of
/// their own: the name is made safe and, when that changed it, followed by
/// a short hash of the tool's own name, so no report replaces another.
#[test]
fn tools_whose_names_differ_in_unsafe_characters_get_reports_of_their_own() {
    let d = tempdir().unwrap();
    let log_path = d.path().join("audit.jsonl");
    let log = Log::open(&log_path, OpenOptions::new()).unwrap();
    let tools = [
        "sensing data",
        "sensing_data",
        "sensing/data",
        "sensing-data",
    ];
    for (i, tool) in tools.iter().enumerate() {
        let mut e = Event::new("tool_operation", "extract").source(*tool);
        e.ts = Some(Utc.with_ymd_and_hms(2023, 6, 15, 14, i as u32, 0).unwrap());
        log.append(&e).unwrap();
    }
    log.close().unwrap();
    let p = log_path.to_str().unwrap();
    let out = d.path().join("tools");
    evident()
        .args(["report", p, "--by", "tool", "-o"])
        .arg(&out)
        .assert()
        .success();
    let files: Vec<_> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), tools.len(), "{files:?}");
    // each report is its tool's
    for tool in tools {
        let shown = files
            .iter()
            .filter(|f| {
                fs::read_to_string(f)
                    .unwrap()
                    .contains(&format!("# Tool Report - {tool}\n"))
            })
            .count();
        assert_eq!(shown, 1, "{tool}: {files:?}");
    }
    // a name that is already safe stays as it is
    assert!(
        out.join("tool_report_sensing-data.md").exists(),
        "{files:?}"
    );
}

#[test]
fn a_tool_named_none_and_entries_without_a_tool_get_reports_of_their_own() {
    let d = tempdir().unwrap();
    let log_path = d.path().join("audit.jsonl");
    let log = Log::open(&log_path, OpenOptions::new()).unwrap();
    for (i, tool) in ["", "none"].iter().enumerate() {
        let mut e = Event::new("tool_operation", "extract").source(*tool);
        e.ts = Some(Utc.with_ymd_and_hms(2023, 6, 15, 14, i as u32, 0).unwrap());
        log.append(&e).unwrap();
    }
    log.close().unwrap();
    let out = d.path().join("tools");
    evident()
        .args(["report", log_path.to_str().unwrap(), "--by", "tool", "-o"])
        .arg(&out)
        .assert()
        .success();
    let texts: Vec<String> = fs::read_dir(&out)
        .unwrap()
        .map(|e| fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    for title in ["# Tool Report - (none)\n", "# Tool Report - none\n"] {
        assert_eq!(
            texts.iter().filter(|t| t.contains(title)).count(),
            1,
            "{title}"
        );
    }
    // entries without a tool keep the name they always had
    let none = fs::read_to_string(out.join("tool_report_none.md")).unwrap();
    assert!(none.contains("# Tool Report - (none)\n"), "{none}");
}

/// README ("Switching from OpenParallax"): every command but `verify`
/// refuses an OpenParallax audit file and names the import. `report` and
/// `reproduce` said only "neither an evident log nor a report".
#[test]
fn report_and_reproduce_name_the_import_of_an_openparallax_file() {
    let dir = tempdir().unwrap();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("spec/vectors/openparallax/basic.jsonl");
    let audit = dir.path().join("audit.jsonl");
    fs::copy(src, &audit).unwrap();
    let before = fs::read(&audit).unwrap();
    for args in [
        vec![
            "report".into(),
            audit.clone(),
            "-o".into(),
            dir.path().join("rep"),
        ],
        vec![
            "reproduce".into(),
            audit.clone(),
            "-o".into(),
            dir.path().join("r.sh"),
        ],
    ] {
        evident()
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("OpenParallax audit file"))
            .stderr(predicate::str::contains("evident import-openparallax"));
    }
    assert_eq!(fs::read(&audit).unwrap(), before, "the file is only read");
}

/// A script written from a log that does not verify was written silently
/// (exit 0, no warning) with the changed values in it. It is still written
/// (the operations are what the file holds), but says so at its top, on
/// standard error, and by exit 1.
#[test]
fn reproduce_from_a_log_that_does_not_verify_says_so() {
    let dir = tempdir().unwrap();
    let log = dir.path().join("a.jsonl");
    sample(&log);
    let text = fs::read_to_string(&log).unwrap();
    let line2 = text.lines().nth(1).unwrap().to_string();
    let changed = line2.replacen("\"action\":\"", "\"action\":\"x", 1);
    assert_ne!(line2, changed);
    fs::write(&log, text.replacen(&line2, &changed, 1)).unwrap();
    let script = dir.path().join("again.sh");
    evident()
        .arg("reproduce")
        .arg(&log)
        .arg("-o")
        .arg(&script)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("warning").and(predicate::str::contains("hash_mismatch")));
    let s = fs::read_to_string(&script).unwrap();
    let second = s.lines().nth(1).unwrap();
    assert!(second.starts_with("# WARNING: a log did not verify"), "{s}");
    // an intact log: exit 0, no warning
    let good = dir.path().join("b.jsonl");
    sample(&good);
    evident()
        .arg("reproduce")
        .arg(&good)
        .arg("-o")
        .arg(dir.path().join("b.sh"))
        .assert()
        .success()
        .stderr(predicate::str::is_empty());
    assert!(!fs::read_to_string(dir.path().join("b.sh"))
        .unwrap()
        .contains("WARNING"));
    // with a torn tail it does not verify (`verify` exits 1: the bytes cut
    // off may be an acknowledged entry), so the script says so, as the
    // README says of a log that does not verify (review of 7 December)
    let mut f = fs::OpenOptions::new().append(true).open(&good).unwrap();
    std::io::Write::write_all(&mut f, b"{\"v\":1,\"seq\"").unwrap();
    drop(f);
    evident()
        .arg("reproduce")
        .arg(&good)
        .arg("-o")
        .arg(dir.path().join("b.sh"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("torn_tail"));
    assert!(fs::read_to_string(dir.path().join("b.sh"))
        .unwrap()
        .contains("# WARNING"));
}

/// A keyed log is verified with `--key-file` (its hashes), and without it
/// its links and seqs still are: only the first violation (the missing
/// key) was looked at, so nothing in a keyed log was ever reported.
#[test]
fn reproduce_checks_a_keyed_log_with_its_key_and_its_links_without() {
    let dir = tempdir().unwrap();
    let keyfile = dir.path().join("key.hex");
    fs::write(
        &keyfile,
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
    )
    .unwrap();
    let key = evident::Key::new(
        hex::decode("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff").unwrap(),
    )
    .unwrap();
    let log = dir.path().join("k.jsonl");
    let l = Log::open(&log, OpenOptions::new().key(key)).unwrap();
    for op in ["a", "b", "c"] {
        l.append(&Event::new("tool_operation", op).source("tool"))
            .unwrap();
    }
    l.close().unwrap();
    let text = fs::read_to_string(&log).unwrap();
    let run = |file: &std::path::Path, with_key: bool| {
        let mut c = evident();
        c.arg("reproduce")
            .arg(file)
            .arg("-o")
            .arg(dir.path().join("s.sh"));
        if with_key {
            c.arg("--key-file").arg(&keyfile);
        }
        c.assert().get_output().status.code()
    };
    assert_eq!(run(&log, true), Some(0));
    assert_eq!(run(&log, false), Some(0));
    // without the key the hashes are not checked: said on standard error
    // and at the script's top (a changed entry would pass unseen)
    let out = evident()
        .arg("reproduce")
        .arg(&log)
        .arg("-o")
        .arg(dir.path().join("n.sh"))
        .assert()
        .success();
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("evident: note:")
            && err.contains("its hashes were not checked")
            && err.contains("--key-file"),
        "{err}"
    );
    let script = fs::read_to_string(dir.path().join("n.sh")).unwrap();
    assert!(
        !script.contains("# NOTE") && !script.contains("# WARNING"),
        "{script}"
    );
    assert_eq!(run(&log, true), Some(0));
    // the one key is for the keyed logs: a keyless log given with it is
    // fine, and still checked (a changed entry found)
    let plain = dir.path().join("plain.jsonl");
    sample(&plain);
    assert_eq!(run(&plain, true), Some(0));
    let t = fs::read_to_string(&plain).unwrap();
    fs::write(&plain, t.replacen("Winter Turf", "Summer Turf", 1)).unwrap();
    assert_eq!(run(&plain, true), Some(1));
    // and `report` shows a keyless log given with the key as verified
    let clean = dir.path().join("clean.jsonl");
    sample(&clean);
    evident()
        .arg("report")
        .arg(&clean)
        .arg("--key-file")
        .arg(&keyfile)
        .arg("--by")
        .arg("tool")
        .arg("-o")
        .arg(dir.path().join("rep"))
        .assert()
        .success();
    let shown: String = fs::read_dir(dir.path().join("rep"))
        .unwrap()
        .map(|f| fs::read_to_string(f.unwrap().path()).unwrap())
        .collect();
    assert!(
        shown.contains(": verified, ") && !shown.contains("NOT VALID"),
        "{shown}"
    );
    // a wrong key is a failure, not a note
    let wrong = dir.path().join("wrong.hex");
    fs::write(&wrong, "ff".repeat(32)).unwrap();
    evident()
        .arg("reproduce")
        .arg(&log)
        .arg("-o")
        .arg(dir.path().join("w.sh"))
        .arg("--key-file")
        .arg(&wrong)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("wrong_key"));
    // an entry changed: found with the key
    let changed = dir.path().join("changed.jsonl");
    fs::write(
        &changed,
        text.replacen("\"action\":\"b\"", "\"action\":\"x\"", 1),
    )
    .unwrap();
    assert_eq!(run(&changed, true), Some(1));
    // an entry removed: found without the key too (a seq gap)
    let lines: Vec<&str> = text.lines().collect();
    let removed = dir.path().join("removed.jsonl");
    fs::write(
        &removed,
        format!("{}\n{}\n{}\n", lines[0], lines[1], lines[3]),
    )
    .unwrap();
    assert_eq!(run(&removed, false), Some(1));
}

/// Reproducing from Markdown reports: a report whose recorded entry differs
/// from its log's (the report was edited) was replayed silently (exit 0,
/// no warning): now a failure (WARNING at the script's top, exit 1). Entries read from
/// reports alone are read as they are (documented): the script is RTGS's
/// as usual, nothing on standard error, exit 0.
#[test]
fn reproduce_from_an_edited_report_next_to_its_log_warns() {
    let d = tempdir().unwrap();
    let log = d.path().join("audit.jsonl");
    sample(&log);
    let reports = d.path().join("reports");
    evident()
        .arg("report")
        .arg(&log)
        .arg("-o")
        .arg(&reports)
        .assert()
        .success();
    let script = d.path().join("r.sh");
    let reproduce = |inputs: &[&std::path::Path]| {
        let mut c = evident();
        c.arg("reproduce").args(inputs).arg("-o").arg(&script);
        let out = c.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).to_string(),
            fs::read_to_string(&script).unwrap(),
        )
    };
    // reports alone: read as they are
    let (code, err, s) = reproduce(&[&reports]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.is_empty(), "{err}");
    assert!(
        s.lines()
            .nth(1)
            .unwrap()
            .starts_with("# Reproduction script generated on "),
        "{s}"
    );
    // with the log: nothing to say
    let (code, err, s) = reproduce(&[&log, &reports]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.is_empty(), "{err}");
    assert!(!s.contains("# NOTE") && !s.contains("# WARNING"), "{s}");
    // an edited report next to its log: a failure
    let day = reports.join("audit_report_2023-06-15.md");
    let text = fs::read_to_string(&day).unwrap();
    let edited = text.replacen(
        "\"project\":\"Winter Turf - v3\"",
        "\"project\":\"EVIL\"",
        1,
    );
    assert_ne!(text, edited);
    fs::write(&day, &edited).unwrap();
    let (code, err, s) = reproduce(&[&log, &reports]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("the report was edited"), "{err}");
    assert!(s.lines().nth(1).unwrap().starts_with("# WARNING: "), "{s}");
    assert!(!s.contains("EVIL"), "the log's entry is replayed: {s}");
    // reports of that report (`--by week` over the directory): read alone,
    // as they are
    let weekly = d.path().join("weekly");
    fs::write(&day, &text).unwrap();
    evident()
        .arg("report")
        .arg("--by")
        .arg("week")
        .arg(&reports)
        .arg("-o")
        .arg(&weekly)
        .assert()
        .success();
    let (code, err, _) = reproduce(&[&weekly]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.is_empty(), "{err}");
}

/// Reports curated by hand (RTGS: "create script from curated log files"):
/// an operation's section deleted from a report was replayed all the same
/// (only the embedded entries were read): now it is left out. A value
/// changed in the text a reader sees, with the log given too, was replayed
/// as recorded without a word: now the script and the command warn (with
/// exit status 1) and the recorded value is replayed. Read alone, a report
/// is taken as it is (README). Line ends changed to CRLF (a Windows
/// checkout) change nothing.
#[test]
fn reproduce_from_reports_curated_by_hand() {
    let d = tempdir().unwrap();
    let log = d.path().join("audit.jsonl");
    sample(&log);
    let script = d.path().join("r.sh");
    let reproduce_from = |inputs: &[&std::path::Path]| {
        let out = evident()
            .arg("reproduce")
            .args(inputs)
            .args(["--program", "rtgs", "-o"])
            .arg(&script)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
            fs::read_to_string(&script).unwrap(),
        )
    };
    let reproduce = |dir: &std::path::Path| reproduce_from(&[dir]);
    let write_reports = |dir: &std::path::Path, by: &str| {
        evident()
            .arg("report")
            .arg(&log)
            .args(["--by", by, "-o"])
            .arg(dir)
            .assert()
            .success();
    };
    for by in ["day", "tool", "week"] {
        let reports = d.path().join(format!("reports-{by}"));
        write_reports(&reports, by);
        let (code, out, err, _) = reproduce(&reports);
        assert_eq!(code, Some(0), "{by}: {err}");
        assert!(out.contains("4 operation(s)"), "{by}: {out}");
        // CRLF line ends: the same
        for f in fs::read_dir(&reports).unwrap() {
            let p = f.unwrap().path();
            let t = fs::read_to_string(&p).unwrap().replace('\n', "\r\n");
            fs::write(&p, t).unwrap();
        }
        let (code, out, err, s) = reproduce(&reports);
        assert_eq!(code, Some(0), "{by} CRLF: {err}");
        assert!(out.contains("4 operation(s)"), "{by} CRLF: {out}");
        assert!(!s.contains("# WARNING"), "{by} CRLF: {s}");
    }

    // a section deleted: that operation is not replayed, nothing to warn of
    let reports = d.path().join("reports");
    write_reports(&reports, "day");
    let day = reports.join("audit_report_2023-06-15.md");
    let text = fs::read_to_string(&day).unwrap();
    let start = text.find("\n### 15:00:00 - visualization create").unwrap();
    let end = start + 1 + text[start + 1..].find("\n\n").unwrap();
    let curated = format!("{}{}", &text[..start], &text[end..]);
    fs::write(&day, &curated).unwrap();
    let (code, out, err, s) = reproduce(&reports);
    assert_eq!(code, Some(0), "{err}\n{curated}");
    assert!(out.contains("3 operation(s)"), "{out}");
    assert!(!s.contains("visualization create"), "{s}");
    assert!(!s.contains("# WARNING"), "{s}");

    // a value changed in the visible text: replayed as recorded; with the
    // log given, a warning naming the entry
    let edited = curated.replacen(
        "- **Project**: Winter Turf - v3",
        "- **Project**: Summer Turf - v4",
        1,
    );
    assert_ne!(edited, curated);
    fs::write(&day, &edited).unwrap();
    let (code, _, err, s) = reproduce(&reports);
    assert_eq!(code, Some(0), "read alone, as it is: {err}");
    assert!(
        s.contains("Winter Turf - v3") && !s.contains("Summer"),
        "{s}"
    );
    let (code, out, err, s) = reproduce_from(&[&log, &reports]);
    assert_eq!(code, Some(1), "{out}\n{err}");
    assert!(
        err.contains("the report was edited") && err.contains("seq 1"),
        "{err}"
    );
    assert!(s.lines().nth(1).unwrap().starts_with("# WARNING: "), "{s}");
    assert!(
        s.contains("Winter Turf - v3") && !s.contains("Summer"),
        "{s}"
    );

    // a heading changed: a section showing no recorded entry; nothing is
    // left out (a deletion cannot be told from an edit), a warning with
    // the log given
    let renamed = curated.replacen(
        "### 14:00:00 - sensing-data extract",
        "### 14:00:00 - sensing-data extract-all",
        1,
    );
    assert_ne!(renamed, curated);
    fs::write(&day, &renamed).unwrap();
    let (code, out, err, _) = reproduce(&reports);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("4 operation(s)"), "the deleted one too: {out}");
    let (code, _, err, s) = reproduce_from(&[&log, &reports]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("shows no recorded entry"), "{err}");
    assert!(s.lines().nth(1).unwrap().starts_with("# WARNING: "), "{s}");

    // the Operations heading itself deleted: nothing to compare, nothing
    // left out
    fs::write(&day, curated.replacen("## Operations\n", "", 1)).unwrap();
    let (code, out, err, _) = reproduce(&reports);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("4 operation(s)"), "{out}");
}
