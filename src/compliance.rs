//! Simple, documented compliance checks of a dataset (SecureML's
//! `ComplianceAuditor.audit_dataset`): columns and values that look like
//! personal data, special categories of personal data, and whether the
//! dataset's metadata documents consent and a purpose.
//!
//! The input is a dataset's column names with a sample of each column's
//! values ([`Dataset`], JSON); the output a [`Report`] (JSON), whose fields
//! are those of SecureML's compliance report plus `checks`, the outcome of
//! every check in order (for an audit trail).
//!
//! The checks, in order:
//!
//! 1. `personal_data_columns`: column names that look like personal data
//!    ([`PERSONAL_COLUMNS`]: a pattern with `_` matches a substring of the
//!    name normalised to lower-case words joined by `_`; any other pattern
//!    matches a whole word, or a substring when longer than 4 letters).
//!    Each is an issue of medium severity.
//! 2. `personal_data_values`: in the other columns, string values (up to
//!    [`MAX_VALUES`] per column) that look like e-mail addresses, phone,
//!    social security or card numbers, IP addresses ([`VALUE_PATTERNS`]),
//!    when at least half the column's non-empty strings (and at least one)
//!    match the same pattern. Each is an issue of medium severity.
//! 3. `special_categories`: column names of the regulation's special or
//!    sensitive categories ([`SPECIAL_CATEGORIES`]; GDPR Art. 9, CCPA
//!    sensitive personal information, HIPAA health information). Each is an
//!    issue of high severity.
//! 4. `documentation` (only when 1–3 found something): the metadata must
//!    have truthy `consent_obtained` and `purpose`; each missing one is a
//!    warning.
//!
//! The regulation (any name; upper-cased) chooses the wording of the
//! recommendations; GDPR, CCPA (CPRA) and HIPAA have their own.
//!
//! A dataset file (`evident compliance-check`) is opened with
//! [`open_dataset`] (a regular file only) and read one line or record at a
//! time into a [`DatasetBuilder`], with bounds that keep memory small
//! whatever the file's size: a line or record is at most
//! [`MAX_RECORD_BYTES`], a dataset has at most [`MAX_COLUMNS`] columns and
//! its sample of values takes at most [`MAX_SAMPLE_BYTES`]
//! ([`DatasetBuilder::try_record`]).

use regex::Regex;
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use crate::error::{Error, Result};

/// Values looked at per column.
pub const MAX_VALUES: usize = 1000;

/// The longest line (JSON lines) or record (CSV) of a dataset file read
/// (64 MiB, as an OpenParallax line: room for a record holding an encoded
/// image or document); a longer one is refused.
pub const MAX_RECORD_BYTES: usize = 64 << 20;

/// The most columns [`DatasetBuilder::try_header`] and
/// [`DatasetBuilder::try_record`] accept.
pub const MAX_COLUMNS: usize = 100_000;

/// The most memory [`DatasetBuilder::try_record`] keeps for the columns and
/// their sample of values (1 GiB; a value counts its string's length plus
/// the size of a JSON value).
pub const MAX_SAMPLE_BYTES: usize = 1 << 30;

/// Column-name patterns that look like personal data, by category.
pub const PERSONAL_COLUMNS: &[(&str, &[&str])] = &[
    (
        "name",
        &["name", "surname", "first_name", "last_name", "full_name"],
    ),
    ("email", &["email", "e_mail", "mail"]),
    ("phone", &["phone", "mobile", "telephone", "tel"]),
    (
        "address",
        &["address", "street", "zip", "postcode", "postal", "city"],
    ),
    (
        "identifier",
        &[
            "ssn",
            "social_security",
            "passport",
            "national_id",
            "driver_license",
            "tax_id",
            "id_number",
        ],
    ),
    ("birth_date", &["birth", "dob"]),
    (
        "financial",
        &[
            "credit_card",
            "card_number",
            "iban",
            "account_number",
            "income",
            "salary",
        ],
    ),
    (
        "online_identifier",
        &["ip_address", "ip", "device_id", "cookie"],
    ),
    ("location", &["latitude", "longitude", "gps", "location"]),
];

