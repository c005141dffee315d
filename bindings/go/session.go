package evident

/*
#include "shim.h"
*/
import "C"

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// The session container (README.md): the library's logic; this file only converts values.

// DType is the sample type of a trace (the C ABI's evident_dtype), little-endian.
type DType uint32

// The sample types: DTypeBool is one byte (0 or 1) per sample, DTypeBit
// packed bits, least significant bit first, ceil(len/8) bytes.
const (
	DTypeF64  DType = C.EVIDENT_DTYPE_F64
	DTypeF32  DType = C.EVIDENT_DTYPE_F32
	DTypeI8   DType = C.EVIDENT_DTYPE_I8
	DTypeI16  DType = C.EVIDENT_DTYPE_I16
	DTypeI32  DType = C.EVIDENT_DTYPE_I32
	DTypeI64  DType = C.EVIDENT_DTYPE_I64
	DTypeU8   DType = C.EVIDENT_DTYPE_U8
	DTypeU16  DType = C.EVIDENT_DTYPE_U16
	DTypeU32  DType = C.EVIDENT_DTYPE_U32
	DTypeU64  DType = C.EVIDENT_DTYPE_U64
	DTypeBool DType = C.EVIDENT_DTYPE_BOOL
	DTypeBit  DType = C.EVIDENT_DTYPE_BIT
)

// String returns the dtype's name in the file format ("f64", ..., "bit").
func (d DType) String() string {
	if n := C.evident_dtype_name(C.uint32_t(d)); n != nil {
		return C.GoString(n)
	}
	return "DType(" + strconv.FormatUint(uint64(d), 10) + ")"
}

// ParseDType returns the dtype named n or by an alias ("float64", "double", ...).
func ParseDType(n string) (DType, bool) {
	if checkString("dtype", n) != nil {
		return 0, false
	}
	var code C.uint32_t
	err := callC(func(msg **C.char) C.evident_status { return C.evgo_dtype_from_name(cstr(n), &code, msg) })
	return DType(code), err == nil
}

// TraceInfo describes a trace's samples.
type TraceInfo struct {
	SampleRate float64        `json:"sample_rate"` // Hz, > 0 (0 in AddTrace: 1 Hz)
	StartTime  float64        `json:"start_time"`  // of the first sample, in seconds
	Units      string         `json:"units"`       // "" when unknown
	Metadata   map[string]any `json:"metadata"`
}

// AnnotationType is the type of an annotation.
type AnnotationType string

// The annotation types.
const (
	AnnotationPoint      AnnotationType = "point"      // at Time
	AnnotationRange      AnnotationType = "range"      // over TimeRange
	AnnotationVertical   AnnotationType = "vertical"   // a vertical line at Time
	AnnotationHorizontal AnnotationType = "horizontal" // a horizontal line at Amplitude
	AnnotationRegion     AnnotationType = "region"     // TimeRange and AmplitudeRange
	AnnotationText       AnnotationType = "text"       // free-floating text
)

// Annotation marks a point or region of interest; zero fields take the library's defaults.
type Annotation struct {
	Text           string         `json:"text"`
	Type           AnnotationType `json:"type"`
	Time           *float64       `json:"time"`
	TimeRange      *[2]float64    `json:"time_range"`
	Amplitude      *float64       `json:"amplitude"`
	AmplitudeRange *[2]float64    `json:"amplitude_range"`
	Color          string         `json:"color"` // "" = none
	Style          string         `json:"style"` // "solid", "dashed", "dotted", ...
	Visible        *bool          `json:"visible"`
	CreatedAt      time.Time      `json:"created_at"`
	Metadata       map[string]any `json:"metadata"`
}

// LayerAnnotation is an annotation with the name of its layer.
type LayerAnnotation struct {
	Layer      string     `json:"layer"`
	Annotation Annotation `json:"annotation"`
}

// Layer is an annotation layer with its annotations.
type Layer struct {
	Name        string       `json:"name"`
	Visible     bool         `json:"visible"`
	Locked      bool         `json:"locked"`
	Color       string       `json:"color"` // "" = none
	Description string       `json:"description"`
	Annotations []Annotation `json:"annotations"`
}

