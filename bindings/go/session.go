package evident

/*
#include "shim.h"
*/
import "C"

import (
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

// The session container: a crash-safe, versioned file saving an analysis
// session (traces, annotation layers, measurements, operation history,
// metadata); see "Session container" in README.md. The logic is the
// library's: this file only converts arguments and results.

// DType is the sample type of a trace (the C ABI's evident_dtype).
// Samples are little-endian.
type DType uint32

const (
	DTypeF64 DType = C.EVIDENT_DTYPE_F64
	DTypeF32 DType = C.EVIDENT_DTYPE_F32
	DTypeI8  DType = C.EVIDENT_DTYPE_I8
	DTypeI16 DType = C.EVIDENT_DTYPE_I16
	DTypeI32 DType = C.EVIDENT_DTYPE_I32
	DTypeI64 DType = C.EVIDENT_DTYPE_I64
	DTypeU8  DType = C.EVIDENT_DTYPE_U8
	DTypeU16 DType = C.EVIDENT_DTYPE_U16
	DTypeU32 DType = C.EVIDENT_DTYPE_U32
	DTypeU64 DType = C.EVIDENT_DTYPE_U64
	// DTypeBool: one byte per sample, 0 or 1.
	DTypeBool DType = C.EVIDENT_DTYPE_BOOL
	// DTypeBit: packed bits, least significant bit first, ceil(len/8) bytes.
	DTypeBit DType = C.EVIDENT_DTYPE_BIT
)

// String returns the dtype's name in the file format ("f64", ..., "bit").
func (d DType) String() string {
	if n := C.evident_dtype_name(C.uint32_t(d)); n != nil {
		return C.GoString(n)
	}
	return "DType(" + strconv.FormatUint(uint64(d), 10) + ")"
}

// ParseDType returns the dtype named n ("f64", ..., "bit") or by a common
// alias ("float64", "double", "int8", "bool_", "bits", ...),
// case-insensitively (the library's rule, as in C, Python and the CLI).
func ParseDType(n string) (DType, bool) {
	if checkString("dtype", n) != nil {
		return 0, false
	}
	var code C.uint32_t
	err := callC(func(msg **C.char) C.evident_status {
		return C.evgo_dtype_from_name(cstr(n), &code, msg)
	})
	return DType(code), err == nil
}

// TraceInfo describes a trace's samples.
type TraceInfo struct {
	// SampleRate in Hz, finite and > 0 (0 in AddTrace: the default, 1 Hz).
	SampleRate float64 `json:"sample_rate"`
	// StartTime of the first sample, in seconds.
	StartTime float64 `json:"start_time"`
	Units     string  `json:"units"` // "" when unknown
	// Metadata is free-form (read back as encoding/json decodes into any).
	Metadata map[string]any `json:"metadata"`
}

// AnnotationType is the type of an annotation.
type AnnotationType string

const (
	AnnotationPoint      AnnotationType = "point"      // at Time
	AnnotationRange      AnnotationType = "range"      // over TimeRange
	AnnotationVertical   AnnotationType = "vertical"   // a vertical line at Time
	AnnotationHorizontal AnnotationType = "horizontal" // a horizontal line at Amplitude
	AnnotationRegion     AnnotationType = "region"     // TimeRange and AmplitudeRange
	AnnotationText       AnnotationType = "text"       // free-floating text
)

// Annotation marks a point or region of interest. Annotate fills what is
// left zero: Type is inferred like TraceKit does (TimeRange and
// AmplitudeRange: region; TimeRange: range; Time: point; Amplitude:
// horizontal; none: text), Style defaults to "solid", Visible to true,
// CreatedAt to now. Annotations read back have every field set except the
// optional positions and Color.
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

// LayerProps creates a layer or changes its properties (SetLayer). Nil
// fields keep the current value (new layer: visible, unlocked, no colour,
// no description); Color "" removes the colour. A locked layer's
// properties can be changed, so this is also how it is unlocked.
type LayerProps struct {
	Name        string
	Visible     *bool
	Locked      *bool
	Color       *string
	Description *string
}

// Measurement is a recorded measurement result.
type Measurement struct {
	Name string `json:"name"` // required, e.g. "rise_time"
	// Value is any value encoding/json encodes (read back as it decodes
	// into any).
	Value     any            `json:"value"`
	Unit      string         `json:"unit"`
	TraceName string         `json:"trace_name"` // "" = none
	Metadata  map[string]any `json:"metadata"`
	// RecordedAt: zero means now.
	RecordedAt time.Time `json:"recorded_at"`
}

// HistoryEntry is one operation of the session's history.
type HistoryEntry struct {
	Operation  string         `json:"operation"` // required: the function called
	Parameters map[string]any `json:"parameters"`
	Result     any            `json:"result"`
	Timestamp  time.Time      `json:"timestamp"` // zero means now
	DurationMs float64        `json:"duration_ms"`
	// Success: nil means true.
	Success      *bool          `json:"success"`
	ErrorMessage string         `json:"error_message"` // "" = none
	Metadata     map[string]any `json:"metadata"`
}

// SessionInfo is what a session says about itself (Info).
type SessionInfo struct {
	Name       string    `json:"name"`
	CreatedAt  time.Time `json:"created_at"`
	ModifiedAt time.Time `json:"modified_at"`
	// Path is the file loaded from or last saved to ("" for a new session).
	Path string `json:"path"`
	// Version loaded or last saved (0 for a new session), and the hash of
	// its commit record, lowercase hex.
	Version      uint64 `json:"version"`
	Commit       string `json:"commit"`
	Traces       int    `json:"traces"`
	Layers       int    `json:"layers"`
	Annotations  int    `json:"annotations"`
	Measurements int    `json:"measurements"`
	History      int    `json:"history"`
	HistoryLimit int    `json:"history_limit"` // 0 = unlimited
}

// SaveOptions for Save. The zero value (or nil) saves every changed trace
// uncompressed, fsyncs, and uses the library's lock timeout.
type SaveOptions struct {
	// Compress is the zstd level for the traces this save writes (0 = none).
	Compress int
	// ExcludeTraces saves everything except trace samples.
	ExcludeTraces bool
	// Key is the HMAC key: for a new file, or the existing file's key.
	Key []byte
	// NoSync skips the fsyncs: Save returns once the save is in the OS page
	// cache. A crash of the process loses nothing; a power cut or OS crash
	// before the OS wrote it back may lose this save and every other save
	// since the last save with sync, never an earlier version saved with
	// sync, and the file stays loadable and saveable (loading gives the
	// newest complete version, VerifySession lists the lost ones in
	// IncompleteVersions, the next save moves them into a sidecar file).
	NoSync bool
	// LockTimeout is how long to wait for another process's save of the
	// same file (rounded up to milliseconds; 0 = the library default, 10 s),
	// then ErrLocked naming the holder.
	LockTimeout time.Duration
	// AuditLog, when set, receives an entry naming the saved version and its
	// commit hash, so the audit trail proves which version existed when.
	// Save holds it open for the call. If that append fails, Save returns
	// its error after the session file was written.
	AuditLog *Log
}

// SaveInfo is the result of Save.
type SaveInfo struct {
	Path         string `json:"path"`
	Version      uint64 `json:"version"`
	Commit       string `json:"commit"`        // lowercase hex
	BytesWritten uint64 `json:"bytes_written"` // appended to the file
	// TracesWritten counts the traces whose samples this save wrote;
	// TracesReused those already in the file, only named by the new commit.
	TracesWritten      int    `json:"traces_written"`
	TracesReused       int    `json:"traces_reused"`
	SampleBytesWritten uint64 `json:"sample_bytes_written"` // part of BytesWritten
}

// VersionInfo describes one saved version of a session file.
type VersionInfo struct {
	Version      uint64    `json:"version"`
	Commit       string    `json:"commit"`
	TS           time.Time `json:"ts"`   // when it was saved
	Name         string    `json:"name"` // the session's name in it
	Traces       int       `json:"traces"`
	Layers       int       `json:"layers"`
	Annotations  int       `json:"annotations"`
	Measurements int       `json:"measurements"`
	History      int       `json:"history"`
	TraceBytes   uint64    `json:"trace_bytes"` // size of its samples
	Offset       uint64    `json:"offset"`      // of its commit record
	// CompactedFrom is, for the first version of a compacted file, the
	// version it was made from (nil otherwise).
	CompactedFrom *CompactedFrom `json:"compacted_from"`
}

// CompactedFrom names the version a compacted file was made from.
type CompactedFrom struct {
	Version uint64 `json:"version"`
	Commit  string `json:"commit"`
}

// CompactInfo is the result of CompactSession: the version kept (same
// number, new commit hash) and the file's size before and after.
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
	OK       bool `json:"ok"`
	Versions int  `json:"versions"` // complete versions
	// Problems are one-line messages naming the byte offset;
	// ProblemDetails the same as structured data.
	Problems       []string         `json:"problems"`
	ProblemDetails []SessionProblem `json:"problem_details"`
	// TornTailAt is the offset of an incomplete save at the end (the next
	// save moves it aside), nil when there is none.
	TornTailAt *uint64 `json:"torn_tail_at"`
	// HeadVersion and HeadCommit: the newest version (0 and "" if none).
	HeadVersion uint64 `json:"head_version"`
	HeadCommit  string `json:"head_commit"`
	// IncompleteVersions were saved without sync and lost pages in a power
	// cut (their commit lies in the uncommitted tail).
	IncompleteVersions []uint64 `json:"incomplete_versions"`
	Records            uint64   `json:"records"`
	DataFrames         uint64   `json:"data_frames"`
	Bytes              uint64   `json:"bytes"`
	SampleBytesChecked uint64   `json:"sample_bytes_checked"`
}

