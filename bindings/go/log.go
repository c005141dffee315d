package evident

/*
#include "shim.h"
*/
import "C"

import (
	"bytes"
	"encoding/json"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"
)

// CreateMode says what Open does when the log does not exist, or exists.
type CreateMode int

const (
	// CreateIfMissing creates the log when it does not exist (the default).
	CreateIfMissing CreateMode = iota
	// OpenExisting fails (ErrIO) when the log does not exist.
	OpenExisting
	// CreateNew fails when the log already exists.
	CreateNew
)

// Options for Open. The zero value holds the library's defaults.
type Options struct {
	// Framing of a new log (FramingAuto: binary for .evl/.bin, else JSONL);
	// for an existing log a framing other than FramingAuto must match.
	Framing Framing
	// Key is the HMAC key (at least 16 bytes). It selects HMAC-SHA256 for a
	// new log unless Alg says otherwise; for an existing log it must match
	// the log's key id. The library keeps a copy.
	Key []byte
	// Alg is the hash algorithm of a new log; an existing log using
	// another one is refused (ErrInvalidArgument), as a framing is.
	Alg Alg
	// Durability (zero: Sync).
	Durability Durability
	// Lock is the lock mode (zero: Exclusive).
	Lock LockMode
	// LockTimeout is how long Open (and, in Shared mode, each append) waits
	// for the lock, rounded up to milliseconds. Zero keeps the library
	// default: no wait in Exclusive mode, 10 s in Shared mode.
	LockTimeout time.Duration
	// Create says whether a missing log is created (zero: CreateIfMissing).
	Create CreateMode
	// AdoptEmpty makes Open create the log in place of an existing EMPTY
	// file instead of refusing it ("file is empty: not an evident log"),
	// for systems that open their logs in append mode (a file made by
	// touch or os.CreateTemp). The empty file is replaced atomically, its
	// permission bits kept. The cost: a log truncated to zero bytes then
	// restarts as a new log instead of being refused, unless its lock file
	// records bytes made durable (then it is refused as truncated). Needs
	// CreateIfMissing.
	AdoptEmpty bool
	// Actor and Host are written for entries that name none (defaults: the
	// OS user and this machine's host name).
	Actor string
	Host  string
	// BufferSize is the in-memory buffer for Buffered durability, in bytes
	// (zero: the library default, 64 KiB).
	BufferSize int
	// CommitDelay (GroupCommit, at most 1 s): how long the goroutine about
	// to fsync waits first when other appenders wait too, so that more
	// entries share one fsync (like PostgreSQL's commit_delay).
	CommitDelay time.Duration
	// Checkpoint, when set, makes the writer sign checkpoints by itself
	// (see AutoCheckpoint). Needs the Exclusive lock mode.
	Checkpoint *AutoCheckpoint
}

// Entry is one log entry. Append writes the fields from EventType to
// Details (and Time when set); entries read back (Query, ReadEntries) have
// every field set.
type Entry struct {
	// Seq is the entry's sequence number (1 for the first entry). Read only.
	Seq uint64
	// Time is the entry's timestamp (UTC, microsecond precision). For
	// Append, zero means now; set it only to import entries with their
	// original time.
	Time time.Time
	// EventType is the category of the event (e.g. "ACTION_EXECUTED").
	EventType string
	// Action is what was done (e.g. "load_trace").
	Action string
	// Actor is who did it; for Append "" means the log's default actor.
	Actor string
	// Host is where; for Append "" means the log's default host.
	Host string
	// SessionID is the session the event belongs to.
	SessionID string
	// Source is the originating component or tool.
	Source string
	// OTR is the off-the-record flag.
	OTR bool
	// Success is the outcome of the action, nil when unknown.
	Success *bool
	// DurationMs is the duration in milliseconds, nil when unknown. It must
	// be finite.
	DurationMs *float64
	// Error is the error text of a failed action ("" = none).
	Error string
	// Note is a free-text note ("" = none).
	Note string
	// GitCommit is the source revision the action ran from ("" = none).
	GitCommit string
	// Details holds free-form data. For Append: nil means {} (no details;
	// json.RawMessage("null") or a typed nil pointer is stored as null), a
	// json.RawMessage is used as JSON text, anything else is encoded with
	// encoding/json (a string in it that is not valid UTF-8: ErrInvalidUTF8,
	// never replaced). Entries read back hold a json.RawMessage (see
	// DecodeDetails).
	Details any
	// Prev is the previous record's hash (hex). Read only.
	Prev string
	// Hash is this record's hash (hex). Read only.
	Hash string
}