// LayerProps creates or changes a layer: nil fields keep their value, Color "" removes the colour.
type LayerProps struct {
	Name        string  `json:"name"`
	Visible     *bool   `json:"visible,omitempty"`
	Locked      *bool   `json:"locked,omitempty"`
	Color       *string `json:"color,omitempty"`
	Description *string `json:"description,omitempty"`
}

// Measurement is a recorded measurement result.
type Measurement struct {
	Name       string         `json:"name"`  // required, e.g. "rise_time"
	Value      any            `json:"value"` // any value encoding/json encodes
	Unit       string         `json:"unit"`
	TraceName  string         `json:"trace_name"` // "" = none
	Metadata   map[string]any `json:"metadata"`
	RecordedAt time.Time      `json:"recorded_at"` // zero means now
}

// HistoryEntry is one operation of the session's history.
type HistoryEntry struct {
	Operation      string         `json:"operation"` // required: the function called
	Parameters     map[string]any `json:"parameters"`
	ParameterOrder []string       `json:"parameter_order"` // Parameters' names in order; unlisted ones follow sorted
	Result         any            `json:"result"`
	Timestamp      time.Time      `json:"timestamp"` // zero means now
	DurationMs     float64        `json:"duration_ms"`
	Success        *bool          `json:"success"` // nil means true
	ErrorMessage   string         `json:"error_message"`
	Metadata       map[string]any `json:"metadata"`
}

// SessionInfo is what a session says about itself (Info).
type SessionInfo struct {
	Name         string    `json:"name"`
	CreatedAt    time.Time `json:"created_at"`
	ModifiedAt   time.Time `json:"modified_at"`
	Path         string    `json:"path"`    // loaded from or last saved to ("" for a new session)
	Version      uint64    `json:"version"` // loaded or last saved (0 for a new session)
	Commit       string    `json:"commit"`  // hash of its commit record, hex
	Traces       int       `json:"traces"`
	Layers       int       `json:"layers"`
	Annotations  int       `json:"annotations"`
	Measurements int       `json:"measurements"`
	History      int       `json:"history"`
	HistoryLimit int       `json:"history_limit"`       // 0 = unlimited
	AutoRecord   bool      `json:"history_auto_record"` // TraceKit's history.auto_record, saved with the session
}

// SaveOptions for Save; the zero value (or nil) saves uncompressed, with fsync (README.md).
type SaveOptions struct {
	Compress      int           `json:"compress"`        // zstd level of the traces written (0 = none)
	ExcludeTraces bool          `json:"exclude_traces"`  // save everything except trace samples
	Key           []byte        `json:"-"`               // HMAC key: for a new file, or the file's key
	NoSync        bool          `json:"no_sync"`         // skip the fsyncs (README.md: what a power cut may lose)
	LockTimeout   time.Duration `json:"lock_timeout_ns"` // for another process's save (0 = library default, 10 s)
	AuditLog      *Log          `json:"-"`               // receives an entry naming the saved version
	AdoptEmpty    bool          `json:"adopt_empty"`     // save into an existing empty file (os.CreateTemp) instead of refusing it
}

// SaveInfo is the result of Save.
type SaveInfo struct {
	Path               string `json:"path"`
	Version            uint64 `json:"version"`
	Commit             string `json:"commit"`               // lowercase hex
	BytesWritten       uint64 `json:"bytes_written"`        // appended to the file
	TracesWritten      int    `json:"traces_written"`       // traces whose samples this save wrote
	TracesReused       int    `json:"traces_reused"`        // traces already in the file
	SampleBytesWritten uint64 `json:"sample_bytes_written"` // part of BytesWritten
}

// VersionInfo describes one saved version of a session file.
type VersionInfo struct {
	Version       uint64         `json:"version"`
	Commit        string         `json:"commit"`
	TS            time.Time      `json:"ts"`   // when it was saved
	Name          string         `json:"name"` // the session's name in it
	Traces        int            `json:"traces"`
	Layers        int            `json:"layers"`
	Annotations   int            `json:"annotations"`
	Measurements  int            `json:"measurements"`
	History       int            `json:"history"`
	TraceBytes    uint64         `json:"trace_bytes"`    // size of its samples
	Offset        uint64         `json:"offset"`         // of its commit record
	CompactedFrom *CompactedFrom `json:"compacted_from"` // first version of a compacted file
}