// SessionProblem is one problem found by VerifySession (Seq nil when the
// record has none or is unreadable).
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

// Session is an analysis session: traces, annotation layers, measurements,
// operation history and metadata, saved to a crash-safe, versioned file.
// It is safe for concurrent use: reads run in parallel, changes one at a
// time. Close it when done; a finalizer frees a forgotten Session only as a
// fallback.
type Session struct {
	// mu guards h: reads (the C functions taking a const session) hold the
	// read lock, changes, Save and Close the write lock.
	mu sync.RWMutex
	h  *C.evident_session
	// gen counts changes (every write lock); info is the decoded Info of
	// the generation it names, so properties are not decoded again until
	// the session changes.
	gen  atomic.Uint64
	info atomic.Pointer[sessionInfoAt]
}

// --- calling the library ---

// with runs f on the handle, write-locked for a change (which makes the
// cached Info stale) or read-locked, or returns ErrClosed.
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
	err := f(s.h)
	runtime.KeepAlive(s)
	return err
}

// call is with for one status-returning shim call.
func (s *Session) call(write bool, f func(h *C.evident_session, msg **C.char) C.evident_status) error {
	return s.with(write, func(h *C.evident_session) error {
		return callC(func(msg **C.char) C.evident_status { return f(h, msg) })
	})
}