// DecodeDetails decodes the entry's details into v with encoding/json.
func (e Entry) DecodeDetails(v any) error {
	raw, err := detailsJSON(e.Details)
	if err != nil {
		return err
	}
	if raw == nil {
		raw = []byte("{}")
	}
	return json.Unmarshal(raw, v)
}

// Ptr returns a pointer to v, for Entry.Success and Entry.DurationMs:
// Entry{Success: evident.Ptr(true)}.
func Ptr[T any](v T) *T { return &v }

// TornTail is a torn tail (the bytes of an interrupted write) that opening
// the log moved into a sidecar file.
type TornTail struct {
	// Offset in the log where the torn bytes started (the log now ends there).
	Offset uint64
	// Len is the number of bytes moved.
	Len uint64
	// Sidecar is the file that holds them.
	Sidecar string
}

// Recovery is what a Log handle found and repaired.
type Recovery struct {
	// Created reports whether Open created the log.
	Created bool
	// TornTails lists the torn tails moved aside (at Open, or in Shared mode
	// on a later append after another writer crashed).
	TornTails []TornTail
	// Truncated is set when Open found the log shorter than the length an
	// earlier writer had made durable: bytes were removed from its end
	// after they were synced, which no crash does (a truncation, or an
	// older copy put in its place). Open recovered as always; this is said
	// once (the lock file then records the new length).
	Truncated *Truncated
}

// Truncated is a log found cut below its durable length (Recovery.Truncated).
type Truncated struct {
	// DurableLen is the length an earlier writer had made durable.
	DurableLen uint64
	// Len is the log's length when it was opened.
	Len uint64
}

// Log is an open audit log. It is safe for concurrent use by several
// goroutines. Close it when done.
type Log struct {
	// mu guards h: calls hold the read lock while they use the handle,
	// Close takes the write lock, so the handle is never freed during a
	// call.
	mu sync.RWMutex
	h  *C.evident_log

	path    string
	logID   string
	keyID   string
	framing Framing
	alg     Alg
}

