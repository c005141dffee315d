package evident

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"
)

// SlogOptions configure the handler returned by NewSlogHandler. A nil
// *SlogOptions holds the defaults.
type SlogOptions struct {
	// Level is the minimum level recorded (nil: slog.LevelInfo).
	Level slog.Leveler
	// EventType maps a record's level to the entry's event type (nil: the
	// level's name, e.g. "INFO", "WARN", "ERROR", "INFO+2"). An attribute
	// "event_type" overrides it for one record.
	EventType func(slog.Level) string
	// Source is the entry's source for records that name none with an
	// attribute "source" ("" = none).
	Source string
	// AddSource adds the caller (function, file, line) to the details under
	// "caller", for records that have a program counter.
	AddSource bool
	// RecordTime also stores the record's own time (when not zero) in the
	// details under "time", RFC 3339. The entry's timestamp is always taken
	// by the library when it appends.
	RecordTime bool
	// DetailsOnly puts every attribute in the details; by default the
	// top-level attributes named like entry fields fill those fields (see
	// NewSlogHandler).
	DetailsOnly bool
	// OnError is called with the error of every failed append. slog.Logger
	// ignores the error a handler returns, so without OnError a failure to
	// write an audit record goes unnoticed. The one exception: a handle used
	// from another process than the one that opened it (ErrForked, possible
	// only when C code forks without exec) makes the handler panic after
	// calling OnError.
	OnError func(error)
}

// NewSlogHandler returns a slog.Handler that appends every record it
// handles to l as one entry:
//
//	logger := slog.New(evident.NewSlogHandler(l, nil))
//	logger.Info("load_trace", "session_id", sid, "file", "scope.bin")
//
// The level becomes the event type (SlogOptions.EventType), the message the
// action, and the attributes and groups the details, a JSON object (values
// are encoded like slog.JSONHandler does: durations as integer
// nanoseconds, times as RFC 3339 strings, errors as their text, other
// values with encoding/json or, failing that, fmt). Top-level attributes
// (outside any group) with these keys fill the entry's fields instead,
// when their value has the field's type:
//
//	session_id, actor, host, source, event_type, note, git_commit: string
//	error: an error or a string
//	success, otr: bool
//	duration_ms: a number, or a time.Duration (converted to milliseconds)
//
// The handler is safe for concurrent use, like the Log. Its Handle returns
// the append's error; see SlogOptions.OnError.
func NewSlogHandler(l *Log, opts *SlogOptions) slog.Handler {
	h := &slogHandler{log: l}
	if opts != nil {
		h.opts = *opts
	}
	return h
}

type slogHandler struct {
	log    *Log
	opts   SlogOptions
	fields Entry          // fields set by WithAttrs outside any group
	goas   []groupOrAttrs // WithGroup / WithAttrs calls, in order
}

// groupOrAttrs is one WithGroup (group != "") or WithAttrs call.
type groupOrAttrs struct {
	group string
	attrs []slog.Attr
}

func (h *slogHandler) Enabled(_ context.Context, level slog.Level) bool {
	min := slog.LevelInfo
	if h.opts.Level != nil {
		min = h.opts.Level.Level()
	}
	return level >= min
}

func (h *slogHandler) inGroup() bool {
	for _, g := range h.goas {
		if g.group != "" {
			return true
		}
	}
	return false
}

func (h *slogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	h2 := *h
	h2.goas = slices.Clip(h.goas)
	var rest []slog.Attr
	for _, a := range attrs {
		a.Value = a.Value.Resolve()
		if !h.inGroup() && h2.setField(&h2.fields, a) {
			continue
		}
		rest = append(rest, a)
	}
	if len(rest) > 0 {
		h2.goas = append(h2.goas, groupOrAttrs{attrs: rest})
	}
	return &h2
}

func (h *slogHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.goas = append(slices.Clip(h.goas), groupOrAttrs{group: name})
	return &h2
}