// text is call for a shim call returning a string.
func (s *Session) text(write bool, f func(h *C.evident_session, out, msg **C.char) C.evident_status) (string, error) {
	var text string
	err := s.with(write, func(h *C.evident_session) (err error) {
		text, err = textC(func(out, msg **C.char) C.evident_status { return f(h, out, msg) })
		return err
	})
	return text, err
}

// get runs one of the session's getters (evgo_session_get).
func (s *Session) get(what C.int) (string, error) {
	return s.text(false, func(h *C.evident_session, out, msg **C.char) C.evident_status {
		return C.evgo_session_get(h, what, out, msg)
	})
}

// getAs decodes the JSON of a getter into v (see decodeAs).
func getAs[T any](s *Session, what C.int, v T) (T, error) {
	text, err := s.get(what)
	return decodeAs(text, err, v)
}

// set runs one of the session's one-string setters (evgo_session_set).
func (s *Session) set(what C.int, arg string) error {
	return s.call(true, func(h *C.evident_session, msg **C.char) C.evident_status {
		return C.evgo_session_set(h, what, cstr(arg), msg)
	})
}

// setChecked is set after checkString(name, arg).
func (s *Session) setChecked(what C.int, name, arg string) error {
	if err := checkString(name, arg); err != nil {
		return err
	}
	return s.set(what, arg)
}

// --- sessions ---

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

// LoadSession loads the session file at path: the newest complete version,
// or opts.Version. Loading never runs code from the file; trace samples are
// memory-mapped, not read. A damaged file gives ErrMalformed or ErrCorrupt
// naming what is wrong; a wrong key ErrWrongKey; a missing version
// ErrNotFound.
func LoadSession(path string, opts *LoadSessionOptions) (*Session, error) {
	if opts == nil {
		opts = &LoadSessionOptions{}
	}
	if hasNUL(path) {
		return nil, nulPath()
	}
	k := opts.Key
	return newSession(func(out **C.evident_session, msg **C.char) C.evident_status {
		return C.evgo_session_load(cstr(path), (*C.uint8_t)(unsafe.SliceData(k)), C.size_t(len(k)), C.uint64_t(opts.Version), out, msg)
	})
}

// Close frees the session. Traces obtained with GetTrace stay valid until
// their own Close. Closing twice is fine; later calls return ErrClosed.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.h == nil {
		return nil
	}
	runtime.SetFinalizer(s, nil)
	s.gen.Add(1)
	C.evident_session_free(s.h)
	s.h = nil
	return nil
}

// Info returns the session's name, times, file, version and counts
// (decoded once per change of the session).
func (s *Session) Info() (SessionInfo, error) {
	// A change between reading gen and the fetch leaves the cache under an
	// old generation: it is then never used.
	gen := s.gen.Load()
	if c := s.info.Load(); c != nil && c.gen == gen {
		return c.info, nil
	}
	info, err := getAs(s, C.EVGO_SESSION_INFO, SessionInfo{})
	if err == nil {
		s.info.Store(&sessionInfoAt{gen, info})
	}
	return info, err
}

type sessionInfoAt struct {
	gen  uint64
	info SessionInfo
}

// Name returns the session's name ("" after Close).
func (s *Session) Name() string {
	info, _ := s.Info()
	return info.Name
}

// SetName renames the session.
func (s *Session) SetName(name string) error {
	return s.setChecked(C.EVGO_SESSION_SET_NAME, "session name", name)
}

