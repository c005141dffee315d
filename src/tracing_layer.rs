//! A [`tracing`](https://docs.rs/tracing) layer that records events into an
//! evident log (cargo feature `tracing`), as the Python `logging` handler
//! and the Go `slog` handler do:
//!
//! ```no_run
//! use std::sync::Arc;
//! use tracing_subscriber::prelude::*;
//! let log = Arc::new(evident::Log::open("audit.jsonl", evident::OpenOptions::new())?);
//! tracing_subscriber::registry()
//!     .with(evident::tracing::EvidentLayer::new(log))
//!     .init();
//! tracing::info!(session_id = "s1", file = "scope.bin", "load_trace");
//! # Ok::<(), evident::Error>(())
//! ```
//!
//! Each event at or above the layer's level (default `INFO`) becomes one
//! entry: the level is the event type (`"INFO"`, `"WARN"`, `"ERROR"`, ...,
//! or [`EvidentLayer::event_type`]), the message the action (the event's
//! name when it has no message), and the fields the details, a JSON object.
//! Fields named like entry fields fill those instead, when their value has
//! the field's type: `session_id`, `actor`, `host`, `source`, `event_type`,
//! `note`, `git_commit` (strings), `error` (a string or an error), `success`,
//! `otr` (booleans), `duration_ms` (a number). The fields of the enclosing
//! spans fill entry fields the event leaves unset (innermost first); the
//! others are kept under `details.spans` (outermost first, each with its
//! `name`). The event's target is kept under `details.target`.
//!
//! A failed append cannot be returned through `tracing`: it is counted
//! ([`EvidentLayer::failures`]) and passed to [`EvidentLayer::on_error`].

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ::tracing::field::{Field, Visit};
use ::tracing::span::{Attributes, Id, Record};
use ::tracing::{Level, Subscriber};
use serde_json::{Map, Value};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use crate::{Error, Event, Log};

type EventTypeFn = Arc<dyn Fn(&Level) -> String + Send + Sync>;
type OnError = Arc<dyn Fn(&Error) + Send + Sync>;

/// Records `tracing` events into a [`Log`]; see the [module](self) docs.
#[derive(Clone)]
pub struct EvidentLayer {
    log: Arc<Log>,
    level: Level,
    event_type: Option<EventTypeFn>,
    source: Option<String>,
    with_target: bool,
    with_caller: bool,
    details_only: bool,
    on_error: Option<OnError>,
    failures: Arc<AtomicU64>,
}

impl fmt::Debug for EvidentLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EvidentLayer")
            .field("level", &self.level)
            .field("source", &self.source)
            .field("with_target", &self.with_target)
            .field("with_caller", &self.with_caller)
            .field("details_only", &self.details_only)
            .finish_non_exhaustive()
    }
}

