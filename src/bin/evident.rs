//! `evident`: the command-line tool for evident audit logs.
//!
//! A thin layer over the library: every subcommand parses its arguments
//! (clap), calls the public API ([`evident::Log`], [`evident::verify`],
//! [`evident::query`], [`evident::convert`]) and prints the result. Nothing
//! here reads or writes the log format itself.
//!
//! Exit status: 0 success; 1 the log failed a check (a violation, tampering,
//! damage, a torn tail); 2 a usage error, an I/O error, a missing or wrong
//! key file, a locked log. Errors are one line on stderr:
//! `evident: <file>: <problem>`.

#![deny(clippy::print_stderr, clippy::print_stdout)]

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::Value;

/// A line on standard error that never panics: a standard error nobody
/// reads (a pipe whose reader is gone) loses the message, not the command
/// or its exit status. `eprintln!` would panic there, and the panic's own
/// message would then abort the process. Standard output goes through
/// `out` and `util::stdout_err` instead.
macro_rules! stderr_line {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

#[path = "evident/check.rs"]
mod check;
#[path = "evident/checkpoint.rs"]
mod checkpoint;
#[path = "evident/compliance.rs"]
mod compliance;
#[path = "evident/demo.rs"]
mod demo;
#[path = "evident/extras.rs"]
mod extras;
#[path = "evident/follow.rs"]
mod follow;
#[path = "evident/measure.rs"]
mod measure;
#[path = "evident/multi.rs"]
mod multi;
#[path = "evident/openparallax.rs"]
mod openparallax;
#[path = "evident/output.rs"]
mod output;
#[path = "evident/read.rs"]
mod read;
#[path = "evident/report.rs"]
mod report;
#[path = "evident/session.rs"]
mod session;
#[cfg(feature = "postgres")]
#[path = "evident/ship.rs"]
mod ship;
#[path = "evident/timespec.rs"]
mod timespec;
#[path = "evident/tracekit.rs"]
mod tracekit;
#[path = "evident/util.rs"]
mod util;
#[path = "evident/write.rs"]
mod write;

use util::Failure;

const EXIT_HELP: &str = "\
Exit status:
  0  success (verify: the log is valid)
  1  the log failed a check: a violation, tampering, damage or a torn tail
  2  usage error, I/O error, a file that is not an evident log, missing or
     unreadable key file, log locked by a writer (a key that does not match
     the log, or none for a keyed log: 1 for verify, which reports it as a
     finding and still checks sequence numbers and links; 2 for commands
     that write to the log; ship checks links only, with a note)

Errors are printed as one line: `evident: <file>: <problem>`.
Try `evident demo` for a guided example.";

/// Tamper-evident, crash-safe, append-only audit logs.
///
/// Append entries from scripts, verify a log's hash chain, read, search,
/// summarise and export it, convert between the JSONL and binary framings,
/// and move a torn tail aside after a crash. Run `evident demo` to see it
/// catch a tampered log.
#[derive(Parser, Debug)]
#[command(name = "evident", version, after_help = EXIT_HELP, propagate_version = true)]
struct Cli {
    /// When to color the output: auto (when standard output is a terminal
    /// and NO_COLOR is not set), always, never.
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = output::ColorArg::Auto)]
    color: output::ColorArg,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Append one entry (from flags or a JSON object), or one per line of
    /// stdin with `--json -`; prints the new head as SEQ:HASH.
    Append(AppendArgs),
    /// Verify the whole hash chain; exit 0 valid, 1 violation, 2 error.
    ///
    /// Checks every record's hash, every link, the sequence numbers and the
    /// framing, streaming and on several threads. The first violation is
    /// printed (all with --all) with its kind, entry seq, line (JSONL) and
    /// byte offset. A torn tail (an incomplete last write after a crash) is
    /// reported as such, distinct from tampering; `evident repair` moves it
    /// aside. --expect-head with a head kept elsewhere detects entries
    /// removed from the end. Shows a progress bar on large logs when stderr
    /// is a terminal.
    Verify(VerifyArgs),
    /// Print entries (oldest first unless --newest-first), with filters.
    ///
    /// One line per entry, or one JSON object per entry with --json. Does
    /// not check hashes (use verify); says so on stderr (not with --json). A
    /// damaged record is reported on stderr with its position and skipped;
    /// the exit status is then 1.
    Cat(CatArgs),
    /// Print the last N entries in chronological order (reads from the end);
    /// with -f, keep printing new entries as the log grows.
    ///
    /// Does not check hashes (use verify); says so on stderr (not with
    /// --json).
    Tail(TailArgs),
    /// Print the last N entries, then new entries as the log grows (`tail
    /// -f`); survives rotation and a repair's move-aside, and resumes from
    /// --position-file or --from-seq. Of several logs, each line is
    /// labelled with its file (a `file` member under --json).
    #[command(
        mut_arg("log", |a| a.help("The log file (not standard input: follow reads a file)")),
        mut_arg("more", |a| a.help("More logs, followed together, each line labelled with its file (a `file` member under --json)")),
        mut_arg("follow", |a| a.hide(true)),
        mut_arg("from_seq", |a| a.help("Start at this seq (print it and every later entry) instead of the last N entries")),
        mut_arg("position_file", |a| a.help("Keep the position (log id and last seq seen) in FILE, and continue after it when FILE exists (a restart prints nothing twice and misses nothing)")),
        mut_arg("interval", |a| a.help("Seconds between checks of the file")),
    )]
    Follow(TailArgs),
    /// Print the head (SEQ:HASH, for an external checkpoint), entry count and log id.
    Head(HeadArgs),
    /// Summarise: entries, time span, counts by event type, action, actor, session.
    ///
    /// Does not check hashes (use verify); the summary says so.
    Stats(StatsArgs),
    /// Export entries as a JSON array, CSV or JSON lines.
    ///
    /// CSV columns: seq, ts, event_type, action, actor, host, session_id,
    /// source, success, duration_ms, error, note, git_commit, details (JSON
    /// text), prev, hash, otr. Does not check hashes (run verify first). A
    /// damaged record stops the export with exit 1; with -o no file is left.
    Export(ExportArgs),
    /// Convert a log to the other framing (same bodies and hashes, verified).
    ///
    /// Record bodies and hashes are copied, not recomputed, so the new log
    /// has the same log id, entries and head (an external head checkpoint
    /// stays valid). The source must verify: a log with a violation is
    /// refused, and so is a torn tail (run `evident repair` first); there is
    /// no way to force it, because damaged records cannot be carried over
    /// faithfully. DST must not exist; it is written to a temporary file,
    /// fsynced, verified against the source's head, and only then linked
    /// into place.
    Convert(ConvertArgs),
    /// Import an OpenParallax audit file (its own `audit.jsonl`) into a new
    /// evident log.
    ///
    /// The file's chain must verify by OpenParallax's rule (else the first
    /// bad line is named and nothing is written). Each OpenParallax entry
    /// becomes an evident entry (event type name, session, action, details,
    /// its time; its id, number, details text and hashes under
    /// details.openparallax), followed by an anchor entry
    /// (OPENPARALLAX_IMPORT) with the file's line count, size, SHA-256 and
    /// last hash. DST must not exist; it is written to a temporary file,
    /// fsynced, verified, then linked into place. SRC is only read.
    /// `evident verify` checks an OpenParallax file by its own rule.
    ImportOpenparallax(openparallax::ImportArgs),
    /// Move a torn tail (an interrupted write, of any size) aside into a
    /// sidecar file.
    ///
    /// The bytes are kept in `<LOG>.torn-<time>-at-<offset>`, never dropped.
    /// Damage is never repaired: it is evidence; repair then changes nothing
    /// and exits 1, unless `--force` is given for damage at the very end.
    /// Needs the writer's lock.
    Repair(RepairArgs),
    /// Write an example log, verify it, and show a tampered copy being caught.
    Demo(DemoArgs),
    /// Session files: info, versions, export, compact, verify.
    Session(session::SessionArgs),
    /// Reports: Markdown per day, week or tool, or one HTML file with charts
    /// and the verification result of each log; prints the files written.
    Report(report::ReportArgs),
    /// Write a script that re-runs the recorded operations in time order;
    /// exit 1 when a log given does not verify (the script is still
    /// written, from its entries as they are, and says so at its top).
    Reproduce(report::ReproduceArgs),
    /// Check a dataset (CSV or JSON lines) for personal data, per regulation
    /// (GDPR, CCPA, HIPAA); exit 0 no issues, 1 issues found.
    ComplianceCheck(compliance::ComplianceArgs),
    /// Measure traces of a session file: frequency, period, amplitude,
    /// rise_time, fall_time, duty_cycle, thd (read-only).
    Measure(measure::MeasureArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(extras::CompletionsArgs),
    /// Print the manual page (roff), or write one per command with --dir.
    Man(extras::ManArgs),
    /// Make an Ed25519 key pair for signing checkpoints (or, with
    /// --witness, for cosigning them): C2SP signed-note key formats.
    Keygen(checkpoint::KeygenArgs),
    /// Sign a checkpoint of the log (C2SP tlog-checkpoint: origin, number
    /// of records, Merkle root); kept in `<log>.checkpoints` too.
    Checkpoint(checkpoint::CheckpointArgs),
    /// Make an inclusion proof of an entry against a checkpoint, or a
    /// consistency proof between two checkpoints.
    Prove(checkpoint::ProveArgs),
    /// Check a proof from `evident prove` with the log's public key.
    ///
    /// The proof's checkpoint must have the origin you expect
    /// (spec/checkpoints.md rule 8a). An inclusion proof needs
    /// --log or --origin: --log LOG expects the origin of that log,
    /// `evident/<log id>`, and checks that the proven entry is the log's;
    /// --origin ORIGIN names the origin. A consistency proof's new
    /// checkpoint must have the origin of the --old checkpoint (and the
    /// one --origin or --log names, if given).
    VerifyProof(checkpoint::VerifyProofArgs),
    /// Cosign a checkpoint that extends the last one this witness cosigned
    /// (C2SP tlog-witness); refuses and keeps the evidence of a split view.
    Witness(checkpoint::WitnessArgs),
    /// Copy logs into PostgreSQL (resumable, idempotent; forks refused).
    ///
    /// Entries are keyed by (log id, seq) with their exact hashed bytes, so
    /// `evident verify postgres://…` checks the database copy with the same
    /// chain check as a file. Only what the database lacks is sent; a local
    /// log that does not continue the database's chain is refused and the
    /// refusal recorded. verify, cat, tail and stats accept the URL in
    /// place of a file (`?log_id=ID` for one log; cat/tail/stats take
    /// --host too).
    #[cfg(feature = "postgres")]
    #[command(mut_arg("key_file", |a| a.help(
        "HMAC key file of keyed logs: every record's hash is checked before it is shipped. Without it a keyed log is still shipped (a shipper need not hold the key) with its links and seqs checked, and a note on stderr says so. A regular file of at most 4 KiB: all hex digits is a hex key (at least 32 digits), otherwise its bytes are the key (at least 16)"
    )))]
    Ship(ship::ShipArgs),
}