// Metadata returns the session's metadata (never nil).
func (s *Session) Metadata() (map[string]any, error) {
	return getAs(s, C.EVGO_SESSION_METADATA, map[string]any{})
}

// SetMetadata replaces the session's metadata (nil clears it).
func (s *Session) SetMetadata(m map[string]any) error {
	if m == nil {
		m = map[string]any{}
	}
	if err := checkValue("metadata", m); err != nil {
		return err
	}
	b, err := encodeJSON(m)
	if err != nil {
		return err
	}
	return s.set(C.EVGO_SESSION_SET_METADATA, string(b))
}

// Summary returns a human-readable summary (as TraceKit's Session.summary()).
func (s *Session) Summary() (string, error) { return s.get(C.EVGO_SESSION_SUMMARY) }

// JSON returns the whole session except trace samples as JSON (the shapes
// of the file format's records).
func (s *Session) JSON() (json.RawMessage, error) {
	text, err := s.get(C.EVGO_SESSION_TO_JSON)
	if err != nil {
		return nil, err
	}
	return json.RawMessage(text), nil
}

// --- traces ---

// AddTrace adds a trace named name holding a copy of samples, one of
// []float64, []float32, []int8 ... []int64, []uint8 ... []uint64, []bool;
// a trace of the same name is replaced. For packed bits use AddBitTrace.
func (s *Session) AddTrace(name string, samples any, info TraceInfo) error {
	dt, ok := sliceDTypes[reflect.TypeOf(samples)]
	if !ok {
		return goError(StatusInvalidArgument, fmt.Sprintf(
			"evident: samples of type %T: want []float64, []float32, []int8..[]int64, []uint8..[]uint64 or []bool", samples))
	}
	v := reflect.ValueOf(samples)
	err := s.addTrace(name, dt, v.UnsafePointer(), uint64(v.Len()), info)
	runtime.KeepAlive(samples)
	return err
}

var sliceDTypes = map[reflect.Type]DType{
	reflect.TypeFor[[]float64](): DTypeF64, reflect.TypeFor[[]float32](): DTypeF32,
	reflect.TypeFor[[]int8](): DTypeI8, reflect.TypeFor[[]int16](): DTypeI16,
	reflect.TypeFor[[]int32](): DTypeI32, reflect.TypeFor[[]int64](): DTypeI64,
	reflect.TypeFor[[]uint8](): DTypeU8, reflect.TypeFor[[]uint16](): DTypeU16,
	reflect.TypeFor[[]uint32](): DTypeU32, reflect.TypeFor[[]uint64](): DTypeU64,
	reflect.TypeFor[[]bool](): DTypeBool,
}

// AddBitTrace adds a digital trace of n samples packed in bits, least
// significant bit first: len(packed) must be ceil(n/8).
func (s *Session) AddBitTrace(name string, packed []byte, n uint64, info TraceInfo) error {
	var want C.uint64_t
	if !C.evident_dtype_byte_len(C.EVIDENT_DTYPE_BIT, C.uint64_t(n), &want) || uint64(len(packed)) != uint64(want) {
		return goError(StatusInvalidArgument,
			fmt.Sprintf("evident: trace %q: %d bits need %d bytes, got %d", name, n, want, len(packed)))
	}
	err := s.addTrace(name, DTypeBit, unsafe.Pointer(unsafe.SliceData(packed)), n, info)
	runtime.KeepAlive(packed)
	return err
}

func (s *Session) addTrace(name string, dt DType, p unsafe.Pointer, n uint64, info TraceInfo) error {
	if err := checkStrings("trace name", name, "units", info.Units); err != nil {
		return err
	}
	if err := checkValue("metadata", info.Metadata); err != nil {
		return err
	}
	rate := &info.SampleRate
	if info.SampleRate == 0 {
		rate = nil // the default
	}
	js, err := wire(map[string]any{"sample_rate": rate, "start_time": info.StartTime, "units": info.Units,
		"metadata": info.Metadata})
	if err != nil {
		return err
	}
	return s.call(true, func(h *C.evident_session, msg **C.char) C.evident_status {
		return C.evgo_session_add_trace(h, cstr(name), C.uint32_t(dt), p, C.uint64_t(n), cstr(js), msg)
	})
}

// LoadTrace imports a CSV or .npy file as a trace named name ("" = the
// file name without its extension) and returns the name.
func (s *Session) LoadTrace(path, name string) (string, error) {
	if hasNUL(path) {
		return "", nulPath()
	}
	if err := checkString("trace name", name); err != nil {
		return "", err
	}
	return s.text(true, func(h *C.evident_session, out, msg **C.char) C.evident_status {
		return C.evgo_session_load_trace(h, cstr(path), cstrOpt(name), out, msg)
	})
}