// CompactedFrom names the version a compacted file was made from.
type CompactedFrom struct {
	Version uint64 `json:"version"`
	Commit  string `json:"commit"`
}

// CompactInfo is the result of CompactSession: the version kept (new commit) and the file's sizes.
type CompactInfo struct {
	Version     uint64 `json:"version"`
	Commit      string `json:"commit"`
	BytesBefore uint64 `json:"bytes_before"`
	BytesAfter  uint64 `json:"bytes_after"`
}

// SessionReport is the result of VerifySession.
type SessionReport struct {
	Path string `json:"path"`
	// OK: nothing is damaged, every version loads and every sample hash
	// matches (a torn tail alone does not make it false).
	OK                 bool             `json:"ok"`
	Versions           int              `json:"versions"`        // complete versions
	Problems           []string         `json:"problems"`        // one line each, naming the offset
	ProblemDetails     []SessionProblem `json:"problem_details"` // the same, structured
	TornTailAt         *uint64          `json:"torn_tail_at"`    // an incomplete save at the end
	HeadVersion        uint64           `json:"head_version"`    // the newest version (0 if none)
	HeadCommit         string           `json:"head_commit"`
	IncompleteVersions []uint64         `json:"incomplete_versions"` // saved without sync, lost in a power cut
	Records            uint64           `json:"records"`
	DataFrames         uint64           `json:"data_frames"`
	Bytes              uint64           `json:"bytes"`
	SampleBytesChecked uint64           `json:"sample_bytes_checked"`
}

// SessionProblem is one problem found by VerifySession (Seq nil when the record has none).
type SessionProblem struct {
	Offset  uint64  `json:"offset"`
	Seq     *uint64 `json:"seq"`
	Message string  `json:"message"`
}

// LoadSessionOptions for LoadSession; nil means keyless, newest version.
type LoadSessionOptions struct {
	Key     []byte // the file's HMAC key (nil for a keyless file)
	Version uint64 // 0 = the newest complete one
}

// Session is an analysis session saved to a crash-safe, versioned file; safe for concurrent use.
type Session struct {
	// mu guards h: reads hold the read lock, changes the write lock.
	mu sync.RWMutex
	h  *C.evident_session
	// gen counts changes; info is the decoded Info of the generation it
	// names, reused until the session changes.
	gen  atomic.Uint64
	info atomic.Pointer[sessionInfoAt]
}

type sessionInfoAt struct {
	gen  uint64
	info SessionInfo
}

// with runs f on the handle, write-locked for a change (staling Info) or read-locked.
func (s *Session) with(write bool, f func(h *C.evident_session) error) error {
	if write {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.gen.Add(1)
	} else {
		s.mu.RLock()
		defer s.mu.RUnlock()
	}
	if s.h == nil {
		return goError(StatusClosed, "evident: session is closed")
	}
	defer runtime.KeepAlive(s)
	return f(s.h)
}

// text is with for one shim call returning a string.
func (s *Session) text(write bool, f func(h *C.evident_session, out, msg **C.char) C.evident_status) (text string, err error) {
	err = s.with(write, func(h *C.evident_session) (err error) {
		text, err = textC(func(out, msg **C.char) C.evident_status { return f(h, out, msg) })
		return err
	})
	return text, err
}

// do runs op on args (evident_session_change_json or _get_json) and decodes the result into out.
func (s *Session) do(write bool, op string, out any, args ...any) error {
	if err := checkValue(op, args); err != nil {
		return err
	}
	js, err := encodeJSON(args)
	if err != nil {
		return err
	}
	text, err := s.text(write, func(h *C.evident_session, o, msg **C.char) C.evident_status {
		return C.evgo_session_call(h, C.bool(write), cstr(op), cstr(string(js)), o, msg)
	})
	if err == nil && out != nil {
		err = decodeJSON(text, out)
	}
	return err
}

