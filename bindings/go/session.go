package evident

/*
#include "shim.h"
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// This file is the session container: a crash-safe, versioned file that
// saves an analysis session (traces, annotation layers, measurements,
// operation history, metadata). See "Session container" in README.md.

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

var dtypeNames = map[DType]string{
	DTypeF64: "f64", DTypeF32: "f32", DTypeI8: "i8", DTypeI16: "i16", DTypeI32: "i32", DTypeI64: "i64",
	DTypeU8: "u8", DTypeU16: "u16", DTypeU32: "u32", DTypeU64: "u64", DTypeBool: "bool", DTypeBit: "bit",
}

// String returns the name of the dtype as in the file format ("f64", ...,
// "bool", "bit").
func (d DType) String() string {
	if n, ok := dtypeNames[d]; ok {
		return n
	}
	return "DType(" + strconv.FormatUint(uint64(d), 10) + ")"
}

// ParseDType returns the dtype named n ("f64", ..., "bool", "bit") or by
// one of its common aliases ("float64", "double", "float", "float32",
// "int8" ... "uint64", "bool_", "bits"), case-insensitively (the library's
// rule, the same in C, Python and the CLI).
func ParseDType(n string) (DType, bool) {
	if checkString("dtype", n) != nil {
		return 0, false
	}
	var cs cstrings
	o := cs.add(n)
	var code C.uint32_t
	var msg *C.char
	st := C.evgo_dtype_from_name(cs.at(o), &code, &msg)
	runtime.KeepAlive(&cs)
	if statusError(st, msg) != nil {
		return 0, false
	}
	return DType(code), true
}

// sampleSize is the size of one sample in bytes (0 for DTypeBit).
func (d DType) sampleSize() uintptr {
	switch d {
	case DTypeF64, DTypeI64, DTypeU64:
		return 8
	case DTypeF32, DTypeI32, DTypeU32:
		return 4
	case DTypeI16, DTypeU16:
		return 2
	case DTypeI8, DTypeU8, DTypeBool:
		return 1
	}
	return 0
}

// byteLen is the number of bytes of n samples of d.
func (d DType) byteLen(n uint64) (uint64, bool) {
	if d == DTypeBit {
		return n/8 + min(n%8, 1), true
	}
	sz := uint64(d.sampleSize())
	if sz == 0 || n > math.MaxUint64/sz {
		return 0, false
	}
	return n * sz, true
}

// littleEndian: the samples are little-endian; the typed accessors alias
// them, so they need a little-endian machine.
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// TraceInfo describes a trace's samples.
type TraceInfo struct {
	// SampleRate in Hz, finite and > 0. Zero in AddTrace means the
	// library default, 1 Hz.
	SampleRate float64 `json:"sample_rate"`
	// StartTime of the first sample, in seconds (finite).
	StartTime float64 `json:"start_time"`
	// Units of the samples ("" when unknown).
	Units string `json:"units"`
	// Metadata is free-form data, encoded with encoding/json (read back as
	// encoding/json decodes into any: numbers are float64).
	Metadata map[string]any `json:"metadata"`
}

// AnnotationType is the type of an annotation.
type AnnotationType string

const (
	// AnnotationPoint: a single time point (Time).
	AnnotationPoint AnnotationType = "point"
	// AnnotationRange: a time range (TimeRange).
	AnnotationRange AnnotationType = "range"
	// AnnotationVertical: a vertical line at a time (Time).
	AnnotationVertical AnnotationType = "vertical"
	// AnnotationHorizontal: a horizontal line at an amplitude (Amplitude).
	AnnotationHorizontal AnnotationType = "horizontal"
	// AnnotationRegion: a time range and an amplitude range.
	AnnotationRegion AnnotationType = "region"
	// AnnotationText: free-floating text.
	AnnotationText AnnotationType = "text"
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

// LayerAnnotation is an annotation with the name of its layer (Annotations).
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
// fields keep the current value (for a new layer: visible, unlocked, no
// colour, no description); Color set to "" removes the colour. Properties
// can be changed on a locked layer, so this is also how a layer is
// unlocked.
type LayerProps struct {
	Name        string
	Visible     *bool
	Locked      *bool
	Color       *string
	Description *string
}

// Measurement is a recorded measurement result.
type Measurement struct {
	// Name is required (e.g. "rise_time").
	Name string `json:"name"`
	// Value is any value encoding/json encodes (read back as encoding/json
	// decodes into any: numbers are float64).
	Value     any            `json:"value"`
	Unit      string         `json:"unit"`
	TraceName string         `json:"trace_name"` // "" = none
	Metadata  map[string]any `json:"metadata"`
	// RecordedAt: zero means now.
	RecordedAt time.Time `json:"recorded_at"`
}

// HistoryEntry is one operation of the session's history.
type HistoryEntry struct {
	// Operation is required (the function or method called).
	Operation  string         `json:"operation"`
	Parameters map[string]any `json:"parameters"`
	Result     any            `json:"result"`
	// Timestamp: zero means now.
	Timestamp  time.Time `json:"timestamp"`
	DurationMs float64   `json:"duration_ms"`
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
	// Path is the file the session was loaded from or last saved to ("" for
	// a new session).
	Path string `json:"path"`
	// Version is the version loaded or last saved (0 for a new session).
	Version uint64 `json:"version"`
	// Commit is the hash of that version's commit record, lowercase hex.
	Commit       string `json:"commit"`
	Traces       int    `json:"traces"`
	Layers       int    `json:"layers"`
	Annotations  int    `json:"annotations"`
	Measurements int    `json:"measurements"`
	History      int    `json:"history"`
	// HistoryLimit is the bound on history entries (0 = unlimited).
	HistoryLimit int `json:"history_limit"`
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
	// same file (rounded up to milliseconds; 0 = the library default, 10 s).
	// When it runs out Save returns ErrLocked naming the holder.
	LockTimeout time.Duration
	// AuditLog, when set, receives an entry naming the saved version and its
	// commit hash, so the audit trail proves which version existed when.
	// Save holds it open for the call. If that append fails, Save returns
	// its error after the session file was written.
	AuditLog *Log
}

// SaveInfo is the result of Save.
type SaveInfo struct {
	Path    string `json:"path"`
	Version uint64 `json:"version"`
	// Commit is the new version's commit hash, lowercase hex.
	Commit string `json:"commit"`
	// BytesWritten is the number of bytes appended to the file.
	BytesWritten uint64 `json:"bytes_written"`
	// TracesWritten counts the traces whose samples this save wrote;
	// TracesReused those already in the file, only named by the new commit.
	TracesWritten int `json:"traces_written"`
	TracesReused  int `json:"traces_reused"`
	// SampleBytesWritten is the part of BytesWritten holding samples.
	SampleBytesWritten uint64 `json:"sample_bytes_written"`
}

// VersionInfo describes one saved version of a session file.
type VersionInfo struct {
	Version uint64 `json:"version"`
	Commit  string `json:"commit"`
	// TS is when the version was saved.
	TS time.Time `json:"ts"`
	// Name is the session's name in that version.
	Name         string `json:"name"`
	Traces       int    `json:"traces"`
	Layers       int    `json:"layers"`
	Annotations  int    `json:"annotations"`
	Measurements int    `json:"measurements"`
	History      int    `json:"history"`
	// TraceBytes is the size of the version's samples.
	TraceBytes uint64 `json:"trace_bytes"`
	// Offset of the version's commit record in the file.
	Offset uint64 `json:"offset"`
	// CompactedFrom is, for the first version of a compacted file, the
	// version it was made from (nil otherwise).
	CompactedFrom *CompactedFrom `json:"compacted_from"`
}

// CompactedFrom names the version a compacted file was made from.
type CompactedFrom struct {
	Version uint64 `json:"version"`
	Commit  string `json:"commit"`
}

// CompactInfo is the result of CompactSession.
type CompactInfo struct {
	// Version is the version kept (it keeps its number).
	Version uint64 `json:"version"`
	// Commit is its new commit hash.
	Commit      string `json:"commit"`
	BytesBefore uint64 `json:"bytes_before"`
	BytesAfter  uint64 `json:"bytes_after"`
}

// SessionReport is the result of VerifySession.
type SessionReport struct {
	Path string `json:"path"`
	// OK is true when nothing is damaged, every version loads and every
	// sample hash matches (a torn tail alone does not make it false).
	OK bool `json:"ok"`
	// Versions is the number of complete versions.
	Versions int `json:"versions"`
	// Problems are one-line messages, each naming the byte offset.
	Problems []string `json:"problems"`
	// ProblemDetails are the same problems as structured data.
	ProblemDetails []SessionProblem `json:"problem_details"`
	// TornTailAt is the offset of an incomplete save at the end (an
	// interrupted write; the next save moves it aside), nil when there is
	// none.
	TornTailAt *uint64 `json:"torn_tail_at"`
	// HeadVersion and HeadCommit are the newest version (0 and "" when
	// there is none).
	HeadVersion uint64 `json:"head_version"`
	HeadCommit  string `json:"head_commit"`
	// IncompleteVersions are versions whose commit lies in the uncommitted
	// tail: saved without sync, they lost pages in a power cut (the next
	// save moves them aside with the tail).
	IncompleteVersions []uint64 `json:"incomplete_versions"`
	Records            uint64   `json:"records"`
	DataFrames         uint64   `json:"data_frames"`
	Bytes              uint64   `json:"bytes"`
	SampleBytesChecked uint64   `json:"sample_bytes_checked"`
}

// SessionProblem is one problem found by VerifySession.
type SessionProblem struct {
	Offset uint64 `json:"offset"`
	// Seq is the record's seq, nil when it has none (or is unreadable).
	Seq     *uint64 `json:"seq"`
	Message string  `json:"message"`
}

// LoadSessionOptions for LoadSession; nil means keyless, newest version.
type LoadSessionOptions struct {
	// Key is the file's HMAC key (nil for a keyless file).
	Key []byte
	// Version to load (0 = the newest complete one).
	Version uint64
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
	// generation infoGen, so properties are not decoded again until the
	// session changes.
	gen     atomic.Uint64
	cacheMu sync.Mutex
	info    SessionInfo
	infoGen uint64
	infoOK  bool
}

func newSessionHandle(h *C.evident_session) *Session {
	s := &Session{h: h}
	runtime.SetFinalizer(s, (*Session).Close)
	return s
}

// NewSession returns a new, empty session named name.
func NewSession(name string) (*Session, error) {
	var cs cstrings
	if err := checkString("session name", name); err != nil {
		return nil, err
	}
	off := cs.add(name)
	var h *C.evident_session
	var msg *C.char
	st := C.evgo_session_new(cs.at(off), &h, &msg)
	runtime.KeepAlive(&cs)
	if err := statusError(st, msg); err != nil {
		return nil, err
	}
	return newSessionHandle(h), nil
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
		return nil, goError(StatusInvalidArgument, "evident: path contains a NUL byte")
	}
	var cs cstrings
	defer cs.wipe()
	p := cs.add(path)
	k := cs.addBytes(opts.Key)
	var h *C.evident_session
	var msg *C.char
	st := C.evgo_session_load(cs.at(p), cs.bytesAt(k), C.size_t(len(opts.Key)), C.uint64_t(opts.Version), &h, &msg)
	runtime.KeepAlive(&cs)
	if err := statusError(st, msg); err != nil {
		return nil, err
	}
	return newSessionHandle(h), nil
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

func sessionClosed() error { return goError(StatusClosed, "evident: session is closed") }

// lock write-locks s and returns its handle, or ErrClosed (unlocked
// again).
func (s *Session) lock() (*C.evident_session, error) {
	s.mu.Lock()
	if s.h == nil {
		s.mu.Unlock()
		return nil, sessionClosed()
	}
	s.gen.Add(1) // what was read before may change now
	return s.h, nil
}

// rlock is lock for reading (unlock with s.mu.RUnlock).
func (s *Session) rlock() (*C.evident_session, error) {
	s.mu.RLock()
	if s.h == nil {
		s.mu.RUnlock()
		return nil, sessionClosed()
	}
	return s.h, nil
}

// get runs one of the session's JSON getters and returns its text.
func (s *Session) get(what C.int) (string, error) {
	h, err := s.rlock()
	if err != nil {
		return "", err
	}
	defer s.mu.RUnlock()
	var out, msg *C.char
	st := C.evgo_session_get(h, what, &out, &msg)
	runtime.KeepAlive(s)
	if err := statusError(st, msg); err != nil {
		return "", err
	}
	return takeString(out), nil
}

// getJSON runs a JSON getter and decodes its result into v.
func (s *Session) getJSON(what C.int, v any) error {
	text, err := s.get(what)
	if err != nil {
		return err
	}
	return decodeJSON(text, v)
}

// set runs one of the session's one-string setters.
func (s *Session) set(what C.int, arg string) error {
	var cs cstrings
	off := cs.add(arg)
	h, err := s.lock()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	var msg *C.char
	st := C.evgo_session_set(h, what, cs.at(off), &msg)
	runtime.KeepAlive(s)
	runtime.KeepAlive(&cs)
	return statusError(st, msg)
}

// setJSON encodes v and passes it to a setter.
func (s *Session) setJSON(what C.int, v any) error {
	b, err := encodeJSON(v)
	if err != nil {
		return err
	}
	return s.set(what, string(b))
}

// Info returns the session's name, times, file, version and counts.
func (s *Session) Info() (SessionInfo, error) {
	// A change between reading gen and the fetch leaves the cache under an
	// old generation: it is then never used.
	gen := s.gen.Load()
	s.cacheMu.Lock()
	if s.infoOK && s.infoGen == gen {
		info := s.info
		s.cacheMu.Unlock()
		return info, nil
	}
	s.cacheMu.Unlock()
	var info SessionInfo
	if err := s.getJSON(C.EVGO_SESSION_INFO, &info); err != nil {
		return SessionInfo{}, err
	}
	s.cacheMu.Lock()
	s.info, s.infoGen, s.infoOK = info, gen, true
	s.cacheMu.Unlock()
	return info, nil
}

// Name returns the session's name ("" after Close).
func (s *Session) Name() string {
	info, err := s.Info()
	if err != nil {
		return ""
	}
	return info.Name
}

// SetName renames the session.
func (s *Session) SetName(name string) error {
	if err := checkString("session name", name); err != nil {
		return err
	}
	return s.set(C.EVGO_SESSION_SET_NAME, name)
}

// Metadata returns the session's metadata (never nil).
func (s *Session) Metadata() (map[string]any, error) {
	m := map[string]any{}
	if err := s.getJSON(C.EVGO_SESSION_METADATA, &m); err != nil {
		return nil, err
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// SetMetadata replaces the session's metadata (nil clears it).
func (s *Session) SetMetadata(m map[string]any) error {
	if m == nil {
		m = map[string]any{}
	}
	if err := checkValue("metadata", m); err != nil {
		return err
	}
	return s.setJSON(C.EVGO_SESSION_SET_METADATA, m)
}

// Summary returns a human-readable summary of the session (like TraceKit's
// Session.summary()).
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

// sampleData returns the address, count and dtype of a supported slice.
func sampleData(samples any) (unsafe.Pointer, int, DType, error) {
	switch v := samples.(type) {
	case []float64:
		return unsafe.Pointer(unsafe.SliceData(v)), len(v), DTypeF64, nil
	case []float32:
		return unsafe.Pointer(unsafe.SliceData(v)), len(v), DTypeF32, nil
	case []int8:
		return unsafe.Pointer(unsafe.SliceData(v)), len(v), DTypeI8, nil
	case []int16:
		return unsafe.Pointer(unsafe.SliceData(v)), len(v), DTypeI16, nil
	case []int32:
		return unsafe.Pointer(unsafe.SliceData(v)), len(v), DTypeI32, nil
	case []int64:
		return unsafe.Pointer(unsafe.SliceData(v)), len(v), DTypeI64, nil
	case []uint8:
		return unsafe.Pointer(unsafe.SliceData(v)), len(v), DTypeU8, nil
	case []uint16:
		return unsafe.Pointer(unsafe.SliceData(v)), len(v), DTypeU16, nil
	case []uint32:
		return unsafe.Pointer(unsafe.SliceData(v)), len(v), DTypeU32, nil
	case []uint64:
		return unsafe.Pointer(unsafe.SliceData(v)), len(v), DTypeU64, nil
	case []bool:
		return unsafe.Pointer(unsafe.SliceData(v)), len(v), DTypeBool, nil
	}
	return nil, 0, 0, goError(StatusInvalidArgument,
		fmt.Sprintf("evident: samples of type %T: want []float64, []float32, []int8..[]int64, []uint8..[]uint64 or []bool", samples))
}

// emptySamples is the address passed for a trace without samples (the
// library wants a valid, aligned pointer even for no bytes).
var emptySamples [8]uint64

// AddTrace adds a trace named name holding a copy of samples, one of
// []float64, []float32, []int8, []int16, []int32, []int64, []uint8,
// []uint16, []uint32, []uint64, []bool; a trace of the same name is
// replaced. For packed digital channels use AddBitTrace.
func (s *Session) AddTrace(name string, samples any, info TraceInfo) error {
	p, n, dt, err := sampleData(samples)
	if err != nil {
		return err
	}
	err = s.addTrace(name, dt, p, uint64(n), info)
	runtime.KeepAlive(samples)
	return err
}

// AddBitTrace adds a digital trace of n samples packed in bits, least
// significant bit first: len(packed) must be ceil(n/8).
func (s *Session) AddBitTrace(name string, packed []byte, n uint64, info TraceInfo) error {
	if want, _ := DTypeBit.byteLen(n); uint64(len(packed)) != want {
		return goError(StatusInvalidArgument,
			fmt.Sprintf("evident: trace %q: %d bits need %d bytes, got %d", name, n, want, len(packed)))
	}
	err := s.addTrace(name, DTypeBit, unsafe.Pointer(unsafe.SliceData(packed)), n, info)
	runtime.KeepAlive(packed)
	return err
}

func (s *Session) addTrace(name string, dt DType, p unsafe.Pointer, n uint64, info TraceInfo) error {
	if err := checkString("trace name", name); err != nil {
		return err
	}
	if err := checkString("units", info.Units); err != nil {
		return err
	}
	if err := checkValue("metadata", info.Metadata); err != nil {
		return err
	}
	w := struct {
		SampleRate float64        `json:"sample_rate,omitempty"`
		StartTime  float64        `json:"start_time"`
		Units      string         `json:"units"`
		Metadata   map[string]any `json:"metadata,omitempty"`
	}{info.SampleRate, info.StartTime, info.Units, info.Metadata}
	infoJSON, err := encodeJSON(w)
	if err != nil {
		return err
	}
	if n == 0 {
		p = unsafe.Pointer(&emptySamples[0])
	}
	var cs cstrings
	no := cs.add(name)
	io := cs.add(string(infoJSON))
	h, err := s.lock()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	var msg *C.char
	st := C.evgo_session_add_trace(h, cs.at(no), C.uint32_t(dt), p, C.uint64_t(n), cs.at(io), &msg)
	runtime.KeepAlive(s)
	runtime.KeepAlive(&cs)
	return statusError(st, msg)
}

// LoadTrace imports a CSV or .npy file as a trace named name ("" = the
// file name without its extension) and returns the name.
func (s *Session) LoadTrace(path, name string) (string, error) {
	if hasNUL(path) {
		return "", goError(StatusInvalidArgument, "evident: path contains a NUL byte")
	}
	if err := checkString("trace name", name); err != nil {
		return "", err
	}
	var cs cstrings
	po := cs.add(path)
	no := cs.addOpt(name)
	h, err := s.lock()
	if err != nil {
		return "", err
	}
	defer s.mu.Unlock()
	var out, msg *C.char
	st := C.evgo_session_load_trace(h, cs.at(po), cs.at(no), &out, &msg)
	runtime.KeepAlive(s)
	runtime.KeepAlive(&cs)
	if err := statusError(st, msg); err != nil {
		C.evident_string_free(out)
		return "", err
	}
	return takeString(out), nil
}

// RemoveTrace removes the trace named name (ErrNotFound if there is none).
func (s *Session) RemoveTrace(name string) error {
	if err := checkString("trace name", name); err != nil {
		return err
	}
	return s.set(C.EVGO_SESSION_REMOVE_TRACE, name)
}

// TraceNames returns the names of the traces in the order they were added.
func (s *Session) TraceNames() ([]string, error) {
	names := []string{}
	if err := s.getJSON(C.EVGO_SESSION_TRACE_NAMES, &names); err != nil {
		return nil, err
	}
	return names, nil
}

// GetTrace returns the trace named name (ErrNotFound if there is none).
// The Trace is independent of the Session (it stays valid after
// Session.Close) and must be closed.
func (s *Session) GetTrace(name string) (*Trace, error) {
	if err := checkString("trace name", name); err != nil {
		return nil, err
	}
	var cs cstrings
	no := cs.add(name)
	h, err := s.rlock()
	if err != nil {
		return nil, err
	}
	var th *C.evident_trace
	var info, msg *C.char
	st := C.evgo_session_get_trace(h, cs.at(no), &th, &info, &msg)
	runtime.KeepAlive(s)
	runtime.KeepAlive(&cs)
	s.mu.RUnlock()
	if err := statusError(st, msg); err != nil {
		return nil, err
	}
	t := &Trace{h: th}
	runtime.SetFinalizer(t, (*Trace).finalize)
	var w struct {
		TraceInfo
		Name       string `json:"name"`
		DType      string `json:"dtype"`
		Len        uint64 `json:"len"`
		Bytes      uint64 `json:"bytes"`
		Mapped     bool   `json:"mapped"`
		Compressed bool   `json:"compressed"`
	}
	if err := decodeJSON(takeString(info), &w); err != nil {
		t.Close()
		return nil, err
	}
	dt, ok := ParseDType(w.DType)
	if !ok {
		t.Close()
		return nil, goError(StatusMalformed, fmt.Sprintf("evident: trace %q has unknown dtype %q", name, w.DType))
	}
	if w.Metadata == nil {
		w.Metadata = map[string]any{}
	}
	t.name, t.dtype, t.n, t.nbytes = w.Name, dt, w.Len, w.Bytes
	t.mapped, t.compressed, t.info = w.Mapped, w.Compressed, w.TraceInfo
	return t, nil
}

// SetLayer creates the layer props.Name or changes its properties.
func (s *Session) SetLayer(props LayerProps) error {
	for _, f := range []struct{ what, v string }{{"layer name", props.Name}, {"colour", deref(props.Color)},
		{"description", deref(props.Description)}} {
		if err := checkString(f.what, f.v); err != nil {
			return err
		}
	}
	w := struct {
		Name        string  `json:"name"`
		Visible     *bool   `json:"visible,omitempty"`
		Locked      *bool   `json:"locked,omitempty"`
		Color       *string `json:"color,omitempty"`
		Description *string `json:"description,omitempty"`
	}{props.Name, props.Visible, props.Locked, props.Color, props.Description}
	return s.setJSON(C.EVGO_SESSION_SET_LAYER, w)
}

// Annotate adds an annotation to layer (created when missing). A locked
// layer gives ErrLayerLocked.
func (s *Session) Annotate(layer string, a Annotation) error {
	if err := checkString("layer name", layer); err != nil {
		return err
	}
	for _, f := range []struct{ what, v string }{{"annotation text", a.Text}, {"annotation type", string(a.Type)},
		{"colour", a.Color}, {"style", a.Style}} {
		if err := checkString(f.what, f.v); err != nil {
			return err
		}
	}
	if err := checkValue("metadata", a.Metadata); err != nil {
		return err
	}
	w := struct {
		Text           string         `json:"text"`
		Type           AnnotationType `json:"type,omitempty"`
		Time           *float64       `json:"time,omitempty"`
		TimeRange      *[2]float64    `json:"time_range,omitempty"`
		Amplitude      *float64       `json:"amplitude,omitempty"`
		AmplitudeRange *[2]float64    `json:"amplitude_range,omitempty"`
		Color          string         `json:"color,omitempty"`
		Style          string         `json:"style,omitempty"`
		Visible        *bool          `json:"visible,omitempty"`
		CreatedAt      *time.Time     `json:"created_at,omitempty"`
		Metadata       map[string]any `json:"metadata,omitempty"`
	}{a.Text, a.Type, a.Time, a.TimeRange, a.Amplitude, a.AmplitudeRange, a.Color, a.Style, a.Visible,
		timeOpt(a.CreatedAt), a.Metadata}
	b, err := encodeJSON(w)
	if err != nil {
		return err
	}
	var cs cstrings
	lo := cs.add(layer)
	jo := cs.add(string(b))
	h, err := s.lock()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	var msg *C.char
	st := C.evgo_session_annotate(h, cs.at(lo), cs.at(jo), &msg)
	runtime.KeepAlive(s)
	runtime.KeepAlive(&cs)
	return statusError(st, msg)
}

// ClearLayer removes every annotation of a layer (ErrLayerLocked when it is
// locked, ErrNotFound when there is no such layer).
func (s *Session) ClearLayer(layer string) error {
	if err := checkString("layer name", layer); err != nil {
		return err
	}
	return s.set(C.EVGO_SESSION_CLEAR_LAYER, layer)
}

// RemoveLayer removes a layer and its annotations (ErrLayerLocked when it
// is locked, ErrNotFound when there is no such layer).
func (s *Session) RemoveLayer(layer string) error {
	if err := checkString("layer name", layer); err != nil {
		return err
	}
	return s.set(C.EVGO_SESSION_REMOVE_LAYER, layer)
}

// Layers returns the annotation layers with their annotations.
func (s *Session) Layers() ([]Layer, error) {
	ls := []Layer{}
	if err := s.getJSON(C.EVGO_SESSION_LAYERS, &ls); err != nil {
		return nil, err
	}
	for i := range ls {
		if ls[i].Annotations == nil {
			ls[i].Annotations = []Annotation{}
		}
	}
	return ls, nil
}

// Annotations returns the annotations of layer ("" = every layer), and,
// when timeRange is not nil, only those within [t0, t1]: point and vertical
// annotations whose time is in it, range and region annotations that
// overlap it (horizontal and text annotations, having no time, are left
// out).
func (s *Session) Annotations(layer string, timeRange *[2]float64) ([]LayerAnnotation, error) {
	if err := checkString("layer name", layer); err != nil {
		return nil, err
	}
	var cs cstrings
	lo := cs.addOpt(layer)
	var has C.bool
	var t0, t1 C.double
	if timeRange != nil {
		has, t0, t1 = true, C.double(timeRange[0]), C.double(timeRange[1])
	}
	h, err := s.rlock()
	if err != nil {
		return nil, err
	}
	var out, msg *C.char
	st := C.evgo_session_annotations(h, cs.at(lo), has, t0, t1, &out, &msg)
	runtime.KeepAlive(s)
	runtime.KeepAlive(&cs)
	s.mu.RUnlock()
	if err := statusError(st, msg); err != nil {
		return nil, err
	}
	as := []LayerAnnotation{}
	if err := decodeJSON(takeString(out), &as); err != nil {
		return nil, err
	}
	return as, nil
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
	var cs cstrings
	lo := cs.add(layer)
	h, err := s.lock()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	var msg *C.char
	st := C.evgo_session_remove_annotation(h, cs.at(lo), C.uint64_t(index), &msg)
	runtime.KeepAlive(s)
	runtime.KeepAlive(&cs)
	return statusError(st, msg)
}

// RecordMeasurement records a measurement (Name is required).
func (s *Session) RecordMeasurement(m Measurement) error {
	for _, f := range []struct{ what, v string }{{"measurement name", m.Name}, {"unit", m.Unit},
		{"trace name", m.TraceName}} {
		if err := checkString(f.what, f.v); err != nil {
			return err
		}
	}
	if err := checkValue("measurement value", m.Value); err != nil {
		return err
	}
	if err := checkValue("metadata", m.Metadata); err != nil {
		return err
	}
	var traceName *string
	if m.TraceName != "" {
		traceName = &m.TraceName
	}
	w := struct {
		Name       string         `json:"name"`
		Value      any            `json:"value"`
		Unit       string         `json:"unit"`
		TraceName  *string        `json:"trace_name,omitempty"`
		Metadata   map[string]any `json:"metadata,omitempty"`
		RecordedAt *time.Time     `json:"recorded_at,omitempty"`
	}{m.Name, m.Value, m.Unit, traceName, m.Metadata, timeOpt(m.RecordedAt)}
	return s.setJSON(C.EVGO_SESSION_RECORD_MEASUREMENT, w)
}

// Measurements returns the recorded measurements, oldest first.
func (s *Session) Measurements() ([]Measurement, error) {
	ms := []Measurement{}
	if err := s.getJSON(C.EVGO_SESSION_MEASUREMENTS, &ms); err != nil {
		return nil, err
	}
	return ms, nil
}

// RecordHistory appends an entry to the operation history (Operation is
// required). When the history limit is reached the oldest entry is
// dropped.
func (s *Session) RecordHistory(e HistoryEntry) error {
	for _, f := range []struct{ what, v string }{{"operation", e.Operation}, {"error message", e.ErrorMessage}} {
		if err := checkString(f.what, f.v); err != nil {
			return err
		}
	}
	for _, v := range []struct {
		what string
		v    any
	}{{"parameters", e.Parameters}, {"result", e.Result}, {"metadata", e.Metadata}} {
		if err := checkValue(v.what, v.v); err != nil {
			return err
		}
	}
	var errMsg *string
	if e.ErrorMessage != "" {
		errMsg = &e.ErrorMessage
	}
	w := struct {
		Operation    string         `json:"operation"`
		Parameters   map[string]any `json:"parameters,omitempty"`
		Result       any            `json:"result"`
		Timestamp    *time.Time     `json:"timestamp,omitempty"`
		DurationMs   float64        `json:"duration_ms"`
		Success      *bool          `json:"success,omitempty"`
		ErrorMessage *string        `json:"error_message,omitempty"`
		Metadata     map[string]any `json:"metadata,omitempty"`
	}{e.Operation, e.Parameters, e.Result, timeOpt(e.Timestamp), e.DurationMs, e.Success, errMsg, e.Metadata}
	return s.setJSON(C.EVGO_SESSION_RECORD_HISTORY, w)
}

// History returns the operation history, oldest first.
func (s *Session) History() ([]HistoryEntry, error) {
	es := []HistoryEntry{}
	if err := s.getJSON(C.EVGO_SESSION_HISTORY, &es); err != nil {
		return nil, err
	}
	return es, nil
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

// HistorySummary returns statistics of the operation history (computed by
// the library, as Python's OperationHistory.summary()).
func (s *Session) HistorySummary() (HistorySummary, error) {
	var sum HistorySummary
	err := s.getJSON(C.EVGO_SESSION_HISTORY_SUMMARY, &sum)
	return sum, err
}

// Script layouts of HistoryScript.
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
	for _, f := range []struct{ what, v string }{{"module", module}, {"alias", alias}} {
		if err := checkString(f.what, f.v); err != nil {
			return "", err
		}
	}
	var cs cstrings
	mo, ao := cs.addOpt(module), cs.addOpt(alias)
	h, err := s.rlock()
	if err != nil {
		return "", err
	}
	defer s.mu.RUnlock()
	var out, msg *C.char
	st := C.evgo_session_history_script(h, cs.at(mo), cs.at(ao), C.uint32_t(style), &out, &msg)
	runtime.KeepAlive(s)
	runtime.KeepAlive(&cs)
	if err := statusError(st, msg); err != nil {
		return "", err
	}
	return takeString(out), nil
}

// MeasurementsTraceKit returns the measurements in TraceKit's shape by name
// (the latest of a name): value, unit, trace_name, timestamp and the
// metadata's members.
func (s *Session) MeasurementsTraceKit() (map[string]map[string]any, error) {
	m := map[string]map[string]any{}
	err := s.getJSON(C.EVGO_SESSION_MEASUREMENTS_TRACEKIT, &m)
	return m, err
}

// SetHistoryLimit bounds the history to n entries (0 = unlimited),
// dropping the oldest ones beyond it.
func (s *Session) SetHistoryLimit(n int) error {
	if n < 0 {
		return goError(StatusInvalidArgument, "evident: history limit must not be negative")
	}
	h, err := s.lock()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	var msg *C.char
	st := C.evgo_session_set_history_limit(h, C.uint64_t(n), &msg)
	runtime.KeepAlive(s)
	return statusError(st, msg)
}

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
		return SaveInfo{}, goError(StatusInvalidArgument, "evident: path contains a NUL byte")
	}
	if opts.LockTimeout < 0 {
		return SaveInfo{}, goError(StatusInvalidArgument, "evident: LockTimeout must not be negative")
	}
	if opts.Compress < math.MinInt32 || opts.Compress > math.MaxInt32 {
		return SaveInfo{}, goError(StatusInvalidArgument, "evident: Compress level out of range")
	}
	var cs cstrings
	defer cs.wipe()
	a := C.evgo_save_args{
		path:           cs.addOpt(path),
		key:            cs.addBytes(opts.Key),
		key_len:        C.size_t(len(opts.Key)),
		include_traces: C.bool(!opts.ExcludeTraces),
		sync:           C.bool(!opts.NoSync),
	}
	if opts.Compress != 0 {
		a.set_compress, a.compress = true, C.int32_t(opts.Compress)
	}
	if opts.LockTimeout != 0 {
		ms := (opts.LockTimeout + time.Millisecond - 1) / time.Millisecond
		a.set_lock_timeout, a.lock_timeout_ms = true, C.uint64_t(ms)
	}
	if l := opts.AuditLog; l != nil {
		// The log must not be closed during the save.
		l.mu.RLock()
		defer l.mu.RUnlock()
		if l.h == nil {
			return SaveInfo{}, l.closedError()
		}
		a.audit = l.h
	}
	h, err := s.lock()
	if err != nil {
		return SaveInfo{}, err
	}
	var out, msg *C.char
	st := C.evgo_session_save(h, cs.ptr(), &a, &out, &msg)
	runtime.KeepAlive(s)
	runtime.KeepAlive(opts.AuditLog)
	runtime.KeepAlive(&cs)
	s.mu.Unlock()
	if err := statusError(st, msg); err != nil {
		C.evident_string_free(out)
		return SaveInfo{}, err
	}
	var info SaveInfo
	if out != nil {
		if err := decodeJSON(takeString(out), &info); err != nil {
			return SaveInfo{}, err
		}
	}
	return info, nil
}

// sessionFile runs a file-level function and decodes its JSON into v.
func sessionFile(what C.int, path string, key []byte, v any) error {
	if hasNUL(path) {
		return goError(StatusInvalidArgument, "evident: path contains a NUL byte")
	}
	var cs cstrings
	defer cs.wipe()
	p := cs.add(path)
	k := cs.addBytes(key)
	var out, msg *C.char
	st := C.evgo_session_file(what, cs.at(p), cs.bytesAt(k), C.size_t(len(key)), &out, &msg)
	runtime.KeepAlive(&cs)
	if err := statusError(st, msg); err != nil {
		C.evident_string_free(out)
		return err
	}
	return decodeJSON(takeString(out), v)
}

// SessionVersions lists the complete versions saved in the session file at
// path, oldest first (key: the file's HMAC key, nil for a keyless file).
func SessionVersions(path string, key []byte) ([]VersionInfo, error) {
	vs := []VersionInfo{}
	if err := sessionFile(C.EVGO_SESSION_FILE_VERSIONS, path, key, &vs); err != nil {
		return nil, err
	}
	return vs, nil
}

// CompactSession rewrites the session file at path with only its newest
// version (atomically: temporary file, fsync, rename, fsync of the
// directory).
func CompactSession(path string, key []byte) (CompactInfo, error) {
	var ci CompactInfo
	err := sessionFile(C.EVGO_SESSION_FILE_COMPACT, path, key, &ci)
	return ci, err
}

// VerifySession checks every record, hash and trace of the session file
// at path. Problems found in the file are in the report (OK false); the
// error is for a file that cannot be read at all.
func VerifySession(path string, key []byte) (SessionReport, error) {
	var r SessionReport
	if err := sessionFile(C.EVGO_SESSION_FILE_VERIFY, path, key, &r); err != nil {
		return SessionReport{}, err
	}
	if r.Problems == nil {
		r.Problems = []string{}
	}
	if r.ProblemDetails == nil {
		r.ProblemDetails = []SessionProblem{}
	}
	return r, nil
}

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

	name       string
	dtype      DType
	n          uint64
	nbytes     uint64
	mapped     bool
	compressed bool
	info       TraceInfo

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
	if t.h == nil {
		return nil
	}
	runtime.SetFinalizer(t, nil)
	C.evident_trace_free(t.h)
	t.h = nil
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
	var msg *C.char
	st := C.evgo_trace_verify(t.h, &msg)
	runtime.KeepAlive(t)
	return statusError(st, msg)
}

func (t *Trace) closedError() error {
	return goError(StatusClosed, "evident: trace "+strconv.Quote(t.name)+" is closed")
}

// data returns the samples' address and size; t.mu is read-locked.
func (t *Trace) data() (unsafe.Pointer, uint64, uint64, DType, error) {
	if t.h == nil {
		return nil, 0, 0, 0, t.closedError()
	}
	var p unsafe.Pointer
	var n, nb C.uint64_t
	var dt C.uint32_t
	var msg *C.char
	st := C.evgo_trace_data(t.h, &p, &n, &nb, &dt, &msg)
	runtime.KeepAlive(t)
	if err := statusError(st, msg); err != nil {
		return nil, 0, 0, 0, err
	}
	want, ok := DType(dt).byteLen(uint64(n))
	if !ok || want != uint64(nb) || (p == nil && nb != 0) {
		return nil, 0, 0, 0, goError(StatusPanic,
			fmt.Sprintf("evident: trace %q: the library reported %d %s samples in %d bytes", t.name, n, DType(dt), nb))
	}
	if uint64(nb) > math.MaxInt {
		return nil, 0, 0, 0, goError(StatusTooLarge, fmt.Sprintf("evident: trace %q: %d bytes do not fit in a Go slice", t.name, nb))
	}
	return p, uint64(n), uint64(nb), DType(dt), nil
}

// Bytes returns the raw little-endian sample bytes (any dtype).
func (t *Trace) Bytes() ([]byte, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	p, _, nb, _, err := t.data()
	if err != nil {
		return nil, err
	}
	if nb == 0 {
		return []byte{}, nil
	}
	t.exposed.Store(true)
	return unsafe.Slice((*byte)(p), int(nb)), nil
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
	if !littleEndian && want.sampleSize() > 1 {
		return nil, goError(StatusUnsupported, "evident: typed sample access needs a little-endian machine (use Bytes)")
	}
	p, n, nb, dt, err := t.data()
	if err != nil {
		return nil, err
	}
	if want == DTypeBit {
		n = nb // a []byte of packed bits
	}
	if dt != want {
		return nil, goError(StatusPanic, fmt.Sprintf("evident: trace %q: the library reported %s samples, not %s", t.name, dt, want))
	}
	if n == 0 {
		return []T{}, nil
	}
	var zero T
	if uintptr(p)%unsafe.Alignof(zero) != 0 {
		return nil, goError(StatusPanic, fmt.Sprintf("evident: trace %q: samples are not aligned", t.name))
	}
	t.exposed.Store(true)
	return unsafe.Slice((*T)(p), int(n)), nil
}

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

// --- helpers ---

// at returns the address of the string at off (NULL for -1). Call it after
// every add: adding may move the buffer.
func (c *cstrings) at(off C.int32_t) *C.char {
	if off < 0 {
		return nil
	}
	return (*C.char)(unsafe.Pointer(&c.b[off]))
}

// bytesAt is at for raw bytes (a key).
func (c *cstrings) bytesAt(off C.int32_t) *C.uint8_t {
	return (*C.uint8_t)(unsafe.Pointer(c.at(off)))
}