/// Special (GDPR Art. 9) or sensitive categories, by category.
pub const SPECIAL_CATEGORIES: &[(&str, &[&str])] = &[
    (
        "health",
        &["health", "medical", "diagnosis", "disease", "treatment"],
    ),
    ("racial_or_ethnic_origin", &["race", "ethnic"]),
    ("political_opinion", &["political", "party"]),
    ("religious_belief", &["religion", "religious", "belief"]),
    ("trade_union", &["union"]),
    ("genetic", &["genetic", "dna"]),
    ("biometric", &["biometric", "fingerprint", "face"]),
    ("sex_life_or_orientation", &["sexual", "orientation"]),
];

/// Value patterns that look like personal data (whole value, trimmed).
pub const VALUE_PATTERNS: &[(&str, &str)] = &[
    ("email", r"^[\w.+-]+@[\w-]+(\.[\w-]+)+$"),
    ("phone", r"^\+?[\d\s().-]{7,20}$"),
    ("ssn", r"^\d{3}-\d{2}-\d{4}$"),
    ("credit_card", r"^(?:\d[ -]?){13,19}$"),
    ("ip_address", r"^(?:\d{1,3}\.){3}\d{1,3}$"),
];

fn value_regexes() -> &'static [(&'static str, Regex)] {
    static R: OnceLock<Vec<(&'static str, Regex)>> = OnceLock::new();
    R.get_or_init(|| {
        VALUE_PATTERNS
            .iter()
            .map(|(k, p)| (*k, Regex::new(p).expect("the value patterns are valid")))
            .collect()
    })
}

/// One column: its name and a sample of its values (any JSON; only
/// strings are looked at).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct Column {
    pub name: String,
    #[serde(default)]
    pub values: Vec<Value>,
}

/// The dataset to check.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Dataset {
    /// Shown in the report (default `"dataset"`).
    #[serde(default = "default_name")]
    pub dataset_name: String,
    /// The number of records (default: the longest column's sample).
    #[serde(default)]
    pub num_records: Option<u64>,
    /// The columns in order.
    pub columns: Vec<Column>,
    /// Documentation of the processing: `consent_obtained`, `purpose`.
    #[serde(default)]
    pub metadata: Map<String, Value>,
}

fn default_name() -> String {
    "dataset".into()
}

/// An ordered `{column: category}` map (JSON object in column order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings(pub Vec<(String, String)>);

impl Findings {
    fn contains(&self, col: &str) -> bool {
        self.0.iter().any(|(c, _)| c == col)
    }
}

impl Serialize for Findings {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// An issue (a finding that makes the dataset non-compliant).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Issue {
    pub component: String,
    pub issue: String,
    pub severity: String,
    pub recommendation: String,
}

/// A warning.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Warning {
    pub component: String,
    pub warning: String,
    pub recommendation: String,
}

/// One check's outcome, with its findings (`{"columns": {...}}` or
/// `{"metadata_keys": [...]}`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Check {
    pub check: String,
    pub passed: bool,
    pub details: CheckDetails,
}

/// A check's findings.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(untagged)]
pub enum CheckDetails {
    Columns { columns: Findings },
    Metadata { metadata_keys: Vec<String> },
}

/// The report (SecureML's compliance report fields, then `checks`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub regulation: String,
    pub dataset_name: String,
    pub num_records: u64,
    pub columns: Vec<String>,
    pub personal_data_columns: Findings,
    pub issues: Vec<Issue>,
    pub warnings: Vec<Warning>,
    pub passed_checks: Vec<String>,
    pub compliant: bool,
    pub checks: Vec<Check>,
}

impl Report {
    /// The report as JSON text (key order as documented).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

/// The wording of one regulation.
struct Wording {
    personal: &'static str,
    values: &'static str,
    special_kind: &'static str,
    special: &'static str,
}

fn wording(regulation: &str) -> Wording {
    let personal = "minimise, pseudonymise or anonymise it, or document a lawful basis";
    let values = "remove, mask or pseudonymise these values";
    match regulation {
        "CCPA" | "CPRA" => Wording {
            personal: "minimise it and disclose its collection in a notice at collection (CCPA 1798.100)",
            values,
            special_kind: "sensitive personal information",
            special: "sensitive personal information needs a notice and the right to limit its use (CCPA 1798.121)",
        },
        "HIPAA" => Wording {
            personal: "de-identify it (HIPAA Safe Harbor, 45 CFR 164.514(b)) or document an authorization",
            values: "remove these identifiers (HIPAA Safe Harbor) or document an authorization",
            special_kind: "protected health information",
            special: "protected health information needs an authorization or another permitted use (45 CFR 164.508)",
        },
        "GDPR" => Wording {
            personal,
            values,
            special_kind: "a special category of personal data",
            special: "special categories need explicit consent or another Art. 9 basis",
        },
        _ => Wording {
            personal,
            values,
            special_kind: "a special category of personal data",
            special: "special categories need explicit consent or another lawful basis",
        },
    }
}

/// `col` in lower case split into words of letters and digits.
fn words(lower: &str) -> Vec<&str> {
    lower
        .split(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit()))
        .filter(|w| !w.is_empty())
        .collect()
}