// getAs returns the result of the read-only operation op decoded into v (zero T on error).
func getAs[T any](s *Session, op string, v T, args ...any) (T, error) {
	if err := s.do(false, op, &v, args...); err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

// args encodes the struct v for a C call, its Go zero values unset by the library's rule.
func args(what string, v any) (string, error) {
	if err := checkValue(what, v); err != nil {
		return "", err
	}
	b, err := encodeJSON(v)
	if err != nil {
		return "", err
	}
	return textC(func(out, msg **C.char) C.evident_status { return C.evgo_args_from_go(cstr(string(b)), out, msg) })
}

func newSession(f func(out **C.evident_session, msg **C.char) C.evident_status) (*Session, error) {
	var h *C.evident_session
	if err := callC(func(msg **C.char) C.evident_status { return f(&h, msg) }); err != nil {
		return nil, err
	}
	s := &Session{h: h}
	runtime.SetFinalizer(s, (*Session).Close)
	return s, nil
}

// NewSession returns a new, empty session named name.
func NewSession(name string) (*Session, error) {
	if err := checkString("session name", name); err != nil {
		return nil, err
	}
	return newSession(func(out **C.evident_session, msg **C.char) C.evident_status {
		return C.evgo_session_new(cstr(name), out, msg)
	})
}

// LoadSession loads the newest complete version (or opts.Version) of the session file at path.
func LoadSession(path string, opts *LoadSessionOptions) (*Session, error) {
	o := deref(opts)
	if hasNUL(path) {
		return nil, nulPath()
	}
	return newSession(func(out **C.evident_session, msg **C.char) C.evident_status {
		return C.evgo_session_load(cstr(path), (*C.uint8_t)(unsafe.SliceData(o.Key)), C.size_t(len(o.Key)), C.uint64_t(o.Version), out, msg)
	})
}

// Close frees the session (its Traces stay valid); closing twice is fine.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.h != nil {
		runtime.SetFinalizer(s, nil)
		s.gen.Add(1)
		C.evident_session_free(s.h)
		s.h = nil
	}
	return nil
}

// Info returns the session's name, times, file, version and counts (cached until a change).
func (s *Session) Info() (SessionInfo, error) {
	// A change after reading gen leaves the cache under an old generation.
	gen := s.gen.Load()
	if c := s.info.Load(); c != nil && c.gen == gen {
		return c.info, nil
	}
	info, err := getAs(s, "info", SessionInfo{})
	if err == nil {
		s.info.Store(&sessionInfoAt{gen, info})
	}
	return info, err
}

// Name returns the session's name ("" after Close).
func (s *Session) Name() string {
	info, _ := s.Info()
	return info.Name
}

// SetName renames the session.
func (s *Session) SetName(name string) error { return s.do(true, "set_name", nil, name) }

// Metadata returns the session's metadata (never nil).
func (s *Session) Metadata() (map[string]any, error) { return getAs(s, "metadata", map[string]any{}) }

// SetMetadata replaces the session's metadata (nil clears it).
func (s *Session) SetMetadata(m map[string]any) error { return s.do(true, "set_metadata", nil, m) }

// Summary returns a human-readable summary (as TraceKit's Session.summary()).
func (s *Session) Summary() (string, error) { return getAs(s, "summary", "") }

// JSON returns the whole session except trace samples as JSON.
func (s *Session) JSON() (json.RawMessage, error) { return getAs(s, "to_json", json.RawMessage(nil)) }

// AddTrace adds or replaces trace name with a copy of samples ([]float64 ... []uint64, []bool).
func (s *Session) AddTrace(name string, samples any, info TraceInfo) error {
	dt, ok := sliceDTypes[reflect.TypeOf(samples)]
	if !ok {
		return goError(StatusInvalidArgument, fmt.Sprintf(
			"evident: samples of type %T: want []float64, []float32, []int8..[]int64, []uint8..[]uint64 or []bool", samples))
	}
	v := reflect.ValueOf(samples)
	defer runtime.KeepAlive(samples)
	return s.addTrace(name, dt, v.UnsafePointer(), uint64(v.Len()), info)
}