// RemoveTrace removes the trace named name (ErrNotFound if there is none).
func (s *Session) RemoveTrace(name string) error {
	return s.setChecked(C.EVGO_SESSION_REMOVE_TRACE, "trace name", name)
}

// TraceNames returns the names of the traces in the order they were added.
func (s *Session) TraceNames() ([]string, error) {
	return getAs(s, C.EVGO_SESSION_TRACE_NAMES, []string{})
}

// GetTrace returns the trace named name (ErrNotFound if there is none), a
// Trace independent of the Session (valid after Session.Close) to Close.
func (s *Session) GetTrace(name string) (*Trace, error) {
	if err := checkString("trace name", name); err != nil {
		return nil, err
	}
	var th *C.evident_trace
	info, err := s.text(false, func(h *C.evident_session, out, msg **C.char) C.evident_status {
		return C.evgo_session_get_trace(h, cstr(name), &th, out, msg)
	})
	if err != nil {
		return nil, err
	}
	t := &Trace{h: th}
	runtime.SetFinalizer(t, (*Trace).finalize)
	var w struct {
		TraceInfo
		Name, DType        string
		Len, Bytes         uint64
		Mapped, Compressed bool
	}
	err = decodeJSON(info, &w)
	dt, ok := ParseDType(w.DType)
	if err == nil && !ok {
		err = goError(StatusMalformed, fmt.Sprintf("evident: trace %q has unknown dtype %q", name, w.DType))
	}
	if err != nil {
		t.Close()
		return nil, err
	}
	t.name, t.dtype, t.n, t.nbytes = w.Name, dt, w.Len, w.Bytes
	t.mapped, t.compressed, t.info = w.Mapped, w.Compressed, w.TraceInfo
	return t, nil
}

// --- annotation layers ---

// SetLayer creates the layer props.Name or changes its properties.
func (s *Session) SetLayer(p LayerProps) error {
	if err := checkStrings("layer name", p.Name, "colour", deref(p.Color), "description", deref(p.Description)); err != nil {
		return err
	}
	js, err := wire(map[string]any{"name": p.Name, "visible": p.Visible, "locked": p.Locked, "color": p.Color,
		"description": p.Description})
	if err != nil {
		return err
	}
	return s.set(C.EVGO_SESSION_SET_LAYER, js)
}

// Annotate adds an annotation to layer (created when missing). A locked
// layer gives ErrLayerLocked.
func (s *Session) Annotate(layer string, a Annotation) error {
	if err := checkStrings("layer name", layer, "annotation text", a.Text, "annotation type", string(a.Type),
		"colour", a.Color, "style", a.Style); err != nil {
		return err
	}
	if err := checkValue("metadata", a.Metadata); err != nil {
		return err
	}
	js, err := wire(map[string]any{"text": a.Text, "type": strOpt(string(a.Type)), "time": a.Time,
		"time_range": a.TimeRange, "amplitude": a.Amplitude, "amplitude_range": a.AmplitudeRange,
		"color": strOpt(a.Color), "style": strOpt(a.Style), "visible": a.Visible,
		"created_at": timeOpt(a.CreatedAt), "metadata": a.Metadata})
	if err != nil {
		return err
	}
	return s.call(true, func(h *C.evident_session, msg **C.char) C.evident_status {
		return C.evgo_session_annotate(h, cstr(layer), cstr(js), msg)
	})
}

// ClearLayer removes every annotation of a layer (ErrLayerLocked when it is
// locked, ErrNotFound when there is no such layer).
func (s *Session) ClearLayer(layer string) error {
	return s.setChecked(C.EVGO_SESSION_CLEAR_LAYER, "layer name", layer)
}

// RemoveLayer removes a layer and its annotations (errors as ClearLayer).
func (s *Session) RemoveLayer(layer string) error {
	return s.setChecked(C.EVGO_SESSION_REMOVE_LAYER, "layer name", layer)
}

// Layers returns the annotation layers with their annotations.
func (s *Session) Layers() ([]Layer, error) { return getAs(s, C.EVGO_SESSION_LAYERS, []Layer{}) }

// Annotations returns the annotations of layer ("" = every layer), and,
// when timeRange is not nil, only those within [t0, t1]: point and vertical
// annotations whose time is in it, range and region annotations that
// overlap it (horizontal and text annotations, having no time, are left
// out).
func (s *Session) Annotations(layer string, timeRange *[2]float64) ([]LayerAnnotation, error) {
	if err := checkString("layer name", layer); err != nil {
		return nil, err
	}
	var has C.bool
	var t0, t1 C.double
	if timeRange != nil {
		has, t0, t1 = true, C.double(timeRange[0]), C.double(timeRange[1])
	}
	text, err := s.text(false, func(h *C.evident_session, out, msg **C.char) C.evident_status {
		return C.evgo_session_annotations(h, cstrOpt(layer), has, t0, t1, out, msg)
	})
	return decodeAs(text, err, []LayerAnnotation{})
}