impl Cmd {
    /// The audit log a command reads or writes, and the command's name.
    fn log(&self) -> Option<(&std::path::Path, &'static str)> {
        Some(match self {
            Cmd::Append(a) => (&a.log, "append"),
            Cmd::Verify(a) => (&a.log, "verify"),
            Cmd::Cat(a) => (&a.log, "cat"),
            Cmd::Tail(a) => (&a.log, "tail"),
            Cmd::Follow(a) => (&a.log, "follow"),
            Cmd::Head(a) => (&a.log, "head"),
            Cmd::Stats(a) => (&a.log, "stats"),
            Cmd::Export(a) => (&a.log, "export"),
            Cmd::Convert(a) => (&a.src, "convert"),
            Cmd::ImportOpenparallax(_) => return None,
            Cmd::Repair(a) => (&a.log, "repair"),
            Cmd::Checkpoint(a) => (&a.log, "checkpoint"),
            Cmd::Prove(a) => (&a.log, "prove"),
            Cmd::Demo(_) | Cmd::Session(_) | Cmd::Report(_) | Cmd::Reproduce(_) => return None,
            Cmd::Completions(_) | Cmd::Man(_) | Cmd::ComplianceCheck(_) => return None,
            Cmd::Measure(_) => return None,
            Cmd::Keygen(_) | Cmd::VerifyProof(_) | Cmd::Witness(_) => return None,
            #[cfg(feature = "postgres")]
            Cmd::Ship(_) => return None,
        })
    }
}