var sliceDTypes = map[reflect.Type]DType{
	reflect.TypeFor[[]float64](): DTypeF64, reflect.TypeFor[[]float32](): DTypeF32,
	reflect.TypeFor[[]int8](): DTypeI8, reflect.TypeFor[[]int16](): DTypeI16,
	reflect.TypeFor[[]int32](): DTypeI32, reflect.TypeFor[[]int64](): DTypeI64,
	reflect.TypeFor[[]uint8](): DTypeU8, reflect.TypeFor[[]uint16](): DTypeU16,
	reflect.TypeFor[[]uint32](): DTypeU32, reflect.TypeFor[[]uint64](): DTypeU64,
	reflect.TypeFor[[]bool](): DTypeBool,
}

// AddBitTrace adds a trace of n bits packed LSB first: len(packed) must be ceil(n/8).
func (s *Session) AddBitTrace(name string, packed []byte, n uint64, info TraceInfo) error {
	var want C.uint64_t
	if !C.evident_dtype_byte_len(C.EVIDENT_DTYPE_BIT, C.uint64_t(n), &want) || uint64(len(packed)) != uint64(want) {
		return goError(StatusInvalidArgument,
			fmt.Sprintf("evident: trace %q: %d bits need %d bytes, got %d", name, n, want, len(packed)))
	}
	defer runtime.KeepAlive(packed)
	return s.addTrace(name, DTypeBit, unsafe.Pointer(unsafe.SliceData(packed)), n, info)
}

func (s *Session) addTrace(name string, dt DType, p unsafe.Pointer, n uint64, info TraceInfo) error {
	if err := checkString("trace name", name); err != nil {
		return err
	}
	js, err := args("trace info", info)
	if err != nil {
		return err
	}
	return s.with(true, func(h *C.evident_session) error {
		return callC(func(msg **C.char) C.evident_status {
			return C.evgo_session_add_trace(h, cstr(name), C.uint32_t(dt), p, C.uint64_t(n), cstr(js), msg)
		})
	})
}

// LoadTrace imports a capture (.csv, .npy, .sr, .wfm) as trace name ("" = file name); see TraceLoadOptions.
func (s *Session) LoadTrace(path, name string, opts ...TraceLoadOptions) (used string, err error) {
	return used, s.do(true, "load_trace", &used, path, name, opts)
}

// RemoveTrace removes the trace named name (ErrNotFound if there is none).
func (s *Session) RemoveTrace(name string) error { return s.do(true, "remove_trace", nil, name) }

// TraceNames returns the names of the traces in the order they were added.
func (s *Session) TraceNames() ([]string, error) { return getAs(s, "trace_names", []string{}) }

