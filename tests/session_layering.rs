//! The session module is layered without circles: each module uses only the
//! modules of the layers below it (`src/session/base.rs` documents the
//! order). Checked from the source text, so a `use` that brings a circle
//! back fails here.

use std::collections::BTreeSet;

/// Bottom first; a module may name only modules before it.
const LAYERS: &[&str] = &[
    "base", "model", "history", "file", "store", "import", "capture",
];

/// The session modules a source file names (`super::x`, `crate::session::x`,
/// `super::super::x` in its tests), ignoring comments.
fn uses(src: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in src.lines() {
        let code = line.split("//").next().unwrap_or("");
        for prefix in ["super::super::", "crate::session::", "super::"] {
            let mut rest = code;
            while let Some(i) = rest.find(prefix) {
                let after = &rest[i + prefix.len()..];
                let name: String = after
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if LAYERS.contains(&name.as_str()) {
                    out.insert(name);
                }
                rest = after;
            }
        }
    }
    out
}

#[test]
fn session_modules_use_only_lower_layers() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/session/");
    let mut bad = Vec::new();
    for (i, module) in LAYERS.iter().enumerate() {
        let src = std::fs::read_to_string(format!("{dir}{module}.rs")).unwrap();
        for used in uses(&src) {
            let j = LAYERS.iter().position(|m| *m == used).unwrap();
            if j >= i && used != *module {
                bad.push(format!("{module}.rs uses {used} (a layer above it)"));
            }
        }
    }
    assert!(bad.is_empty(), "session layering broken: {bad:?}");
}

#[test]
fn model_uses_no_session_module_but_base() {
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/session/model.rs"))
        .unwrap();
    let used = uses(&src);
    assert!(
        used.iter().all(|m| m == "base" || m == "model"),
        "model.rs uses {used:?}"
    );
}

#[test]
fn the_checker_sees_a_circle() {
    let src = "use super::file::sha256;\nfn f() { super::import::x(); }\n// super::store\n";
    let used = uses(src);
    assert!(used.contains("file") && used.contains("import") && !used.contains("store"));
}