// Open opens the log at path, creating it when it does not exist (unless
// opts.Create says otherwise). Opening takes the lock, reads the genesis and
// recovers the tail: a torn last record is moved into a sidecar file (see
// Recovery); a last record that fails its hash check gives ErrCorrupt;
// another writer holding the lock gives ErrLocked, naming it.
func Open(path string, opts Options) (*Log, error) {
	var s cstrings
	defer s.wipe()
	if hasNUL(path) || hasNUL(opts.Actor) || hasNUL(opts.Host) {
		return nil, goError(StatusInvalidArgument, "evident: path, actor or host contains a NUL byte")
	}
	if opts.LockTimeout < 0 {
		return nil, goError(StatusInvalidArgument, "evident: LockTimeout must not be negative")
	}
	if opts.BufferSize < 0 {
		return nil, goError(StatusInvalidArgument, "evident: BufferSize must not be negative")
	}
	a := C.evgo_open_args{
		path:        s.add(path),
		actor:       s.addOpt(opts.Actor),
		host:        s.addOpt(opts.Host),
		cp_skey:     -1,
		key:         s.addBytes(opts.Key), // last: see Verify
		key_len:     C.size_t(len(opts.Key)),
		framing:     C.uint32_t(opts.Framing),
		alg:         C.uint32_t(opts.Alg),
		create_new:  C.bool(opts.Create == CreateNew),
		adopt_empty: C.bool(opts.AdoptEmpty),
	}
	if opts.Durability != 0 {
		a.set_durability, a.durability = true, C.uint32_t(opts.Durability)
	}
	if opts.Lock != 0 {
		a.set_lock_mode, a.lock_mode = true, C.uint32_t(opts.Lock)
	}
	if opts.LockTimeout != 0 {
		ms := (opts.LockTimeout + time.Millisecond - 1) / time.Millisecond
		a.set_lock_timeout, a.lock_timeout_ms = true, C.uint64_t(ms)
	}
	switch opts.Create {
	case CreateIfMissing, CreateNew:
	case OpenExisting:
		a.set_create, a.create = true, false
	default:
		return nil, goError(StatusInvalidArgument, "evident: unknown CreateMode")
	}
	if opts.CommitDelay < 0 || opts.CommitDelay > time.Second {
		return nil, goError(StatusInvalidArgument, "evident: CommitDelay must be 0..1s")
	}
	a.commit_delay_us = C.uint64_t(opts.CommitDelay / time.Microsecond)
	if opts.BufferSize != 0 {
		a.set_buffer_size, a.buffer_size = true, C.size_t(opts.BufferSize)
	}
	if err := opts.Checkpoint.apply(&s, &a); err != nil {
		return nil, err
	}
	var h *C.evident_log
	var info C.evgo_log_info
	var msg *C.char
	st := C.evgo_log_open(s.ptr(), &a, &h, &info, &msg)
	if err := statusError(st, msg); err != nil {
		return nil, err
	}
	l := &Log{
		h:       h,
		path:    goStringOpt(info.path),
		logID:   goStringOpt(info.log_id),
		keyID:   goStringOpt(info.key_id),
		framing: Framing(info.framing),
		alg:     Alg(info.alg),
	}
	runtime.SetFinalizer(l, (*Log).Close)
	return l, nil
}

// closedError is returned by calls on a Log after Close.
func (l *Log) closedError() error {
	return goError(StatusClosed, "evident: log "+l.path+" is closed")
}