// GetTrace returns the trace name (ErrNotFound), valid after Session.Close; Close it when done.
func (s *Session) GetTrace(name string) (*Trace, error) {
	if err := checkString("trace name", name); err != nil {
		return nil, err
	}
	t := &Trace{}
	text, err := s.text(false, func(h *C.evident_session, out, msg **C.char) C.evident_status {
		return C.evgo_session_get_trace(h, cstr(name), &t.h, out, msg)
	})
	if err != nil {
		return nil, err
	}
	runtime.SetFinalizer(t, (*Trace).finalize)
	if err = decodeJSON(text, &t.m); err == nil {
		var ok bool
		if t.dtype, ok = ParseDType(t.m.DType); !ok {
			err = goError(StatusMalformed, fmt.Sprintf("evident: trace %q has unknown dtype %q", name, t.m.DType))
		}
	}
	if err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// SetLayer creates the layer p.Name or changes its properties.
func (s *Session) SetLayer(p LayerProps) error { return s.do(true, "set_layer", nil, p) }

// Annotate adds an annotation to layer (created when missing; ErrLayerLocked).
func (s *Session) Annotate(layer string, a Annotation) error {
	return s.do(true, "annotate", nil, layer, a)
}

// ClearLayer removes every annotation of a layer (ErrLayerLocked, ErrNotFound).
func (s *Session) ClearLayer(layer string) error { return s.do(true, "clear_layer", nil, layer) }

// RemoveLayer removes a layer and its annotations (errors as ClearLayer).
func (s *Session) RemoveLayer(layer string) error { return s.do(true, "remove_layer", nil, layer) }

// Layers returns the annotation layers with their annotations.
func (s *Session) Layers() ([]Layer, error) { return getAs(s, "layers", []Layer{}) }

// Annotations returns the annotations of layer ("" = all) within timeRange (nil = all).
func (s *Session) Annotations(layer string, timeRange *[2]float64) ([]LayerAnnotation, error) {
	return getAs(s, "annotations", []LayerAnnotation{}, layer, timeRange)
}

// RemoveAnnotation removes annotation index (as Layers lists them) of layer (ErrNotFound).
func (s *Session) RemoveAnnotation(layer string, index int) error {
	return s.do(true, "remove_annotation", nil, layer, index)
}

// RecordMeasurement records a measurement (Name is required).
func (s *Session) RecordMeasurement(m Measurement) error {
	return s.do(true, "record_measurement", nil, m)
}

// AsTraceKit returns m in TraceKit's shape (its Measurement.as_dict()).
func (m Measurement) AsTraceKit() (map[string]any, error) {
	text, err := valueText(C.EVGO_MEASUREMENT_TRACEKIT, "measurement", m, "", 0)
	return decodeAs(text, err, map[string]any{})
}

// Measurements returns the recorded measurements, oldest first.
func (s *Session) Measurements() ([]Measurement, error) {
	return getAs(s, "measurements", []Measurement{})
}

// MeasurementsTraceKit returns the latest measurement of each name in TraceKit's shape.
func (s *Session) MeasurementsTraceKit() (map[string]map[string]any, error) {
	return getAs(s, "measurements_tracekit", map[string]map[string]any{})
}

// RecordHistory appends an entry (Operation required), dropping the oldest beyond the limit.
func (s *Session) RecordHistory(e HistoryEntry) error { return s.do(true, "record_history", nil, e) }

// ToCode returns the line of Python HistoryScript writes for e (alias "" = "tk").
func (e HistoryEntry) ToCode(alias string, style int) (string, error) {
	return valueText(C.EVGO_HISTORY_ENTRY_CODE, "history entry", e, alias, style)
}

// valueText runs evgo_value_text on v (see args).
func valueText(what C.int, name string, v any, alias string, style int) (string, error) {
	js, err := args(name, v)
	if err == nil {
		err = checkString("alias", alias)
	}
	if err != nil {
		return "", err
	}
	return textC(func(out, msg **C.char) C.evident_status {
		return C.evgo_value_text(what, cstr(js), cstrOpt(alias), C.uint32_t(style), out, msg)
	})
}

// History returns the operation history, oldest first.
func (s *Session) History() ([]HistoryEntry, error) { return getAs(s, "history", []HistoryEntry{}) }

// HistorySummary holds statistics of the operation history.
type HistorySummary struct {
	TotalOperations   int            `json:"total_operations"`
	Successful        int            `json:"successful"`
	Failed            int            `json:"failed"`
	TotalDurationMs   float64        `json:"total_duration_ms"`
	AverageDurationMs float64        `json:"average_duration_ms"`
	Operations        map[string]int `json:"operations"`
	First             *time.Time     `json:"first"`
	Last              *time.Time     `json:"last"`
}

// HistorySummary returns statistics of the operation history.
func (s *Session) HistorySummary() (HistorySummary, error) {
	return getAs(s, "history_summary", HistorySummary{})
}

// Script layouts of HistoryScript and ToCode: Python repr() and UTC times, or TraceKit's.
const (
	ScriptEvident  = 0
	ScriptTraceKit = 1
)

// HistoryScript returns a Python script replaying the history (module, alias "": "tracekit", "tk").
func (s *Session) HistoryScript(module, alias string, style int) (string, error) {
	return getAs(s, "history_script", "", module, alias, style)
}

// SetHistoryLimit bounds the history to n entries (0 = unlimited), dropping the oldest.
func (s *Session) SetHistoryLimit(n int) error { return s.do(true, "set_history_limit", nil, n) }

// SetHistoryAutoRecord sets whether LoadTrace records itself in the history (TraceKit's
// history.auto_record, Python's session.history.auto_record; default true, saved with the session).
func (s *Session) SetHistoryAutoRecord(on bool) error {
	return s.do(true, "set_history_auto_record", nil, on)
}

// Save appends the changes and a commit to path ("" = the session's file), crash-safely.
func (s *Session) Save(path string, opts *SaveOptions) (SaveInfo, error) {
	o := deref(opts)
	if hasNUL(path) {
		return SaveInfo{}, nulPath()
	}
	var audit *C.evident_log
	if l := o.AuditLog; l != nil {
		l.mu.RLock() // the log must not be closed during the save
		defer l.mu.RUnlock()
		if audit = l.h; audit == nil {
			return SaveInfo{}, l.closedError()
		}
		defer runtime.KeepAlive(l)
	}
	js, _ := json.Marshal(o) // numbers and booleans only: cannot fail
	text, err := s.text(true, func(h *C.evident_session, out, msg **C.char) C.evident_status {
		return C.evgo_session_save(h, cstrOpt(path), cstr(string(js)), (*C.uint8_t)(unsafe.SliceData(o.Key)), C.size_t(len(o.Key)),
			audit, out, msg)
	})
	return decodeAs(text, err, SaveInfo{})
}

// sessionFile runs a file-level function and decodes its JSON into v.
func sessionFile[T any](what C.int, path string, key []byte, v T) (T, error) {
	if hasNUL(path) {
		var zero T
		return zero, nulPath()
	}
	text, err := textC(func(out, msg **C.char) C.evident_status {
		return C.evgo_session_file(what, cstr(path), (*C.uint8_t)(unsafe.SliceData(key)), C.size_t(len(key)), out, msg)
	})
	return decodeAs(text, err, v)
}

// SessionVersions lists the complete versions in the session file at path (key nil: keyless).
func SessionVersions(path string, key []byte) ([]VersionInfo, error) {
	return sessionFile(C.EVGO_SESSION_FILE_VERSIONS, path, key, []VersionInfo{})
}

// CompactSession atomically rewrites the session file at path with only its newest version.
func CompactSession(path string, key []byte) (CompactInfo, error) {
	return sessionFile(C.EVGO_SESSION_FILE_COMPACT, path, key, CompactInfo{})
}

// VerifySession checks the session file at path; the error is only for an unreadable file.
func VerifySession(path string, key []byte) (SessionReport, error) {
	return sessionFile(C.EVGO_SESSION_FILE_VERIFY, path, key, SessionReport{})
}

// Trace is a read-only view of a trace's samples; its slices alias native memory (README.md).
type Trace struct {
	mu      sync.RWMutex
	h       *C.evident_trace
	m       traceMeta
	dtype   DType
	exposed atomic.Bool // a slice was handed out: no finalizer frees it
}

// traceMeta is what the library says about a trace (evident_trace_info_json).
type traceMeta struct {
	TraceInfo
	Name, DType        string
	Len, Bytes         uint64
	Mapped, Compressed bool
}

// finalize frees a Trace that was not closed, unless it handed out slices.
func (t *Trace) finalize() {
	if !t.exposed.Load() {
		t.Close()
	}
}

// Close frees the trace; its slices must not be used afterwards. Closing twice is fine.
func (t *Trace) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.h != nil {
		runtime.SetFinalizer(t, nil)
		C.evident_trace_free(t.h)
		t.h = nil
	}
	return nil
}