func (h *slogHandler) Handle(_ context.Context, r slog.Record) error {
	e := h.fields
	e.Action = r.Message
	if e.EventType == "" {
		if h.opts.EventType != nil {
			e.EventType = h.opts.EventType(r.Level)
		} else {
			e.EventType = r.Level.String()
		}
	}
	if e.Source == "" {
		e.Source = h.opts.Source
	}
	details := map[string]any{}
	if h.opts.RecordTime && !r.Time.IsZero() {
		details[slog.TimeKey] = r.Time.Format(time.RFC3339Nano)
	}
	if h.opts.AddSource && r.PC != 0 {
		f, _ := runtime.CallersFrames([]uintptr{r.PC}).Next()
		details["caller"] = map[string]any{"function": f.Function, "file": f.File, "line": f.Line}
	}
	var path []string
	for _, g := range h.goas {
		if g.group != "" {
			path = append(path, g.group)
			continue
		}
		for _, a := range g.attrs {
			addAttr(details, path, a)
		}
	}
	top := len(path) == 0
	var fromRecord Entry
	r.Attrs(func(a slog.Attr) bool {
		if top {
			a.Value = a.Value.Resolve()
			if h.setField(&fromRecord, a) {
				return true
			}
		}
		addAttr(details, path, a)
		return true
	})
	mergeFields(&e, &fromRecord)
	if len(details) > 0 {
		// Encoded here, without reflection (the values are the few types
		// jsonValue makes); anything else goes through encoding/json.
		if b, ok := appendDetails(make([]byte, 0, 256), details); ok {
			e.Details = json.RawMessage(b)
		} else {
			e.Details = details
		}
	}
	_, err := h.log.Append(e)
	return h.failed(err)
}

// failed reports a failed append to OnError. A handle used from another
// process than the one that opened it (ErrForked) is a program error that
// would otherwise lose every later record silently: the handler panics.
func (h *slogHandler) failed(err error) error {
	if err != nil && h.opts.OnError != nil {
		h.opts.OnError(err)
	}
	if errors.Is(err, ErrForked) {
		panic(fmt.Sprintf("evident slog handler: %v", err))
	}
	return err
}

// setField stores a well-known top-level attribute in e; false when a is
// not one (or has another type), and then belongs in the details.
func (h *slogHandler) setField(e *Entry, a slog.Attr) bool {
	if h.opts.DetailsOnly {
		return false
	}
	v := a.Value
	str := func(dst *string) bool {
		if v.Kind() != slog.KindString {
			return false
		}
		*dst = v.String()
		return true
	}
	switch a.Key {
	case "session_id":
		return str(&e.SessionID)
	case "actor":
		return str(&e.Actor)
	case "host":
		return str(&e.Host)
	case "source":
		return str(&e.Source)
	case "event_type":
		return str(&e.EventType)
	case "note":
		return str(&e.Note)
	case "git_commit":
		return str(&e.GitCommit)
	case "error":
		if err, ok := v.Any().(error); ok && v.Kind() == slog.KindAny && err != nil {
			e.Error = err.Error()
			return true
		}
		return str(&e.Error)
	case "success":
		if v.Kind() == slog.KindBool {
			e.Success = Ptr(v.Bool())
			return true
		}
	case "otr":
		if v.Kind() == slog.KindBool {
			e.OTR = v.Bool()
			return true
		}
	case "duration_ms":
		var ms float64
		switch v.Kind() {
		case slog.KindFloat64:
			ms = v.Float64()
		case slog.KindInt64:
			ms = float64(v.Int64())
		case slog.KindUint64:
			ms = float64(v.Uint64())
		case slog.KindDuration:
			ms = float64(v.Duration()) / float64(time.Millisecond)
		default:
			return false
		}
		if math.IsNaN(ms) || math.IsInf(ms, 0) {
			return false
		}
		e.DurationMs = Ptr(ms)
		return true
	}
	return false
}

// mergeFields copies the fields set in src (a record's attributes) over dst
// (the handler's).
func mergeFields(dst, src *Entry) {
	for _, p := range []struct{ d, s *string }{
		{&dst.SessionID, &src.SessionID}, {&dst.Actor, &src.Actor}, {&dst.Host, &src.Host},
		{&dst.Source, &src.Source}, {&dst.EventType, &src.EventType}, {&dst.Note, &src.Note},
		{&dst.GitCommit, &src.GitCommit}, {&dst.Error, &src.Error},
	} {
		if *p.s != "" {
			*p.d = *p.s
		}
	}
	if src.Success != nil {
		dst.Success = src.Success
	}
	if src.DurationMs != nil {
		dst.DurationMs = src.DurationMs
	}
	if src.OTR {
		dst.OTR = true
	}
}