/// Whether the column name matches one of the patterns (see the module
/// documentation).
fn matches(col: &str, patterns: &[&str]) -> bool {
    let lower = col.to_lowercase();
    let ws = words(&lower);
    let joined = {
        // Runs of other characters become one `_` (leading and trailing too).
        let mut s = String::with_capacity(lower.len());
        let mut in_run = false;
        for c in lower.chars() {
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                s.push(c);
                in_run = false;
            } else if !in_run {
                s.push('_');
                in_run = true;
            }
        }
        s
    };
    patterns.iter().any(|p| {
        (p.contains('_') && joined.contains(p))
            || ws.contains(p)
            || (p.len() > 4 && joined.contains(p))
    })
}

fn category<'a>(col: &str, table: &'a [(&'a str, &'a [&'a str])]) -> Option<&'a str> {
    table
        .iter()
        .find(|(_, pats)| matches(col, pats))
        .map(|(c, _)| *c)
}

/// The columns whose names match a category of `table`, in order (a name
/// given twice counts once).
fn by_name(columns: &[String], table: &[(&str, &[&str])]) -> Findings {
    let mut found = Findings::default();
    for col in columns {
        if found.contains(col) {
            continue;
        }
        if let Some(cat) = category(col, table) {
            found.0.push((col.clone(), cat.into()));
        }
    }
    found
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
    }
}

/// Runs the checks of `regulation` (any name; compared upper-cased) on
/// `dataset`.
pub fn audit_dataset(regulation: &str, dataset: &Dataset) -> Report {
    let regulation = regulation.trim().to_uppercase();
    let w = wording(&regulation);
    let columns: Vec<String> = dataset.columns.iter().map(|c| c.name.clone()).collect();
    let num_records = dataset.num_records.unwrap_or_else(|| {
        dataset
            .columns
            .iter()
            .map(|c| c.values.len() as u64)
            .max()
            .unwrap_or(0)
    });
    let mut report = Report {
        regulation: regulation.clone(),
        dataset_name: dataset.dataset_name.clone(),
        num_records,
        columns: columns.clone(),
        personal_data_columns: Findings::default(),
        issues: Vec::new(),
        warnings: Vec::new(),
        passed_checks: Vec::new(),
        compliant: true,
        checks: Vec::new(),
    };
    let record = |report: &mut Report, check: &str, passed: bool, details: CheckDetails| {
        if passed {
            report.passed_checks.push(check.into());
        }
        report.checks.push(Check {
            check: check.into(),
            passed,
            details,
        });
    };
    let issue = |component: &str, issue: String, severity: &str, rec: &str| Issue {
        component: component.into(),
        issue,
        severity: severity.into(),
        recommendation: rec.into(),
    };

    // 1. column names (a name given twice counts once)
    let found = by_name(&columns, PERSONAL_COLUMNS);
    for (col, cat) in &found.0 {
        report.issues.push(issue(
            col,
            format!(
                "column {} looks like personal data ({cat})",
                crate::pytext::repr_str(col)
            ),
            "medium",
            w.personal,
        ));
    }
    let passed = found.0.is_empty();
    record(
        &mut report,
        "personal_data_columns",
        passed,
        CheckDetails::Columns {
            columns: found.clone(),
        },
    );

    // 2. values
    let mut by_value = Findings::default();
    for c in &dataset.columns {
        if found.contains(&c.name) || by_value.contains(&c.name) {
            continue;
        }
        let texts: Vec<&str> = c
            .values
            .iter()
            .take(MAX_VALUES)
            .filter_map(|v| v.as_str())
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect();
        if texts.is_empty() {
            continue;
        }
        for (kind, re) in value_regexes() {
            let hits = texts.iter().filter(|t| re.is_match(t)).count();
            if hits > 0 && hits >= (texts.len() / 2).max(1) {
                by_value.0.push((c.name.clone(), (*kind).into()));
                break;
            }
        }
    }
    for (col, kind) in &by_value.0 {
        report.issues.push(issue(
            col,
            format!(
                "values of column {} look like personal data ({kind})",
                crate::pytext::repr_str(col)
            ),
            "medium",
            w.values,
        ));
    }
    let passed = by_value.0.is_empty();
    record(
        &mut report,
        "personal_data_values",
        passed,
        CheckDetails::Columns {
            columns: by_value.clone(),
        },
    );
    let mut all = found.clone();
    all.0.extend(by_value.0.iter().cloned());
    report.personal_data_columns = all;

    // 3. special categories
    let special = by_name(&columns, SPECIAL_CATEGORIES);
    for (col, cat) in &special.0 {
        report.issues.push(issue(
            col,
            format!(
                "column {} looks like {} ({cat})",
                crate::pytext::repr_str(col),
                w.special_kind
            ),
            "high",
            w.special,
        ));
    }
    let passed = special.0.is_empty();
    record(
        &mut report,
        "special_categories",
        passed,
        CheckDetails::Columns { columns: special },
    );

    // 4. documentation
    if !report.personal_data_columns.0.is_empty() || !report.checks[2].passed {
        let consent = truthy(dataset.metadata.get("consent_obtained"));
        let purpose = truthy(dataset.metadata.get("purpose"));
        if !consent {
            report.warnings.push(Warning {
                component: "metadata".into(),
                warning: "consent for processing personal data is not documented".into(),
                recommendation: "set metadata['consent_obtained'] when consent was obtained".into(),
            });
        }
        if !purpose {
            report.warnings.push(Warning {
                component: "metadata".into(),
                warning: "the purpose of processing is not documented".into(),
                recommendation: "set metadata['purpose']".into(),
            });
        }
        let mut keys: Vec<String> = dataset.metadata.keys().cloned().collect();
        keys.sort();
        record(
            &mut report,
            "documentation",
            consent && purpose,
            CheckDetails::Metadata {
                metadata_keys: keys,
            },
        );
    }
    report.compliant = report.issues.is_empty();
    report
}

/// [`audit_dataset`] on a dataset given as JSON text ([`Dataset`]);
/// returns the report as JSON text.
pub fn audit_json(regulation: &str, dataset_json: &str) -> Result<String> {
    let d: Dataset = serde_json::from_str(dataset_json)
        .map_err(|e| Error::InvalidArgument(format!("dataset: {e}")))?;
    Ok(audit_dataset(regulation, &d).to_json())
}

/// Opens the dataset file at `path` for reading: a regular file only. A
/// FIFO, socket, device or directory is refused at once with an error
/// naming the file ("not a regular file"), as for an evident log: the open
/// never blocks (a FIFO nobody writes to) and nothing without an end
/// (`/dev/zero`) is read.
pub fn open_dataset(path: impl AsRef<Path>) -> Result<std::fs::File> {
    crate::storage::open_regular(path.as_ref(), crate::storage::Access::Read, "open dataset")
}

/// Builds a [`Dataset`] from records (JSON objects; columns in the order
/// they first appear), keeping at most [`MAX_VALUES`] values per column and
/// counting every record.
#[derive(Debug, Default)]
pub struct DatasetBuilder {
    columns: Vec<Column>,
    /// Column name → index in `columns`.
    index: HashMap<String, usize>,
    records: u64,
    /// Memory kept for the columns and their values
    /// ([`DatasetBuilder::try_record`]).
    kept: usize,
    /// The bound of `kept` (0: [`MAX_SAMPLE_BYTES`]; tests set less).
    limit: usize,
}

/// What one value of the sample costs against [`MAX_SAMPLE_BYTES`].
fn value_cost(v: &Value) -> usize {
    std::mem::size_of::<Value>() + v.as_str().map_or(0, str::len)
}

/// What one column costs against [`MAX_SAMPLE_BYTES`].
fn column_cost(name: &str) -> usize {
    std::mem::size_of::<Column>() + 2 * name.len() + 2 * std::mem::size_of::<usize>()
}

fn no_memory(what: &str) -> Error {
    Error::InvalidArgument(format!("out of memory for {what}"))
}

/// `v` as kept in the sample: arrays and objects become empty ones (only
/// strings are checked, the others only count), other values as they are.
pub fn sample_value(v: Value) -> Value {
    match v {
        Value::Array(_) => Value::Array(Vec::new()),
        Value::Object(_) => Value::Object(Map::new()),
        v => v,
    }
}

impl DatasetBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares the columns (a CSV header) in order.
    pub fn header<S: AsRef<str>>(&mut self, names: &[S]) {
        for n in names {
            self.column(n.as_ref());
        }
    }

    /// [`header`](Self::header) within the bounds of
    /// [`try_record`](Self::try_record).
    pub fn try_header<S: AsRef<str>>(&mut self, names: &[S]) -> Result<()> {
        for n in names {
            self.try_column(n.as_ref())?;
        }
        Ok(())
    }

    fn column(&mut self, name: &str) -> usize {
        match self.index.get(name) {
            Some(&i) => i,
            None => {
                self.columns.push(Column {
                    name: name.into(),
                    values: Vec::new(),
                });
                self.index.insert(name.into(), self.columns.len() - 1);
                self.columns.len() - 1
            }
        }
    }

    /// [`column`](Self::column), refusing a column beyond [`MAX_COLUMNS`]
    /// or [`MAX_SAMPLE_BYTES`], and memory the allocator refuses.
    fn try_column(&mut self, name: &str) -> Result<usize> {
        if let Some(&i) = self.index.get(name) {
            return Ok(i);
        }
        if self.columns.len() >= MAX_COLUMNS {
            return Err(Error::InvalidArgument(format!(
                "more than {MAX_COLUMNS} columns"
            )));
        }
        self.charge(column_cost(name))?;
        self.columns
            .try_reserve(1)
            .map_err(|_| no_memory("the columns"))?;
        self.index
            .try_reserve(1)
            .map_err(|_| no_memory("the columns"))?;
        Ok(self.column(name))
    }

    fn charge(&mut self, cost: usize) -> Result<()> {
        let kept = self.kept.saturating_add(cost);
        let limit = if self.limit == 0 {
            MAX_SAMPLE_BYTES
        } else {
            self.limit
        };
        if kept > limit {
            return Err(Error::InvalidArgument(format!(
                "the columns and their sample of values (the first {MAX_VALUES} of each column) take more than {} MiB",
                limit >> 20
            )));
        }
        self.kept = kept;
        Ok(())
    }

    /// Adds one record: `(column, value)` pairs.
    pub fn record<'a>(&mut self, fields: impl IntoIterator<Item = (&'a str, Value)>) {
        self.records += 1;
        for (k, v) in fields {
            let i = self.column(k);
            let c = &mut self.columns[i];
            if c.values.len() < MAX_VALUES {
                c.values.push(v);
            }
        }
    }

    /// [`record`](Self::record) with bounded memory, for records read from
    /// a file: values are kept as [`sample_value`] makes them; a record
    /// that would make more than [`MAX_COLUMNS`] columns, or whose kept
    /// values would take the sample beyond [`MAX_SAMPLE_BYTES`], is an
    /// error, as is memory the allocator refuses (never an abort). After an
    /// error the builder may hold part of the record.
    pub fn try_record<'a>(
        &mut self,
        fields: impl IntoIterator<Item = (&'a str, Value)>,
    ) -> Result<()> {
        self.records += 1;
        for (k, v) in fields {
            let i = self.try_column(k)?;
            if self.columns[i].values.len() >= MAX_VALUES {
                continue;
            }
            let v = sample_value(v);
            self.charge(value_cost(&v))?;
            let c = &mut self.columns[i];
            c.values
                .try_reserve(1)
                .map_err(|_| no_memory("the sample of values"))?;
            c.values.push(v);
        }
        Ok(())
    }

    /// The dataset, named `name`, with `metadata`.
    pub fn finish(self, name: &str, metadata: Map<String, Value>) -> Dataset {
        Dataset {
            dataset_name: name.into(),
            num_records: Some(self.records),
            columns: self.columns,
            metadata,
        }
    }
}