// Name returns the trace's name in its session.
func (t *Trace) Name() string { return t.m.Name }

// DType returns the sample type.
func (t *Trace) DType() DType { return t.dtype }

// Len returns the number of samples.
func (t *Trace) Len() uint64 { return t.m.Len }

// ByteLen returns the size of the samples in bytes.
func (t *Trace) ByteLen() uint64 { return t.m.Bytes }

// Mapped reports whether the samples are read from the file's mapping.
func (t *Trace) Mapped() bool { return t.m.Mapped }

// Compressed reports whether the trace is stored compressed.
func (t *Trace) Compressed() bool { return t.m.Compressed }

// Info returns the trace's rate, start time, units and metadata (shared: do not modify it).
func (t *Trace) Info() TraceInfo { return t.m.TraceInfo }

// Verify checks the stored samples against the SHA-256 in the file's trace record.
func (t *Trace) Verify() error {
	return t.call(func(msg **C.char) C.evident_status { return C.evgo_trace_verify(t.h, msg) })
}

// call runs one shim call on the open trace, read-locked (so that Close waits for it).
func (t *Trace) call(f func(msg **C.char) C.evident_status) error {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.h == nil {
		return goError(StatusClosed, "evident: trace "+strconv.Quote(t.m.Name)+" is closed")
	}
	defer runtime.KeepAlive(t)
	return callC(f)
}