// RemoveAnnotation removes the annotation at index (0-based, in the order
// Layers lists them) of layer (ErrNotFound when the layer or the index does
// not exist, ErrLayerLocked when the layer is locked).
func (s *Session) RemoveAnnotation(layer string, index int) error {
	if err := checkString("layer name", layer); err != nil {
		return err
	}
	if index < 0 {
		return goError(StatusNotFound, "evident: annotation index must not be negative")
	}
	return s.call(true, func(h *C.evident_session, msg **C.char) C.evident_status {
		return C.evgo_session_remove_annotation(h, cstr(layer), C.uint64_t(index), msg)
	})
}

// --- measurements and history ---

// RecordMeasurement records a measurement (Name is required).
func (s *Session) RecordMeasurement(m Measurement) error {
	js, err := m.wire()
	if err != nil {
		return err
	}
	return s.set(C.EVGO_SESSION_RECORD_MEASUREMENT, js)
}

func (m Measurement) wire() (string, error) {
	if err := checkStrings("measurement name", m.Name, "unit", m.Unit, "trace name", m.TraceName); err != nil {
		return "", err
	}
	if err := checkValues("measurement value", m.Value, "metadata", m.Metadata); err != nil {
		return "", err
	}
	return wire(map[string]any{"name": m.Name, "value": m.Value, "unit": m.Unit,
		"trace_name": strOpt(m.TraceName), "metadata": m.Metadata, "recorded_at": timeOpt(m.RecordedAt)})
}

// AsTraceKit returns m in TraceKit's shape (its Measurement.as_dict()):
// the metadata's members, value, unit, trace_name (nil when unset) and
// timestamp (RecordedAt as Python's isoformat(); for a zero RecordedAt,
// now).
func (m Measurement) AsTraceKit() (map[string]any, error) {
	js, err := m.wire()
	if err != nil {
		return nil, err
	}
	text, err := valueText(C.EVGO_MEASUREMENT_TRACEKIT, js, "", 0)
	return decodeAs(text, err, map[string]any{})
}

// Measurements returns the recorded measurements, oldest first.
func (s *Session) Measurements() ([]Measurement, error) {
	return getAs(s, C.EVGO_SESSION_MEASUREMENTS, []Measurement{})
}

// MeasurementsTraceKit returns the measurements in TraceKit's shape (see
// Measurement.AsTraceKit) by name, the latest of a name.
func (s *Session) MeasurementsTraceKit() (map[string]map[string]any, error) {
	return getAs(s, C.EVGO_SESSION_MEASUREMENTS_TRACEKIT, map[string]map[string]any{})
}

// RecordHistory appends an entry to the operation history (Operation is
// required). When the history limit is reached the oldest entry is
// dropped.
func (s *Session) RecordHistory(e HistoryEntry) error {
	js, err := e.wire()
	if err != nil {
		return err
	}
	return s.set(C.EVGO_SESSION_RECORD_HISTORY, js)
}

func (e HistoryEntry) wire() (string, error) {
	if err := checkStrings("operation", e.Operation, "error message", e.ErrorMessage); err != nil {
		return "", err
	}
	if err := checkValues("parameters", e.Parameters, "result", e.Result, "metadata", e.Metadata); err != nil {
		return "", err
	}
	return wire(map[string]any{"operation": e.Operation, "parameters": e.Parameters, "result": e.Result,
		"timestamp": timeOpt(e.Timestamp), "duration_ms": e.DurationMs, "success": e.Success,
		"error_message": strOpt(e.ErrorMessage), "metadata": e.Metadata})
}

// ToCode returns the line of Python HistoryScript writes for e (alias ""
// = "tk"; style ScriptEvident or ScriptTraceKit).
func (e HistoryEntry) ToCode(alias string, style int) (string, error) {
	js, err := e.wire()
	if err == nil {
		err = checkString("alias", alias)
	}
	if err != nil {
		return "", err
	}
	return valueText(C.EVGO_HISTORY_ENTRY_CODE, js, alias, style)
}

func valueText(what C.int, js, alias string, style int) (string, error) {
	return textC(func(out, msg **C.char) C.evident_status {
		return C.evgo_value_text(what, cstr(js), cstrOpt(alias), C.uint32_t(style), out, msg)
	})
}

// History returns the operation history, oldest first.
func (s *Session) History() ([]HistoryEntry, error) {
	return getAs(s, C.EVGO_SESSION_HISTORY, []HistoryEntry{})
}

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

// HistorySummary returns statistics of the operation history (as Python's
// OperationHistory.summary()).
func (s *Session) HistorySummary() (HistorySummary, error) {
	return getAs(s, C.EVGO_SESSION_HISTORY_SUMMARY, HistorySummary{})
}