// Append appends one entry and returns the new head (the entry's seq and
// hash). In the durable modes (Sync, GroupCommit) the entry is on disk when
// Append returns without error.
func (l *Log) Append(e Entry) (Head, error) {
	details, err := detailsJSON(e.Details)
	if err != nil {
		return Head{}, err
	}
	var ts string
	if !e.Time.IsZero() {
		ts = timeText(e.Time)
	}
	fields := [C.EVGO_EVENT_STRINGS]string{
		e.EventType, e.Action, e.Actor, e.Host, e.SessionID, e.Source,
		e.Error, e.Note, e.GitCommit, string(details), ts,
	}
	for _, f := range fields {
		if hasNUL(f) {
			// The C struct cannot carry U+0000; the JSON form can.
			return l.appendAsJSON(e, details, ts)
		}
	}
	var s cstrings
	var offs [C.EVGO_EVENT_STRINGS]C.int32_t
	// event_type .. source are always set ("" is their default anyway);
	// actor, host, error, note, git_commit, details, ts are NULL when empty.
	for i, f := range fields {
		switch i {
		case 0, 1, 4, 5:
			offs[i] = s.add(f)
		default:
			offs[i] = s.addOpt(f)
		}
	}
	ev := C.evident_event{otr: C.bool(e.OTR)}
	if e.Success != nil {
		ev.has_success, ev.success = true, C.bool(*e.Success)
	}
	if e.DurationMs != nil {
		ev.has_duration_ms, ev.duration_ms = true, C.double(*e.DurationMs)
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.h == nil {
		return Head{}, l.closedError()
	}
	var head C.evident_head
	var msg *C.char
	st := C.evgo_log_append(l.h, &ev, s.ptr(), &offs[0], &head, &msg)
	runtime.KeepAlive(l)
	runtime.KeepAlive(&s)
	if err := statusError(st, msg); err != nil {
		return Head{}, err
	}
	return headFromC(&head), nil
}

// appendAsJSON appends e through the JSON form of an event (for strings
// with U+0000, which C strings cannot hold).
func (l *Log) appendAsJSON(e Entry, details []byte, ts string) (Head, error) {
	b, err := eventJSON(e, details, ts)
	if err != nil {
		return Head{}, err
	}
	return l.AppendJSON(b)
}

// eventJSON is the JSON form of an event, on one line. encoding/json would
// replace invalid UTF-8 silently, so it is refused here like the C path
// does.
func eventJSON(e Entry, details []byte, ts string) ([]byte, error) {
	m := map[string]any{
		"event_type": e.EventType,
		"action":     e.Action,
		"session_id": e.SessionID,
		"source":     e.Source,
	}
	opt := map[string]string{"actor": e.Actor, "host": e.Host, "error": e.Error,
		"note": e.Note, "git_commit": e.GitCommit, "ts": ts}
	for k, v := range opt {
		if v != "" {
			m[k] = v
		}
	}
	for k, v := range m {
		if s, ok := v.(string); ok && !utf8.ValidString(s) {
			return nil, goError(StatusInvalidUTF8, "evident: field "+k+" is not valid UTF-8")
		}
	}
	if details != nil {
		m["details"] = json.RawMessage(details)
	}
	if e.OTR {
		m["otr"] = true
	}
	if e.Success != nil {
		m["success"] = *e.Success
	}
	if e.DurationMs != nil {
		m["duration_ms"] = *e.DurationMs
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Canonical JSON does not escape <, > and &: the details then reach the
	// library as written and need no second serialisation.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, goError(StatusInvalidArgument, "evident: "+err.Error())
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// AppendBatch appends several entries as one batch: one call into the
// library, one write and, in the durable modes, one fsync for all of them.
// It returns every entry's head, in order.
//
// All or nothing: an invalid entry gives an error naming it and nothing is
// written; without error in the durable modes every entry is on disk. A
// crash during the call may leave a prefix of the batch in the log (never
// reported as durable): check Head before retrying a failed batch.
func (l *Log) AppendBatch(entries []Entry) ([]Head, error) {
	var buf []byte
	for i, e := range entries {
		details, err := detailsJSON(e.Details)
		var b []byte
		if err == nil {
			var ts string
			if !e.Time.IsZero() {
				ts = e.Time.UTC().Format(time.RFC3339Nano)
			}
			b, err = eventJSON(e, details, ts)
		}
		if err != nil {
			if ee, ok := err.(*Error); ok {
				return nil, goError(ee.Status, "evident: entry "+strconv.Itoa(i)+" of the batch: "+
					strings.TrimPrefix(ee.Message, "evident: "))
			}
			return nil, err
		}
		buf = append(buf, b...)
		buf = append(buf, '\n')
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.h == nil {
		return nil, l.closedError()
	}
	if len(entries) == 0 {
		return nil, nil
	}
	heads := make([]C.evident_head, len(entries))
	var count C.size_t
	var msg *C.char
	st := C.evgo_log_append_jsonl(l.h, (*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)),
		&heads[0], C.size_t(len(heads)), &count, &msg)
	runtime.KeepAlive(l)
	runtime.KeepAlive(buf)
	if err := statusError(st, msg); err != nil {
		return nil, err
	}
	out := make([]Head, int(count))
	for i := range out {
		out[i] = headFromC(&heads[i])
	}
	return out, nil
}

// AppendJSON appends one entry given as a JSON object with the fields of an
// event: event_type, action, actor, host, session_id, source, otr, success,
// duration_ms, error, note, git_commit, details, ts (RFC 3339). Unknown
// fields and invalid JSON give ErrInvalidArgument.
func (l *Log) AppendJSON(event []byte) (Head, error) {
	var s cstrings
	if hasNUL(string(event)) {
		return Head{}, goError(StatusInvalidArgument, "evident: event JSON contains a raw NUL byte")
	}
	s.add(string(event))
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.h == nil {
		return Head{}, l.closedError()
	}
	var head C.evident_head
	var msg *C.char
	st := C.evgo_log_append_json(l.h, s.ptr(), &head, &msg)
	runtime.KeepAlive(l)
	runtime.KeepAlive(&s)
	if err := statusError(st, msg); err != nil {
		return Head{}, err
	}
	return headFromC(&head), nil
}

// Sync writes buffered entries and makes everything appended so far durable.
func (l *Log) Sync() error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.h == nil {
		return l.closedError()
	}
	var msg *C.char
	st := C.evgo_log_sync(l.h, &msg)
	runtime.KeepAlive(l)
	return statusError(st, msg)
}

// Head returns the current chain head, including entries buffered but not
// yet synced. In Shared mode it is the head this handle knows (as of its
// open or its last append): entries other processes appended since are not
// counted; Verify reads the file's.
func (l *Log) Head() (Head, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.h == nil {
		return Head{}, l.closedError()
	}
	var head C.evident_head
	var msg *C.char
	st := C.evgo_log_head(l.h, &head, &msg)
	runtime.KeepAlive(l)
	if err := statusError(st, msg); err != nil {
		return Head{}, err
	}
	return headFromC(&head), nil
}

// Recovery reports whether Open created the log and every torn tail this
// handle moved aside.
func (l *Log) Recovery() (Recovery, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.h == nil {
		return Recovery{}, l.closedError()
	}
	var rec *C.evident_recovery
	var created C.bool
	var n C.size_t
	var msg *C.char
	st := C.evgo_log_recovery(l.h, &rec, &created, &n, &msg)
	runtime.KeepAlive(l)
	if err := statusError(st, msg); err != nil {
		return Recovery{}, err
	}
	defer C.evident_recovery_free(rec)
	r := Recovery{Created: bool(created)}
	var durable, length C.uint64_t
	if C.evident_recovery_truncated(rec, &durable, &length) {
		r.Truncated = &Truncated{DurableLen: uint64(durable), Len: uint64(length)}
	}
	for i := C.size_t(0); i < n; i++ {
		var off, length C.uint64_t
		var sidecar *C.char
		st := C.evgo_recovery_torn_tail(rec, i, &off, &length, &sidecar, &msg)
		if err := statusError(st, msg); err != nil {
			return Recovery{}, err
		}
		r.TornTails = append(r.TornTails, TornTail{Offset: uint64(off), Len: uint64(length), Sidecar: goStringOpt(sidecar)})
	}
	return r, nil
}

// Close flushes, syncs, releases the lock and frees the handle. It waits
// for calls in flight on other goroutines; later calls return ErrClosed.
// Closing twice is fine (the second Close returns nil). The error is that of
// the final flush and sync.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.h == nil {
		return nil
	}
	runtime.SetFinalizer(l, nil)
	var msg *C.char
	st := C.evgo_log_close_free(l.h, &msg)
	l.h = nil
	return statusError(st, msg)
}

// Path returns the log's path as given to Open.
func (l *Log) Path() string { return l.path }

// LogID returns the log id from the genesis record (32 hex digits, random,
// chosen at creation).
func (l *Log) LogID() string { return l.logID }

// KeyID returns the key id from the genesis record (identifies the HMAC key
// without revealing it), "" for a keyless log.
func (l *Log) KeyID() string { return l.keyID }

// Framing returns the log's framing (JSONL or Binary).
func (l *Log) Framing() Framing { return l.framing }

// Alg returns the log's hash algorithm.
func (l *Log) Alg() Alg { return l.alg }

// detailsJSON turns Entry.Details into JSON text; nil for "no details".
func detailsJSON(d any) ([]byte, error) {
	switch v := d.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		if v == nil {
			return nil, nil
		}
		return v, nil
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, goError(StatusInvalidArgument, "evident: details: "+err.Error())
	}
	// encoding/json writes an invalid UTF-8 byte as \ufffd: refused, as
	// everywhere else in the package (the value is walked only when the
	// text holds that escape).
	if bytes.Contains(b, []byte(`\ufffd`)) {
		if err := checkValue("details", d); err != nil {
			return nil, err
		}
	}
	return b, nil
}