impl EvidentLayer {
    /// A layer appending to `log`, recording `INFO` and above.
    pub fn new(log: Arc<Log>) -> EvidentLayer {
        EvidentLayer {
            log,
            level: Level::INFO,
            event_type: None,
            source: None,
            with_target: true,
            with_caller: false,
            details_only: false,
            on_error: None,
            failures: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The least severe level recorded (default `INFO`).
    pub fn level(mut self, level: Level) -> Self {
        self.level = level;
        self
    }

    /// Maps a level to the entry's event type (default: `"INFO"`, `"WARN"`,
    /// ...). A field `event_type` overrides it for one event.
    pub fn event_type(mut self, f: impl Fn(&Level) -> String + Send + Sync + 'static) -> Self {
        self.event_type = Some(Arc::new(f));
        self
    }

    /// The entry's source for events (and spans) that name none.
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Keep the event's target under `details.target` (default true).
    pub fn with_target(mut self, yes: bool) -> Self {
        self.with_target = yes;
        self
    }

    /// Keep the event's module, file and line under `details.caller`.
    pub fn with_caller(mut self, yes: bool) -> Self {
        self.with_caller = yes;
        self
    }

    /// Put every field in the details; no field fills an entry field.
    pub fn details_only(mut self, yes: bool) -> Self {
        self.details_only = yes;
        self
    }

    /// Called with the error of every failed append.
    pub fn on_error(mut self, f: impl Fn(&Error) + Send + Sync + 'static) -> Self {
        self.on_error = Some(Arc::new(f));
        self
    }

    /// How many appends failed so far (shared by the clones of this layer).
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Moves the fields named like entry fields from `fields` into `ev`
    /// (those `ev` does not have yet).
    fn fill(&self, ev: &mut Event, set: &mut Vec<&'static str>, fields: &mut Map<String, Value>) {
        if self.details_only {
            return;
        }
        let names = [
            "session_id",
            "actor",
            "host",
            "source",
            "event_type",
            "note",
            "git_commit",
            "error",
            "success",
            "otr",
            "duration_ms",
        ];
        for name in names {
            if set.contains(&name) {
                continue;
            }
            let Some(v) = fields.get(name) else { continue };
            let done = match (name, v) {
                ("session_id", Value::String(s)) => {
                    ev.session_id = s.clone();
                    true
                }
                ("actor", Value::String(s)) => {
                    ev.actor = Some(s.clone());
                    true
                }
                ("host", Value::String(s)) => {
                    ev.host = Some(s.clone());
                    true
                }
                ("source", Value::String(s)) => {
                    ev.source = s.clone();
                    true
                }
                ("event_type", Value::String(s)) => {
                    ev.event_type = s.clone();
                    true
                }
                ("note", Value::String(s)) => {
                    ev.note = Some(s.clone());
                    true
                }
                ("git_commit", Value::String(s)) => {
                    ev.git_commit = Some(s.clone());
                    true
                }
                ("error", Value::String(s)) => {
                    ev.error = Some(s.clone());
                    true
                }
                ("success", Value::Bool(b)) => {
                    ev.success = Some(*b);
                    true
                }
                ("otr", Value::Bool(b)) => {
                    ev.otr = *b;
                    true
                }
                ("duration_ms", Value::Number(n)) => {
                    ev.duration_ms = n.as_f64();
                    ev.duration_ms.is_some()
                }
                _ => false,
            };
            if done {
                fields.remove(name);
                set.push(name);
            }
        }
    }
}

/// The fields of a span, kept in its extensions.
struct SpanFields(Map<String, Value>);

/// Collects fields as JSON values; the `message` field apart.
#[derive(Default)]
struct Fields {
    map: Map<String, Value>,
    message: Option<String>,
}

impl Fields {
    fn put(&mut self, field: &Field, v: Value) {
        if field.name() == "message" {
            self.message = Some(match v {
                Value::String(s) => s,
                other => other.to_string(),
            });
        } else {
            self.map.insert(field.name().to_string(), v);
        }
    }
}

impl Visit for Fields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }
    fn record_i128(&mut self, field: &Field, value: i128) {
        let v = i64::try_from(value).map_or_else(|_| Value::from(value.to_string()), Value::from);
        self.put(field, v);
    }
    fn record_u128(&mut self, field: &Field, value: u128) {
        let v = u64::try_from(value).map_or_else(|_| Value::from(value.to_string()), Value::from);
        self.put(field, v);
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::from(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::from(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, Value::from(value.to_string()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, Value::from(format!("{value:?}")));
    }
}

impl<S> Layer<S> for EvidentLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut f = Fields::default();
        attrs.record(&mut f);
        if let Some(m) = f.message {
            f.map.insert("message".into(), Value::from(m));
        }
        span.extensions_mut().insert(SpanFields(f.map));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut f = Fields::default();
        values.record(&mut f);
        let mut ext = span.extensions_mut();
        if let Some(SpanFields(map)) = ext.get_mut::<SpanFields>() {
            map.extend(f.map);
        } else {
            ext.insert(SpanFields(f.map));
        }
    }

    fn on_event(&self, event: &::tracing::Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        // Levels compare by verbosity: TRACE is the greatest.
        if *meta.level() > self.level {
            return;
        }
        let mut f = Fields::default();
        event.record(&mut f);
        let event_type = match &self.event_type {
            Some(map) => map(meta.level()),
            None => meta.level().as_str().to_string(),
        };
        let action = f.message.take().unwrap_or_else(|| meta.name().to_string());
        let mut ev = Event::new(event_type, action);
        let mut set = Vec::new();
        self.fill(&mut ev, &mut set, &mut f.map);
        let mut details = f.map;
        // Spans, innermost first for the entry fields, outermost first in
        // the details.
        let mut spans = Vec::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope {
                let mut map = span
                    .extensions()
                    .get::<SpanFields>()
                    .map(|s| s.0.clone())
                    .unwrap_or_default();
                self.fill(&mut ev, &mut set, &mut map);
                let mut obj = Map::new();
                obj.insert("name".into(), Value::from(span.name()));
                obj.extend(map);
                spans.push(Value::Object(obj));
            }
        }
        if !spans.is_empty() {
            spans.reverse();
            details.insert("spans".into(), Value::Array(spans));
        }
        if ev.source.is_empty() {
            if let Some(s) = &self.source {
                ev.source = s.clone();
            }
        }
        if self.with_target {
            details.insert("target".into(), Value::from(meta.target()));
        }
        if self.with_caller {
            let mut c = Map::new();
            if let Some(m) = meta.module_path() {
                c.insert("module".into(), Value::from(m));
            }
            if let Some(file) = meta.file() {
                c.insert("file".into(), Value::from(file));
            }
            if let Some(line) = meta.line() {
                c.insert("line".into(), Value::from(line));
            }
            details.insert("caller".into(), Value::Object(c));
        }
        if !details.is_empty() {
            ev.details = Some(Value::Object(details));
        }
        if let Err(e) = self.log.append(&ev) {
            self.failures.fetch_add(1, Ordering::Relaxed);
            if let Some(f) = &self.on_error {
                f(&e);
            }
        }
    }
}