/// `--framing` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FramingArg {
    /// One JSON object per line.
    Jsonl,
    /// CRC-framed binary records.
    Binary,
}

impl FramingArg {
    fn framing(self) -> evident::Framing {
        match self {
            FramingArg::Jsonl => evident::Framing::Jsonl,
            FramingArg::Binary => evident::Framing::Binary,
        }
    }
}

/// `--durability` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DurabilityArg {
    /// fsync before each append returns.
    Sync,
    /// Group commit (one fsync shared by concurrent appends).
    Group,
    /// Buffered; made durable when the command ends.
    Buffered,
}

/// `export --format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// A JSON array of entries.
    Json,
    /// A header row, then one row per entry.
    Csv,
    /// One JSON object per line.
    Jsonl,
    /// TraceKit's `export_audit_log` JSON (needs --tracekit-key).
    TracekitJson,
    /// TraceKit's `export_audit_log` CSV (needs --tracekit-key).
    TracekitCsv,
}

/// The key file option shared by several subcommands.
#[derive(Args, Debug, Clone)]
pub struct KeyArg {
    /// HMAC key file of a keyed log: a regular file of at most 4 KiB. If its
    /// content (without surrounding whitespace) is all hex digits it is a hex
    /// key (an even number of digits, at least 32 = 16 bytes); otherwise its
    /// bytes are the key (at least 16).
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct AppendArgs {
    /// The log file (created if it does not exist).
    pub log: PathBuf,
    /// Category of the event (e.g. ACTION_EXECUTED).
    #[arg(long, value_name = "TYPE")]
    pub event_type: Option<String>,
    /// What was done (e.g. load_trace).
    #[arg(long)]
    pub action: Option<String>,
    /// Who did it (default: the OS user).
    #[arg(long, value_name = "USER")]
    pub actor: Option<String>,
    /// Where (default: this machine's host name).
    #[arg(long)]
    pub host: Option<String>,
    /// Session the event belongs to.
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,
    /// Originating component or tool.
    #[arg(long)]
    pub source: Option<String>,
    /// Free-form JSON details (e.g. '{"file":"ch1.bin"}').
    #[arg(long, value_name = "JSON", value_parser = util::parse_json)]
    pub details: Option<Value>,
    /// Free-text note.
    #[arg(long)]
    pub note: Option<String>,
    /// Outcome of the action.
    #[arg(long, value_name = "true|false")]
    pub success: Option<bool>,
    /// Duration of the action in milliseconds.
    #[arg(long, value_name = "MS")]
    pub duration_ms: Option<f64>,
    /// Error text of a failed action.
    #[arg(long, value_name = "TEXT")]
    pub error: Option<String>,
    /// Source revision the action ran from.
    #[arg(long, value_name = "REV")]
    pub git_commit: Option<String>,
    /// Mark the entry off-the-record.
    #[arg(long)]
    pub otr: bool,
    /// Explicit timestamp (RFC 3339), for imports; default now.
    #[arg(long, value_name = "TIME", value_parser = util::parse_ts)]
    pub ts: Option<DateTime<Utc>>,
    /// The entry as a JSON object (its fields override the flags above), or
    /// `-` to append one JSON object per line of standard input.
    #[arg(long, value_name = "OBJ|-")]
    pub json: Option<String>,
    #[command(flatten)]
    pub key: KeyArg,
    /// Create a new log in the binary framing (same as --framing binary).
    #[arg(long, conflicts_with = "framing")]
    pub binary: bool,
    /// Framing of a new log (default: binary for .evl/.bin, else jsonl); an
    /// existing log must have this framing.
    #[arg(long, value_enum)]
    pub framing: Option<FramingArg>,
    /// When an append is durable.
    #[arg(long, value_enum, default_value_t = DurabilityArg::Sync)]
    pub durability: DurabilityArg,
    /// Shared lock mode: several processes may append to the log at once.
    #[arg(long)]
    pub shared: bool,
    /// Seconds to wait for another writer's lock (default: 0 exclusive, 10 shared).
    #[arg(long, value_name = "SECONDS")]
    pub lock_timeout: Option<f64>,
}

#[derive(Args, Debug, Clone)]
pub struct VerifyArgs {
    /// The log file (`-`: standard input).
    pub log: PathBuf,
    /// More logs, each verified in turn (the exit status is the worst).
    #[arg(value_name = "LOG")]
    pub more: Vec<PathBuf>,
    #[command(flatten)]
    pub key: KeyArg,
    /// A head taken earlier (from `evident head`): the log must contain it.
    #[arg(long, value_name = "SEQ:HASH", value_parser = util::parse_head)]
    pub expect_head: Option<evident::ExpectedHead>,
    /// The log id the log must have.
    #[arg(long, value_name = "ID")]
    pub expect_log_id: Option<String>,
    /// Report every violation, not only the first.
    #[arg(long)]
    pub all: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Worker threads (default, and at most: all cores, up to 256).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,
    #[command(flatten)]
    pub cp: checkpoint::CheckpointVerifyArgs,
}

/// Query filters shared by cat, tail, stats and export.
#[derive(Args, Debug, Clone, Default)]
pub struct Filters {
    /// Only entries of this session.
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,
    /// Only entries of this event type.
    #[arg(long, value_name = "TYPE")]
    pub event_type: Option<String>,
    /// Only entries with this action.
    #[arg(long)]
    pub action: Option<String>,
    /// Only entries by this actor.
    #[arg(long, value_name = "USER")]
    pub actor: Option<String>,
    /// Only entries from this source.
    #[arg(long)]
    pub source: Option<String>,
    /// Only entries at or after this time: RFC 3339, a date (YYYY-MM-DD,
    /// UTC), a time before now (1h, 30m, 2d, "1h 30m") or today, yesterday.
    #[arg(long, value_name = "TIME", value_parser = timespec::parse_time)]
    pub since: Option<DateTime<Utc>>,
    /// Only entries before this time (the same forms as --since).
    #[arg(long, value_name = "TIME", value_parser = timespec::parse_time)]
    pub until: Option<DateTime<Utc>>,
    /// Only entries with seq >= N.
    #[arg(long, value_name = "N")]
    pub seq_min: Option<u64>,
    /// Only entries with seq <= N.
    #[arg(long, value_name = "N")]
    pub seq_max: Option<u64>,
    /// Only entries from this host (database URLs only).
    #[arg(long)]
    pub host: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct CatArgs {
    /// The log file (`-`: standard input).
    pub log: PathBuf,
    /// More logs, printed in turn.
    #[arg(value_name = "LOG")]
    pub more: Vec<PathBuf>,
    #[command(flatten)]
    pub filters: Filters,
    /// Newest entries first (reads backward from the end).
    #[arg(long)]
    pub newest_first: bool,
    /// At most N entries.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// One JSON object per entry.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct TailArgs {
    /// The log file (`-`: standard input, not with `-f`).
    pub log: PathBuf,
    /// More logs, each in turn; with `-f`, followed together, each line
    /// labelled with its file (a `file` member under --json).
    #[arg(value_name = "LOG")]
    pub more: Vec<PathBuf>,
    /// Number of entries.
    #[arg(short = 'n', long = "lines", value_name = "N", default_value_t = 10)]
    pub n: usize,
    #[command(flatten)]
    pub filters: Filters,
    /// One JSON object per entry.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub follow: follow::FollowOpts,
}

#[derive(Args, Debug)]
pub struct HeadArgs {
    /// The log file.
    pub log: PathBuf,
    #[command(flatten)]
    pub key: KeyArg,
    /// Read the head from the end of the file without verifying the chain
    /// (fast on huge logs, but the head is not checked).
    #[arg(long)]
    pub no_verify: bool,
    /// Print as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug, Clone)]
pub struct StatsArgs {
    /// The log file (`-`: standard input).
    pub log: PathBuf,
    /// More logs, each summarised in turn.
    #[arg(value_name = "LOG")]
    pub more: Vec<PathBuf>,
    #[command(flatten)]
    pub filters: Filters,
    /// Print as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The log file (`-`: standard input).
    pub log: PathBuf,
    /// More logs, exported in turn into the same output, each entry with
    /// the name of its file (a `file` member; CSV: a first `file` column).
    #[arg(value_name = "LOG")]
    pub more: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// Write to FILE (atomically; replaced if it exists) instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub filters: Filters,
    /// TraceKit formats: the HMAC key file of TraceKit's chain (hex when it
    /// is an even number of hex digits, else its bytes; any length).
    #[arg(long, value_name = "FILE")]
    pub tracekit_key: Option<PathBuf>,
    /// TraceKit formats: sha256 or sha512.
    #[arg(long, value_name = "ALG", default_value = "sha256")]
    pub tracekit_alg: String,
}

#[derive(Args, Debug)]
pub struct ConvertArgs {
    /// The log to convert (must verify; it is only read).
    pub src: PathBuf,
    /// The new log (must not exist).
    pub dst: PathBuf,
    /// Target framing (default: the other one).
    #[arg(long, value_enum)]
    pub to: Option<FramingArg>,
    #[command(flatten)]
    pub key: KeyArg,
    /// Worker threads for verification (default, and at most: all cores, up to 256).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,
}

#[derive(Args, Debug)]
pub struct RepairArgs {
    /// The log file.
    pub log: PathBuf,
    #[command(flatten)]
    pub key: KeyArg,
    /// Also move damage at the end of the log aside (a last record that
    /// fails its check or does not follow the one before it), after you
    /// have recorded it with `evident verify`. Every byte is kept in the
    /// sidecar file; damage before the end is still never touched.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Directory for the example files (default: a new temporary directory).
    pub dir: Option<PathBuf>,
}

fn run(cli: Cli, out: &mut dyn Write) -> Result<u8, Failure> {
    #[cfg(feature = "postgres")]
    if let Some(r) = ship::database_command(&cli.cmd, out) {
        return r;
    }
    multi::run(cli.cmd, out)
}

/// Runs one command on (at most) one log.
fn run_cmd(cmd: Cmd, out: &mut dyn Write) -> Result<u8, Failure> {
    if let Some(r) = openparallax::intercept(&cmd, out) {
        return r;
    }
    if let Some((path, name)) = cmd.log() {
        output::set_paths(vec![path.display().to_string()]);
        session::refuse_session_file(path, name)?;
        util::refuse_non_log(path)?;
    }
    match cmd {
        Cmd::Append(a) => write::append(a, out),
        Cmd::Verify(a) => checkpoint::verify(a, out),
        Cmd::Cat(a) => {
            let (log, json) = (a.log.clone(), a.json);
            let r = read::cat(a, out);
            read::note_unchecked(&log, json, &r);
            r
        }
        Cmd::Tail(a) if a.follow.follow => multi::follow_one(a, out),
        Cmd::Follow(mut a) => {
            a.follow.follow = true;
            multi::follow_one(a, out)
        }
        Cmd::Tail(a) => {
            follow::check_plain(&a.follow)?;
            let (log, json) = (a.log.clone(), a.json);
            let r = read::tail(a, out);
            read::note_unchecked(&log, json, &r);
            r
        }
        Cmd::Head(a) => read::head(a, out),
        Cmd::Stats(a) => read::stats(a, out),
        Cmd::Export(a) => read::export(a, out),
        Cmd::Convert(a) => write::convert(a, out),
        Cmd::ImportOpenparallax(a) => openparallax::import(a, out),
        Cmd::Repair(a) => write::repair(a, out),
        Cmd::Demo(a) => demo::demo(a, out),
        Cmd::Session(a) => session::run(a, out),
        Cmd::Report(a) => report::report(a, out),
        Cmd::Reproduce(a) => report::reproduce(a, out),
        Cmd::ComplianceCheck(a) => compliance::run(a, out),
        Cmd::Measure(a) => measure::run(a, out),
        Cmd::Completions(a) => extras::completions(a, out),
        Cmd::Man(a) => extras::man(a, out),
        Cmd::Keygen(a) => checkpoint::keygen(a, out),
        Cmd::Checkpoint(a) => checkpoint::checkpoint(a, out),
        Cmd::Prove(a) => checkpoint::prove(a, out),
        Cmd::VerifyProof(a) => checkpoint::verify_proof(a, out),
        Cmd::Witness(a) => checkpoint::witness(a, out),
        #[cfg(feature = "postgres")]
        Cmd::Ship(a) => ship::ship(a, out),
    }
}

/// A command line clap rejects: help and version go to stdout (exit 0);
/// every other problem is one line on stderr (exit 2): clap's message, its
/// tip if it has one, and where to find the usage.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    let text = e.render().to_string();
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let cmd = subcommand_path();
    let msg = match e.kind() {
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => {
            "a subcommand is required".to_string()
        }
        _ => {
            // The "error: " line and the lines that continue it (the missing
            // arguments, the possible values), up to the first blank line.
            let start = lines.iter().position(|l| l.starts_with("error: "));
            let mut parts: Vec<&str> = match start {
                Some(i) => lines[i..]
                    .iter()
                    .take_while(|l| !l.is_empty())
                    .copied()
                    .collect(),
                None => vec!["invalid command line"],
            };
            if let Some(first) = parts.first_mut() {
                *first = first.trim_start_matches("error: ");
            }
            let mut msg = parts.join(" ");
            if let Some(tip) = lines.iter().find_map(|l| l.strip_prefix("tip: ")) {
                msg = format!("{msg} ({tip})");
            }
            msg
        }
    };
    stderr_line!(
        "{}",
        output::usage_line(&format!("{msg} (see `{cmd} --help`)"))
    );
    ExitCode::from(util::EXIT_ERROR)
}

/// "evident", "evident verify", "evident session info": the (sub)commands
/// named on the command line, for the `--help` hint of a usage error.
fn subcommand_path() -> String {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    let mut path = vec!["evident".to_string()];
    // args_os: a file name that is not UTF-8 must not panic here.
    for arg in std::env::args_os().skip(1) {
        let Some(arg) = arg.to_str() else { continue };
        let Some(sub) = cmd.find_subcommand(arg).cloned() else {
            continue;
        };
        path.push(arg.to_string());
        cmd = sub;
    }
    path.join(" ")
}

fn main() -> ExitCode {
    // A panic is a bug; still, report it as one line, never a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        stderr_line!(
            "evident: internal error{at}: {} (this is a bug; please report it)",
            util::one_line(&msg)
        );
    }));
    output::set_json_errors(output::json_errors_from_args(
        &std::env::args_os().collect::<Vec<_>>(),
    ));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    output::init_color(cli.color);
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let r = run(cli, &mut out);
        match out.flush() {
            Err(e) if r.is_ok() => Err(util::stdout_err(e)),
            _ => r,
        }
    }));
    let code = match result {
        Ok(Ok(code)) => code,
        Ok(Err(f)) => {
            if !f.msg.is_empty() {
                stderr_line!("{}", output::failure_line(&f));
            }
            f.code
        }
        Err(_) => 2,
    };
    ExitCode::from(code)
}