// samples returns t's samples (bytes for want 0 and DTypeBit) as []T when t's dtype is want.
func samples[T any](t *Trace, want DType) ([]T, error) {
	var p unsafe.Pointer
	var n, nb C.uint64_t
	var dt C.uint32_t
	if err := t.call(func(msg **C.char) C.evident_status { return C.evgo_trace_data(t.h, &p, &n, &nb, &dt, msg) }); err != nil {
		return nil, err
	}
	var zero T
	switch {
	case want != 0 && t.dtype != want:
		return nil, goError(StatusInvalidArgument,
			fmt.Sprintf("evident: trace %q holds %s samples, not %s", t.m.Name, t.dtype, want))
	case !littleEndian && unsafe.Sizeof(zero) > 1:
		return nil, goError(StatusUnsupported, "evident: typed sample access needs a little-endian machine (use Bytes)")
	case want == 0 || want == DTypeBit:
		n = nb
	}
	if n == 0 {
		return []T{}, nil
	}
	if uint64(nb) > math.MaxInt {
		return nil, goError(StatusTooLarge, fmt.Sprintf("evident: trace %q: %d bytes do not fit in a Go slice", t.m.Name, nb))
	}
	t.exposed.Store(true)
	return unsafe.Slice((*T)(p), int(n)), nil
}

// littleEndian: the typed accessors alias little-endian samples.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// Bytes returns the raw little-endian sample bytes (any dtype).
func (t *Trace) Bytes() ([]byte, error) { return samples[byte](t, 0) }

// Float64s returns the samples of an f64 trace (another dtype: ErrInvalidArgument).
func (t *Trace) Float64s() ([]float64, error) { return samples[float64](t, DTypeF64) }

// Float32s returns the samples of an f32 trace.
func (t *Trace) Float32s() ([]float32, error) { return samples[float32](t, DTypeF32) }

// Int8s returns the samples of an i8 trace.
func (t *Trace) Int8s() ([]int8, error) { return samples[int8](t, DTypeI8) }

// Int16s returns the samples of an i16 trace.
func (t *Trace) Int16s() ([]int16, error) { return samples[int16](t, DTypeI16) }

// Int32s returns the samples of an i32 trace.
func (t *Trace) Int32s() ([]int32, error) { return samples[int32](t, DTypeI32) }

// Int64s returns the samples of an i64 trace.
func (t *Trace) Int64s() ([]int64, error) { return samples[int64](t, DTypeI64) }

// Uint8s returns the samples of a u8 trace.
func (t *Trace) Uint8s() ([]uint8, error) { return samples[uint8](t, DTypeU8) }

// Uint16s returns the samples of a u16 trace.
func (t *Trace) Uint16s() ([]uint16, error) { return samples[uint16](t, DTypeU16) }

// Uint32s returns the samples of a u32 trace.
func (t *Trace) Uint32s() ([]uint32, error) { return samples[uint32](t, DTypeU32) }

// Uint64s returns the samples of a u64 trace.
func (t *Trace) Uint64s() ([]uint64, error) { return samples[uint64](t, DTypeU64) }

// Bools returns the samples of a bool trace (each byte checked to be 0 or 1).
func (t *Trace) Bools() ([]bool, error) { return samples[bool](t, DTypeBool) }

// Bits returns the Len() packed samples of a bit trace, LSB first (see Bit).
func (t *Trace) Bits() ([]byte, error) { return samples[byte](t, DTypeBit) }

// Bit returns bit i of packed bits as returned by Bits.
func Bit(packed []byte, i uint64) bool { return packed[i/8]>>(i%8)&1 == 1 }