/// A CSV field as a JSON value: empty is null, a number is a number, any
/// other text a string.
pub fn csv_value(field: &str) -> Value {
    let t = field.trim();
    if t.is_empty() {
        return Value::Null;
    }
    if let Ok(i) = t.parse::<i64>() {
        // A leading zero or plus sign (phone numbers, postcodes) is text.
        if !(t.len() > 1 && (t.starts_with('0') || t.starts_with('+'))) {
            return json!(i);
        }
    }
    if t.contains('.') && !t.starts_with('.') && t.matches('.').count() == 1 {
        if let Ok(f) = t.parse::<f64>() {
            if f.is_finite() {
                return json!(f);
            }
        }
    }
    Value::String(field.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ds(cols: &[(&str, Value)]) -> Dataset {
        Dataset {
            dataset_name: "d".into(),
            num_records: None,
            columns: cols
                .iter()
                .map(|(n, v)| Column {
                    name: (*n).into(),
                    values: v.as_array().cloned().unwrap_or_default(),
                })
                .collect(),
            metadata: Map::new(),
        }
    }

    #[test]
    fn secureml_example_dataset() {
        let d = ds(&[
            ("name", json!(["Alice Smith", "Bob Johnson"])),
            ("age", json!([32, 45])),
            ("income", json!([65000, 85000])),
            ("email", json!(["alice.s@example.com", "bob.j@example.com"])),
        ]);
        let r = audit_dataset("gdpr", &d);
        assert_eq!(r.regulation, "GDPR");
        assert_eq!(r.num_records, 2);
        let pd: Vec<_> = r
            .personal_data_columns
            .0
            .iter()
            .map(|(c, k)| (c.as_str(), k.as_str()))
            .collect();
        assert_eq!(
            pd,
            [
                ("name", "name"),
                ("income", "financial"),
                ("email", "email")
            ]
        );
        assert_eq!(r.issues.len(), 3);
        assert_eq!(
            r.issues[0].issue,
            "column 'name' looks like personal data (name)"
        );
        assert!(!r.compliant);
        assert_eq!(
            r.passed_checks,
            ["personal_data_values", "special_categories"]
        );
        assert_eq!(r.warnings.len(), 2);
        assert_eq!(r.checks.len(), 4);
        let text = r.to_json();
        assert!(
            text.contains(
                r#""personal_data_columns":{"name":"name","income":"financial","email":"email"}"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"{"check":"documentation","passed":false,"details":{"metadata_keys":[]}}"#
            ),
            "{text}"
        );
    }

    #[test]
    fn values_under_neutral_names_and_clean_data() {
        let d = ds(&[
            ("contact", json!(["a@example.com", " b@example.org ", ""])),
            ("peer", json!(["10.0.0.1", "x", "192.168.1.20", "y"])),
            ("code", json!(["123-45-6789", "n/a", "n/a"])),
            ("score", json!([1, 2])),
        ]);
        let r = audit_dataset("GDPR", &d);
        let pd: Vec<_> = r
            .personal_data_columns
            .0
            .iter()
            .map(|(c, k)| (c.as_str(), k.as_str()))
            .collect();
        // half the texts suffice (and one of three: 3 / 2 = 1, as SecureML's
        // Python did); patterns are tried in order, phone before IP address
        assert_eq!(
            pd,
            [("contact", "email"), ("peer", "phone"), ("code", "phone")]
        );
        assert_eq!(
            r.issues[0].issue,
            "values of column 'contact' look like personal data (email)"
        );

        let clean = audit_dataset("GDPR", &ds(&[("score", json!([1, 2]))]));
        assert!(clean.compliant && clean.warnings.is_empty());
        assert_eq!(
            clean.passed_checks,
            [
                "personal_data_columns",
                "personal_data_values",
                "special_categories"
            ]
        );
    }

    #[test]
    fn name_matching_rules() {
        // whole words, long substrings, `_` patterns on the normalised name
        assert_eq!(category("Customer Name", PERSONAL_COLUMNS), Some("name"));
        assert_eq!(category("zipcode", PERSONAL_COLUMNS), None); // "zip" is short: words only
        assert_eq!(category("homeaddress", PERSONAL_COLUMNS), Some("address"));
        assert_eq!(
            category("Credit-Card No", PERSONAL_COLUMNS),
            Some("financial")
        );
        assert_eq!(category("tip", PERSONAL_COLUMNS), None);
        assert_eq!(
            category("client IP", PERSONAL_COLUMNS),
            Some("online_identifier")
        );
        assert_eq!(
            category("Diagnosis_code", SPECIAL_CATEGORIES),
            Some("health")
        );
        assert_eq!(crate::pytext::repr_str("it's"), "\"it's\"");
        assert_eq!(crate::pytext::repr_str("a\nb'\""), "'a\\nb\\'\"'");
    }

    #[test]
    fn regulations_and_documentation() {
        let mut d = ds(&[("medical_history", json!(["x"])), ("id", json!([1]))]);
        let r = audit_dataset("hipaa", &d);
        assert_eq!(r.issues.len(), 1);
        assert_eq!(r.issues[0].severity, "high");
        assert!(r.issues[0]
            .issue
            .contains("protected health information (health)"));
        assert_eq!(r.warnings.len(), 2);
        let g = audit_dataset("GDPR", &d);
        assert_eq!(
            g.issues[0].recommendation,
            "special categories need explicit consent or another Art. 9 basis"
        );
        d.metadata.insert("consent_obtained".into(), json!(true));
        d.metadata.insert("purpose".into(), json!("care"));
        let r = audit_dataset("CCPA", &d);
        assert!(r.warnings.is_empty());
        assert!(r.passed_checks.contains(&"documentation".to_string()));
        assert!(r.issues[0].recommendation.contains("CCPA"));
    }

    #[test]
    fn builder_keeps_a_bounded_sample_and_counts_every_record() {
        let mut b = DatasetBuilder::new();
        b.header(&["a", "b"]);
        for i in 0..(MAX_VALUES + 5) {
            b.record([
                ("a", csv_value(&i.to_string())),
                ("c", csv_value("x@y.org")),
            ]);
        }
        let d = b.finish("big", Map::new());
        assert_eq!(d.num_records, Some(MAX_VALUES as u64 + 5));
        let names: Vec<_> = d.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(d.columns[0].values.len(), MAX_VALUES);
        assert_eq!(csv_value("0612345678"), json!("0612345678"));
        assert_eq!(csv_value("42"), json!(42));
        assert_eq!(csv_value("0.5"), json!(0.5));
        assert_eq!(csv_value(""), Value::Null);
        assert_eq!(csv_value("1.2.3.4"), json!("1.2.3.4"));
        assert!(audit_json("GDPR", "{\"columns\": 3}").is_err());
        let out: Value =
            serde_json::from_str(&audit_json("GDPR", r#"{"columns":[{"name":"email"}]}"#).unwrap())
                .unwrap();
        assert_eq!(out["personal_data_columns"], json!({"email": "email"}));
        assert_eq!(out["dataset_name"], "dataset");
    }

    #[test]
    fn try_record_bounds_columns_and_the_sample() {
        let mut b = DatasetBuilder::new();
        b.try_header(&["a"]).unwrap();
        b.try_record([
            ("a", json!([1, [2]])),
            ("b", json!({"x": 1})),
            ("c", json!("s")),
        ])
        .unwrap();
        let d = b.finish("d", Map::new());
        let vals: Vec<_> = d.columns.iter().map(|c| c.values[0].clone()).collect();
        // nested values are kept empty: only strings are checked
        assert_eq!(vals, [json!([]), json!({}), json!("s")]);

        let mut b = DatasetBuilder::new();
        let names: Vec<String> = (0..=MAX_COLUMNS).map(|i| format!("c{i}")).collect();
        let e = b.try_header(&names).unwrap_err().to_string();
        assert!(e.contains("more than 100000 columns"), "{e}");

        // (The bound lowered to 256 MiB: the test keeps less in memory.)
        let mut b = DatasetBuilder {
            limit: 256 << 20,
            ..DatasetBuilder::new()
        };
        let big = "x".repeat(1 << 20);
        let mut refused = None;
        for i in 0..MAX_VALUES {
            if let Err(e) = b.try_record([("a", Value::String(big.clone()))]) {
                refused = Some((i, e.to_string()));
                break;
            }
        }
        let (i, e) = refused.expect("refused");
        assert!(i < 256 && e.contains("256 MiB"), "{i} {e}");
    }
}