// Script layouts of HistoryScript and HistoryEntry.ToCode.
const (
	// ScriptEvident: values as Python repr(), times in UTC.
	ScriptEvident = 0
	// ScriptTraceKit: TraceKit's layout (strings in double quotes, local
	// times, import of tracekit falling back to evident.compat.tracekit).
	ScriptTraceKit = 1
)

// HistoryScript returns a Python script replaying the operation history:
// `import module as alias`, then one `alias.operation(param=value, ...)`
// call per successful entry ("" = "tracekit" and "tk"; failed operations
// and operations that are not plain Python names become comments).
func (s *Session) HistoryScript(module, alias string, style int) (string, error) {
	if err := checkStrings("module", module, "alias", alias); err != nil {
		return "", err
	}
	return s.text(false, func(h *C.evident_session, out, msg **C.char) C.evident_status {
		return C.evgo_session_history_script(h, cstrOpt(module), cstrOpt(alias), C.uint32_t(style), out, msg)
	})
}

// SetHistoryLimit bounds the history to n entries (0 = unlimited),
// dropping the oldest ones beyond it.
func (s *Session) SetHistoryLimit(n int) error {
	if n < 0 {
		return goError(StatusInvalidArgument, "evident: history limit must not be negative")
	}
	return s.call(true, func(h *C.evident_session, msg **C.char) C.evident_status {
		return C.evgo_session_set_history_limit(h, C.uint64_t(n), msg)
	})
}

// --- files ---

// Save saves the session to path ("" = the file it was loaded from or last
// saved to). Saving appends what changed since the last save plus a commit
// record; a crash during Save leaves the previous version loadable. Traces
// already in the file are reused, not written again. Saving to another
// file writes everything.
func (s *Session) Save(path string, opts *SaveOptions) (SaveInfo, error) {
	if opts == nil {
		opts = &SaveOptions{}
	}
	if hasNUL(path) {
		return SaveInfo{}, nulPath()
	}
	if opts.LockTimeout < 0 {
		return SaveInfo{}, goError(StatusInvalidArgument, "evident: LockTimeout must not be negative")
	}
	if opts.Compress < math.MinInt32 || opts.Compress > math.MaxInt32 {
		return SaveInfo{}, goError(StatusInvalidArgument, "evident: Compress level out of range")
	}
	var cs cstrings
	defer cs.wipe()
	a := C.evgo_save_args{path: cs.addOpt(path), key: cs.addBytes(opts.Key), key_len: C.size_t(len(opts.Key)),
		include_traces: C.bool(!opts.ExcludeTraces), sync: C.bool(!opts.NoSync)}
	if opts.Compress != 0 {
		a.set_compress, a.compress = true, C.int32_t(opts.Compress)
	}
	if opts.LockTimeout != 0 {
		ms := (opts.LockTimeout + time.Millisecond - 1) / time.Millisecond
		a.set_lock_timeout, a.lock_timeout_ms = true, C.uint64_t(ms)
	}
	if l := opts.AuditLog; l != nil {
		l.mu.RLock() // the log must not be closed during the save
		defer l.mu.RUnlock()
		if l.h == nil {
			return SaveInfo{}, l.closedError()
		}
		a.audit = l.h
	}
	text, err := s.text(true, func(h *C.evident_session, out, msg **C.char) C.evident_status {
		return C.evgo_session_save(h, cs.ptr(), &a, out, msg)
	})
	runtime.KeepAlive(opts.AuditLog)
	runtime.KeepAlive(&cs)
	if err != nil || text == "" {
		return SaveInfo{}, err
	}
	return decodeAs(text, nil, SaveInfo{})
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

// SessionVersions lists the complete versions saved in the session file at
// path, oldest first (key: the file's HMAC key, nil for a keyless file).
func SessionVersions(path string, key []byte) ([]VersionInfo, error) {
	return sessionFile(C.EVGO_SESSION_FILE_VERSIONS, path, key, []VersionInfo{})
}

// CompactSession rewrites the session file at path with only its newest
// version (atomically: temporary file, fsync, rename, fsync of the
// directory).
func CompactSession(path string, key []byte) (CompactInfo, error) {
	return sessionFile(C.EVGO_SESSION_FILE_COMPACT, path, key, CompactInfo{})
}

// VerifySession checks every record, hash and trace of the session file
// at path. Problems found in the file are in the report (OK false); the
// error is for a file that cannot be read at all.
func VerifySession(path string, key []byte) (SessionReport, error) {
	return sessionFile(C.EVGO_SESSION_FILE_VERIFY, path, key, SessionReport{})
}

// --- trace views ---

// Trace is a read-only view of a trace's samples, obtained with
// Session.GetTrace. The samples of a loaded session are memory-mapped from
// the file, not copied; compressed traces are decompressed once, on first
// access.
//
// The slices returned by Bytes, Float64s, ..., Bits alias that native
// memory:
//   - they are valid until Close, and must not be used after it;
//   - they are read-only (writing to a mapped trace crashes the program);
//   - keep the Trace itself reachable while you use them (defer t.Close()
//     does). A Trace that is garbage-collected without Close after it
//     handed out a slice is not freed (its memory leaks), so that a slice
//     never outlives its memory; one that never did is freed by a
//     finalizer.
//
// A Trace is safe for concurrent use; Close waits for calls in flight.
type Trace struct {
	mu sync.RWMutex
	h  *C.evident_trace

	name               string
	dtype              DType
	n, nbytes          uint64
	mapped, compressed bool
	info               TraceInfo

	exposed atomic.Bool // a slice was handed out
}

// finalize frees a Trace that was not closed, unless it handed out slices
// (which may still be in use without a reference to t).
func (t *Trace) finalize() {
	if !t.exposed.Load() {
		t.Close()
	}
}

// Close frees the trace (its mapping, when no other Trace or Session holds
// it). Slices obtained from it must not be used afterwards. Closing twice
// is fine.
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
func (t *Trace) Name() string { return t.name }

// DType returns the sample type.
func (t *Trace) DType() DType { return t.dtype }

// Len returns the number of samples.
func (t *Trace) Len() uint64 { return t.n }

// ByteLen returns the size of the samples in bytes.
func (t *Trace) ByteLen() uint64 { return t.nbytes }

// Mapped reports whether the samples are read straight from the file's
// memory mapping (no copy).
func (t *Trace) Mapped() bool { return t.mapped }

// Compressed reports whether the trace is stored compressed.
func (t *Trace) Compressed() bool { return t.compressed }

// Info returns the trace's sample rate, start time, units and metadata.
// The Metadata map is shared by every call: do not modify it.
func (t *Trace) Info() TraceInfo { return t.info }

// Verify checks the stored samples against the SHA-256 in the file's
// hash-chained trace record (nothing to check for a trace not saved yet).
func (t *Trace) Verify() error {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.h == nil {
		return t.closedError()
	}
	defer runtime.KeepAlive(t)
	return callC(func(msg **C.char) C.evident_status { return C.evgo_trace_verify(t.h, msg) })
}

func (t *Trace) closedError() error {
	return goError(StatusClosed, "evident: trace "+strconv.Quote(t.name)+" is closed")
}

// data returns the samples as a []T of n elements (n: samples, or bytes
// for Bytes and Bits); t.mu is read-locked. The library checks them and
// aligns them for their dtype.
func data[T any](t *Trace, bytes bool) ([]T, error) {
	if t.h == nil {
		return nil, t.closedError()
	}
	var p unsafe.Pointer
	var n, nb C.uint64_t
	var dt C.uint32_t
	err := callC(func(msg **C.char) C.evident_status { return C.evgo_trace_data(t.h, &p, &n, &nb, &dt, msg) })
	runtime.KeepAlive(t)
	if bytes {
		n = nb
	}
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return []T{}, nil
	}
	if uint64(nb) > math.MaxInt {
		return nil, goError(StatusTooLarge, fmt.Sprintf("evident: trace %q: %d bytes do not fit in a Go slice", t.name, nb))
	}
	t.exposed.Store(true)
	return unsafe.Slice((*T)(p), int(n)), nil
}