// addAttr adds a to the details object root under the group path, creating
// the groups' objects only when something is added to them.
func addAttr(root map[string]any, path []string, a slog.Attr) {
	v := a.Value.Resolve()
	if a.Key == "" {
		if v.Kind() == slog.KindGroup {
			for _, ga := range v.Group() {
				addAttr(root, path, ga)
			}
			return
		}
		if v.Any() == nil {
			return // an empty Attr
		}
	}
	jv, ok := jsonValue(v)
	if !ok {
		return
	}
	m := root
	for _, g := range path {
		sub, ok := m[g].(map[string]any)
		if !ok {
			sub = map[string]any{}
			m[g] = sub
		}
		m = sub
	}
	m[a.Key] = jv
}

// jsonValue converts a resolved slog.Value into a value encoding/json
// encodes without failing; false for an empty group.
func jsonValue(v slog.Value) (any, bool) {
	switch v.Kind() {
	case slog.KindGroup:
		m := map[string]any{}
		for _, a := range v.Group() {
			addAttr(m, nil, a)
		}
		return m, len(m) > 0
	case slog.KindString:
		return v.String(), true
	case slog.KindInt64:
		return v.Int64(), true
	case slog.KindUint64:
		return v.Uint64(), true
	case slog.KindBool:
		return v.Bool(), true
	case slog.KindFloat64:
		f := v.Float64()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Sprint(f), true // JSON has no NaN or infinity
		}
		return f, true
	case slog.KindDuration:
		return int64(v.Duration()), true
	case slog.KindTime:
		return v.Time().Format(time.RFC3339Nano), true
	}
	x := v.Any()
	if _, ok := x.(json.Marshaler); !ok {
		if err, ok := x.(error); ok {
			return err.Error(), true
		}
	}
	b, err := json.Marshal(x)
	if err != nil {
		return fmt.Sprintf("%+v", x), true
	}
	return json.RawMessage(b), true
}

// appendDetails appends the JSON object of a details map built by the
// handler: the same text as json.Marshal(m) (keys sorted, HTML characters
// escaped), without reflection. The values are the types jsonValue and
// Handle produce; false for any other (the caller then uses encoding/json).
func appendDetails(b []byte, m map[string]any) ([]byte, bool) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		var ok bool
		if b, ok = appendJSONValue(b, m[k]); !ok {
			return nil, false
		}
	}
	return append(b, '}'), true
}

func appendJSONValue(b []byte, v any) ([]byte, bool) {
	switch x := v.(type) {
	case string:
		return appendJSONString(b, x), true
	case int64:
		return strconv.AppendInt(b, x, 10), true
	case int:
		return strconv.AppendInt(b, int64(x), 10), true
	case uint64:
		return strconv.AppendUint(b, x, 10), true
	case bool:
		return strconv.AppendBool(b, x), true
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, false
		}
		// As encoding/json writes a float64 (floatEncoder).
		f := byte('f')
		if a := math.Abs(x); a != 0 && (a < 1e-6 || a >= 1e21) {
			f = 'e'
		}
		b = strconv.AppendFloat(b, x, f, -1, 64)
		if f == 'e' {
			// e-09 to e-9
			if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
				b[n-2] = b[n-1]
				b = b[:n-1]
			}
		}
		return b, true
	case json.RawMessage:
		// From json.Marshal (jsonValue): valid, compact JSON.
		if !json.Valid(x) {
			return nil, false
		}
		return append(b, x...), true
	case map[string]any:
		return appendDetails(b, x)
	}
	return nil, false
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string exactly as encoding/json
// does (Go 1.22 and later): quotes, backslashes, control characters, <, >,
// &, U+2028 and U+2029 escaped, invalid UTF-8 replaced by U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