// Bytes returns the raw little-endian sample bytes (any dtype).
func (t *Trace) Bytes() ([]byte, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return data[byte](t, true)
}

// samples returns the samples of t as a []T when t's dtype is want.
func samples[T any](t *Trace, want DType) ([]T, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.h == nil {
		return nil, t.closedError()
	}
	if t.dtype != want {
		return nil, goError(StatusInvalidArgument,
			fmt.Sprintf("evident: trace %q holds %s samples, not %s", t.name, t.dtype, want))
	}
	var zero T
	if !littleEndian && unsafe.Sizeof(zero) > 1 {
		return nil, goError(StatusUnsupported, "evident: typed sample access needs a little-endian machine (use Bytes)")
	}
	return data[T](t, want == DTypeBit)
}

// littleEndian: the typed accessors alias little-endian samples.
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// Float64s returns the samples of an f64 trace (see Trace for how long the
// slice is valid). Another dtype gives ErrInvalidArgument.
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

// Bools returns the samples of a bool trace. (The library checks that
// every byte is 0 or 1, ErrMalformed otherwise: a Go bool must be.)
func (t *Trace) Bools() ([]bool, error) { return samples[bool](t, DTypeBool) }

// Bits returns the packed samples of a bit trace: Len() bits, least
// significant bit first, in ceil(Len()/8) bytes (see Bit).
func (t *Trace) Bits() ([]byte, error) { return samples[byte](t, DTypeBit) }

// Bit returns bit i of packed bits as returned by Bits.
func Bit(packed []byte, i uint64) bool { return packed[i/8]>>(i%8)&1 == 1 }
