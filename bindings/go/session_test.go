package evident_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	evident "github.com/evident-audit/evident/bindings/go"
)

// ---- helpers ----

func mustSession(t testing.TB, name string) *evident.Session {
	t.Helper()
	s, err := evident.NewSession(name)
	if err != nil {
		t.Fatalf("NewSession(%q): %v", name, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func mustLoad(t testing.TB, path string, opts *evident.LoadSessionOptions) *evident.Session {
	t.Helper()
	s, err := evident.LoadSession(path, opts)
	if err != nil {
		t.Fatalf("LoadSession(%s): %v", path, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func mustSave(t testing.TB, s *evident.Session, path string, opts *evident.SaveOptions) evident.SaveInfo {
	t.Helper()
	info, err := s.Save(path, opts)
	if err != nil {
		t.Fatalf("Save(%s): %v", path, err)
	}
	return info
}

func mustTrace(t testing.TB, s *evident.Session, name string) *evident.Trace {
	t.Helper()
	tr, err := s.GetTrace(name)
	if err != nil {
		t.Fatalf("GetTrace(%q): %v", name, err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

func check(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// le is the little-endian encoding of a sample slice (what the file holds).
func le(t testing.TB, samples any) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := binary.Write(&b, binary.LittleEndian, samples); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func jsonOf(v any) string {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
}

// deepEqualJSON compares two values by their JSON form and with
// reflect.DeepEqual (the JSON form is what the error shows).
func wantEqual(t testing.TB, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %s\nwant %s", what, jsonOf(got), jsonOf(want))
	}
}

// ---- fixtures ----

// dtypeCase is one trace of every dtype: samples (Go slice or packed bits),
// the count and the accessor.
type dtypeCase struct {
	name  string
	dtype evident.DType
	data  any // the slice given to AddTrace; for bit: packed bytes
	n     uint64
	get   func(*evident.Trace) (any, error)
}

func ramp[T any](n int, f func(i int) T) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func dtypeCases() []dtypeCase {
	f64 := append([]float64{0, math.Copysign(0, -1), -1.5, math.Pi, math.MaxFloat64, math.SmallestNonzeroFloat64,
		math.Inf(1), math.Inf(-1), math.NaN()}, ramp(1000, func(i int) float64 { return math.Sin(float64(i) / 10) })...)
	f32 := append([]float32{0, -2.25, math.MaxFloat32, math.SmallestNonzeroFloat32, float32(math.Inf(1)),
		float32(math.NaN())}, ramp(333, func(i int) float32 { return float32(i) * 0.5 })...)
	i8 := append([]int8{math.MinInt8, -1, 0, 1, math.MaxInt8}, ramp(1003, func(i int) int8 { return int8(i) })...)
	i16 := append([]int16{math.MinInt16, -1, 0, math.MaxInt16}, ramp(501, func(i int) int16 { return int16(i * 131) })...)
	i32 := []int32{math.MinInt32, -1, 0, 1, math.MaxInt32, 123456789}
	i64 := []int64{math.MinInt64, -1, 0, 1, math.MaxInt64, 1 << 53, 1<<53 + 1}
	u8 := append([]uint8{0, 1, 0x7f, 0x80, 0xff}, ramp(77, func(i int) uint8 { return uint8(i * 7) })...)
	u16 := []uint16{0, 1, math.MaxUint16, 0x8000}
	u32 := []uint32{0, 1, math.MaxUint32, 0xdeadbeef}
	u64 := []uint64{0, 1, math.MaxUint64, 1<<63 + 5, 0xfeedfacecafebeef}
	bools := append([]bool{true, false, true, true, false}, ramp(120, func(i int) bool { return i%3 == 0 })...)
	bits := []byte{0b1011_0101, 0b0000_0101} // 11 bits
	return []dtypeCase{
		{"f64", evident.DTypeF64, f64, uint64(len(f64)), func(t *evident.Trace) (any, error) { return t.Float64s() }},
		{"f32", evident.DTypeF32, f32, uint64(len(f32)), func(t *evident.Trace) (any, error) { return t.Float32s() }},
		{"i8", evident.DTypeI8, i8, uint64(len(i8)), func(t *evident.Trace) (any, error) { return t.Int8s() }},
		{"i16", evident.DTypeI16, i16, uint64(len(i16)), func(t *evident.Trace) (any, error) { return t.Int16s() }},
		{"i32", evident.DTypeI32, i32, uint64(len(i32)), func(t *evident.Trace) (any, error) { return t.Int32s() }},
		{"i64", evident.DTypeI64, i64, uint64(len(i64)), func(t *evident.Trace) (any, error) { return t.Int64s() }},
		{"u8", evident.DTypeU8, u8, uint64(len(u8)), func(t *evident.Trace) (any, error) { return t.Uint8s() }},
		{"u16", evident.DTypeU16, u16, uint64(len(u16)), func(t *evident.Trace) (any, error) { return t.Uint16s() }},
		{"u32", evident.DTypeU32, u32, uint64(len(u32)), func(t *evident.Trace) (any, error) { return t.Uint32s() }},
		{"u64", evident.DTypeU64, u64, uint64(len(u64)), func(t *evident.Trace) (any, error) { return t.Uint64s() }},
		{"bool", evident.DTypeBool, bools, uint64(len(bools)), func(t *evident.Trace) (any, error) { return t.Bools() }},
		{"bit", evident.DTypeBit, bits, 11, func(t *evident.Trace) (any, error) { return t.Bits() }},
	}
}

func addCase(t testing.TB, s *evident.Session, c dtypeCase, info evident.TraceInfo) {
	t.Helper()
	var err error
	if c.dtype == evident.DTypeBit {
		err = s.AddBitTrace(c.name, c.data.([]byte), c.n, info)
	} else {
		err = s.AddTrace(c.name, c.data, info)
	}
	if err != nil {
		t.Fatalf("add %s: %v", c.name, err)
	}
}

// checkCase checks a trace's dtype, length, raw bytes and typed accessor,
// and that every other accessor refuses it.
func checkCase(t *testing.T, tr *evident.Trace, c dtypeCase) {
	t.Helper()
	if tr.DType() != c.dtype || tr.Len() != c.n || tr.Name() != c.name {
		t.Fatalf("%s: dtype %v len %d name %q, want %v %d", c.name, tr.DType(), tr.Len(), tr.Name(), c.dtype, c.n)
	}
	want := le(t, c.data)
	raw, err := tr.Bytes()
	check(t, err)
	if !bytes.Equal(raw, want) || tr.ByteLen() != uint64(len(want)) {
		t.Fatalf("%s: bytes differ (%d bytes, ByteLen %d, want %d)", c.name, len(raw), tr.ByteLen(), len(want))
	}
	got, err := c.get(tr)
	check(t, err)
	// Compare typed values through their bytes (NaN != NaN).
	if g := le(t, got); !bytes.Equal(g, want) {
		t.Fatalf("%s: typed accessor returned other samples", c.name)
	}
	if reflect.TypeOf(got) != reflect.TypeOf(c.data) {
		t.Fatalf("%s: accessor type %T, want %T", c.name, got, c.data)
	}
	for _, other := range dtypeCases() {
		if other.dtype == c.dtype {
			continue
		}
		_, err := other.get(tr)
		e := wantErr(t, err, evident.ErrInvalidArgument, evident.StatusInvalidArgument)
		if !strings.Contains(e.Message, c.name) || !strings.Contains(e.Message, other.dtype.String()) {
			t.Fatalf("wrong-type message %q names neither the trace nor the dtype", e.Message)
		}
	}
}

// fullSession builds a session using every field of every type.
type fullFixture struct {
	name         string
	meta         map[string]any
	traceInfos   map[string]evident.TraceInfo
	layers       []evident.Layer // expected, in order
	measurements []evident.Measurement
	history      []evident.HistoryEntry
	historyLimit int
}

func ptrF(v float64) *float64       { return &v }
func ptrR(a, b float64) *[2]float64 { return &[2]float64{a, b} }

func buildFull(t testing.TB, s *evident.Session) fullFixture {
	t.Helper()
	f := fullFixture{
		name: "Power Rail Analysis ✓",
		meta: map[string]any{"operator": "ada", "bench": float64(3), "nested": map[string]any{"ok": true,
			"list": []any{float64(1), "two", nil}}, "unicode": "µs Ω \u0000 end"},
		traceInfos:   map[string]evident.TraceInfo{},
		historyLimit: 50,
	}
	check(t, s.SetName(f.name))
	check(t, s.SetMetadata(f.meta))
	for i, c := range dtypeCases() {
		info := evident.TraceInfo{SampleRate: 1e6 * float64(i+1), StartTime: -1.25e-3 * float64(i), Units: "V" + c.name,
			Metadata: map[string]any{"channel": float64(i), "probe": "10x", "tags": []any{"a", c.name}}}
		addCase(t, s, c, info)
		f.traceInfos[c.name] = info
	}
	created := utc("2024-03-04T05:06:07.123456Z")
	// Layers: "uart" with properties, "errors" locked at the end, "hidden" empty.
	check(t, s.SetLayer(evident.LayerProps{Name: "uart", Visible: evident.Ptr(false), Color: evident.Ptr("#0000FF"),
		Description: evident.Ptr("UART protocol decode")}))
	anns := []evident.Annotation{
		{Text: "Start bit", Type: evident.AnnotationPoint, Time: ptrF(0), Color: "#00FF00", Style: "dashed",
			Visible: evident.Ptr(false), CreatedAt: created, Metadata: map[string]any{"bit": float64(0)}},
		{Text: "Data byte", Type: evident.AnnotationRange, TimeRange: ptrR(1e-6, 9e-6), Style: "solid",
			Visible: evident.Ptr(true), CreatedAt: created.Add(time.Second), Metadata: map[string]any{}},
		{Text: "Trigger", Type: evident.AnnotationVertical, Time: ptrF(2.5e-6), Color: "red", Style: "dotted",
			Visible: evident.Ptr(true), CreatedAt: created.Add(2 * time.Second), Metadata: map[string]any{}},
		{Text: "Threshold", Type: evident.AnnotationHorizontal, Amplitude: ptrF(3.3), Style: "solid",
			Visible: evident.Ptr(true), CreatedAt: created.Add(3 * time.Second), Metadata: map[string]any{"v": "3V3"}},
		{Text: "Operating range", Type: evident.AnnotationRegion, TimeRange: ptrR(0, 1e-3), AmplitudeRange: ptrR(2.5, 3.5),
			Style: "solid", Visible: evident.Ptr(true), CreatedAt: created.Add(4 * time.Second), Metadata: map[string]any{}},
		{Text: "Free note", Type: evident.AnnotationText, Style: "solid", Visible: evident.Ptr(true),
			CreatedAt: created.Add(5 * time.Second), Metadata: map[string]any{}},
	}
	for _, a := range anns {
		check(t, s.Annotate("uart", a))
	}
	errAnn := evident.Annotation{Text: "Parity error", Type: evident.AnnotationPoint, Time: ptrF(8e-6), Style: "solid",
		Visible: evident.Ptr(true), CreatedAt: created.Add(time.Minute), Metadata: map[string]any{}}
	check(t, s.Annotate("errors", errAnn))
	check(t, s.SetLayer(evident.LayerProps{Name: "errors", Locked: evident.Ptr(true), Description: evident.Ptr("frozen")}))
	check(t, s.SetLayer(evident.LayerProps{Name: "hidden"}))
	f.layers = []evident.Layer{
		{Name: "uart", Visible: false, Locked: false, Color: "#0000FF", Description: "UART protocol decode", Annotations: anns},
		{Name: "errors", Visible: true, Locked: true, Description: "frozen", Annotations: []evident.Annotation{errAnn}},
		{Name: "hidden", Visible: true, Annotations: []evident.Annotation{}},
	}
	f.measurements = []evident.Measurement{
		{Name: "rise_time", Value: 2.3e-9, Unit: "s", TraceName: "f64", Metadata: map[string]any{"standard": "IEEE 181-2011"},
			RecordedAt: created.Add(10 * time.Second)},
		{Name: "verdict", Value: "pass", Unit: "", Metadata: map[string]any{}, RecordedAt: created.Add(11 * time.Second)},
		{Name: "stats", Value: map[string]any{"min": -1.0, "max": 1.0, "n": float64(1009)}, Unit: "V", TraceName: "f32",
			Metadata: map[string]any{"acceptable": true}, RecordedAt: created.Add(12 * time.Second)},
		{Name: "nothing", Value: nil, Metadata: map[string]any{}, RecordedAt: created.Add(13 * time.Second)},
	}
	for _, m := range f.measurements {
		check(t, s.RecordMeasurement(m))
	}
	f.history = []evident.HistoryEntry{
		{Operation: "load_trace", Parameters: map[string]any{"path": "capture.wfm"}, ParameterOrder: []string{"path"},
			Result:    "Loaded successfully",
			Timestamp: created.Add(20 * time.Second), DurationMs: 45.3, Success: evident.Ptr(true), Metadata: map[string]any{}},
		{Operation: "apply_filter", Parameters: map[string]any{"type": "lowpass", "cutoff": 1e6},
			ParameterOrder: []string{"type", "cutoff"}, Result: nil,
			Timestamp: created.Add(21 * time.Second), DurationMs: 0.25, Success: evident.Ptr(false),
			ErrorMessage: "Cutoff frequency too high", Metadata: map[string]any{"retry": float64(2)}},
		{Operation: "measure", Parameters: map[string]any{}, Result: []any{float64(1), float64(2)},
			Timestamp: created.Add(22 * time.Second), Success: evident.Ptr(true), Metadata: map[string]any{}},
	}
	for _, e := range f.history {
		check(t, s.RecordHistory(e))
	}
	check(t, s.SetHistoryLimit(f.historyLimit))
	return f
}

// checkFull checks that s holds exactly what buildFull put in.
func checkFull(t *testing.T, s *evident.Session, f fullFixture) {
	t.Helper()
	info, err := s.Info()
	check(t, err)
	if info.Name != f.name || s.Name() != f.name || info.Traces != 12 || info.Layers != 3 || info.Annotations != 7 ||
		info.Measurements != 4 || info.History != 3 || info.HistoryLimit != f.historyLimit || !info.AutoRecord ||
		info.CreatedAt.IsZero() || info.ModifiedAt.Before(info.CreatedAt) {
		t.Fatalf("info %+v", info)
	}
	meta, err := s.Metadata()
	check(t, err)
	wantEqual(t, "metadata", meta, f.meta)
	names, err := s.TraceNames()
	check(t, err)
	var wantNames []string
	for _, c := range dtypeCases() {
		wantNames = append(wantNames, c.name)
	}
	wantEqual(t, "trace names", names, wantNames)
	for _, c := range dtypeCases() {
		tr := mustTrace(t, s, c.name)
		checkCase(t, tr, c)
		wantEqual(t, "trace info "+c.name, tr.Info(), f.traceInfos[c.name])
	}
	layers, err := s.Layers()
	check(t, err)
	wantEqual(t, "layers", layers, f.layers)
	ms, err := s.Measurements()
	check(t, err)
	wantEqual(t, "measurements", ms, f.measurements)
	hs, err := s.History()
	check(t, err)
	wantEqual(t, "history", hs, f.history)
}

// ---- tests ----

// Every field of every type, before saving and after Save + LoadSession.
func TestSessionRoundTripEveryField(t *testing.T) {
	path := filepath.Join(t.TempDir(), "full.evs")
	s := mustSession(t, "initial")
	f := buildFull(t, s)
	checkFull(t, s, f)
	before, err := s.Info()
	check(t, err)
	if before.Path != "" || before.Version != 0 || before.Commit != "" {
		t.Fatalf("new session info %+v", before)
	}
	si := mustSave(t, s, path, nil)
	if si.Version != 1 || len(si.Commit) != 64 || si.TracesWritten != 12 || si.TracesReused != 0 ||
		si.BytesWritten == 0 || filepath.Base(si.Path) != "full.evs" {
		t.Fatalf("save info %+v", si)
	}
	if _, err := hex.DecodeString(si.Commit); err != nil {
		t.Fatalf("commit %q: %v", si.Commit, err)
	}
	// BytesWritten does not count the file header and genesis of a new file.
	if st, _ := os.Stat(path); st == nil || uint64(st.Size()) < si.BytesWritten || uint64(st.Size()) > si.BytesWritten+1024 {
		t.Fatalf("file size %v, BytesWritten %d", st, si.BytesWritten)
	}
	after, err := s.Info()
	check(t, err)
	if after.Version != 1 || after.Commit != si.Commit || filepath.Base(after.Path) != "full.evs" {
		t.Fatalf("info after save %+v", after)
	}
	j1, err := s.JSON()
	check(t, err)

	l := mustLoad(t, path, nil)
	checkFull(t, l, f)
	li, err := l.Info()
	check(t, err)
	if li.Version != 1 || li.Commit != si.Commit || !li.CreatedAt.Equal(after.CreatedAt) || !li.ModifiedAt.Equal(after.ModifiedAt) {
		t.Fatalf("loaded info %+v, saved %+v", li, after)
	}
	for _, name := range []string{"f64", "u8", "bit"} {
		tr := mustTrace(t, l, name)
		if !tr.Mapped() || tr.Compressed() {
			t.Errorf("%s: mapped %v compressed %v after load", name, tr.Mapped(), tr.Compressed())
		}
		check(t, tr.Verify())
	}
	j2, err := l.JSON()
	check(t, err)
	var a, b any
	check(t, json.Unmarshal(j1, &a))
	check(t, json.Unmarshal(j2, &b))
	wantEqual(t, "to_json after load", b, a)
	r, err := evident.VerifySession(path, nil)
	check(t, err)
	if !r.OK || r.Versions != 1 || len(r.Problems) != 0 || r.TornTailAt != nil {
		t.Fatalf("verify %+v", r)
	}
}

// Defaults filled by the library: annotation type inferred, style solid,
// visible, created now; measurement and history times now; history success
// true; sample rate 1 Hz.
func TestSessionDefaults(t *testing.T) {
	s := mustSession(t, "defaults")
	start := time.Now().Add(-time.Second)
	check(t, s.AddTrace("x", []float64{1, 2}, evident.TraceInfo{}))
	tr := mustTrace(t, s, "x")
	if i := tr.Info(); i.SampleRate != 1 || i.StartTime != 0 || i.Units != "" || i.Metadata == nil || len(i.Metadata) != 0 {
		t.Fatalf("default trace info %+v", i)
	}
	if tr.Mapped() {
		t.Fatal("an unsaved trace reports mapped")
	}
	check(t, tr.Verify()) // nothing to check yet: no error
	inputs := []evident.Annotation{
		{Text: "region", TimeRange: ptrR(1, 2), AmplitudeRange: ptrR(-1, 1)},
		{Text: "range", TimeRange: ptrR(1, 2)},
		{Text: "point", Time: ptrF(1)},
		{Text: "horizontal", Amplitude: ptrF(0.5)},
		{Text: "text"},
	}
	for _, a := range inputs {
		check(t, s.Annotate("default", a))
	}
	as, err := s.Annotations("", nil)
	check(t, err)
	if len(as) != len(inputs) {
		t.Fatalf("%d annotations", len(as))
	}
	for i, la := range as {
		a := la.Annotation
		if la.Layer != "default" || string(a.Type) != inputs[i].Text || a.Style != "solid" || a.Visible == nil ||
			!*a.Visible || a.Color != "" || a.CreatedAt.Before(start) || a.Metadata == nil {
			t.Errorf("annotation %d: %s", i, jsonOf(la))
		}
	}
	check(t, s.RecordMeasurement(evident.Measurement{Name: "m", Value: 1}))
	check(t, s.RecordHistory(evident.HistoryEntry{Operation: "op"}))
	ms, err := s.Measurements()
	check(t, err)
	hs, err := s.History()
	check(t, err)
	if len(ms) != 1 || ms[0].RecordedAt.Before(start) || ms[0].Value != float64(1) || ms[0].TraceName != "" {
		t.Fatalf("measurement %s", jsonOf(ms))
	}
	if len(hs) != 1 || hs[0].Timestamp.Before(start) || hs[0].Success == nil || !*hs[0].Success || hs[0].ErrorMessage != "" {
		t.Fatalf("history %s", jsonOf(hs))
	}
	sum, err := s.Summary()
	check(t, err)
	if !strings.Contains(sum, "defaults") {
		t.Fatalf("summary does not name the session:\n%s", sum)
	}
}

// All 12 dtypes through the typed accessors: in memory, after a raw save
// (mapped) and after a compressed save; wrong-type accessors fail.
func TestSessionDTypes(t *testing.T) {
	dir := t.TempDir()
	s := mustSession(t, "dtypes")
	for _, c := range dtypeCases() {
		addCase(t, s, c, evident.TraceInfo{})
	}
	check(t, s.AddTrace("empty", []float64{}, evident.TraceInfo{}))
	for _, c := range dtypeCases() {
		t.Run("memory/"+c.name, func(t *testing.T) { checkCase(t, mustTrace(t, s, c.name), c) })
	}
	mustSave(t, s, filepath.Join(dir, "raw.evs"), nil)
	mustSave(t, s, filepath.Join(dir, "zstd.evs"), &evident.SaveOptions{Compress: 3})
	for _, file := range []string{"raw.evs", "zstd.evs"} {
		l := mustLoad(t, filepath.Join(dir, file), nil)
		for _, c := range dtypeCases() {
			t.Run(file+"/"+c.name, func(t *testing.T) {
				tr := mustTrace(t, l, c.name)
				checkCase(t, tr, c)
				if tr.Compressed() != (file == "zstd.evs") || tr.Mapped() != (file == "raw.evs") {
					t.Fatalf("compressed %v mapped %v", tr.Compressed(), tr.Mapped())
				}
				check(t, tr.Verify())
			})
		}
		e := mustTrace(t, l, "empty")
		v, err := e.Float64s()
		check(t, err)
		raw, err := e.Bytes()
		check(t, err)
		if e.Len() != 0 || len(v) != 0 || len(raw) != 0 || v == nil {
			t.Fatalf("empty trace: len %d, %v, %v", e.Len(), v, raw)
		}
	}
	if !evident.Bit([]byte{0b1011_0101, 0b101}, 0) || evident.Bit([]byte{0b1011_0101, 0b101}, 1) ||
		!evident.Bit([]byte{0b1011_0101, 0b101}, 10) {
		t.Fatal("Bit reads the wrong bit")
	}
	for d := evident.DTypeF64; d <= evident.DTypeBit; d++ {
		if p, ok := evident.ParseDType(d.String()); !ok || p != d {
			t.Errorf("ParseDType(%q) = %v %v", d.String(), p, ok)
		}
	}
}

func TestSessionAddTraceErrors(t *testing.T) {
	s := mustSession(t, "errors")
	err := s.AddTrace("ints", []int{1, 2}, evident.TraceInfo{})
	wantErr(t, err, evident.ErrInvalidArgument, evident.StatusInvalidArgument)
	err = s.AddTrace("ptr", &[]float64{1}, evident.TraceInfo{})
	wantErr(t, err, evident.ErrInvalidArgument, evident.StatusInvalidArgument)
	for _, c := range []struct {
		n      uint64
		packed []byte
	}{{9, []byte{1}}, {8, []byte{1, 2}}, {0, []byte{0}}, {1, nil}} {
		err := s.AddBitTrace("bits", c.packed, c.n, evident.TraceInfo{})
		wantErr(t, err, evident.ErrInvalidArgument, evident.StatusInvalidArgument)
	}
	check(t, s.AddBitTrace("nobits", nil, 0, evident.TraceInfo{}))
	for _, info := range []evident.TraceInfo{{SampleRate: -1}, {SampleRate: math.Inf(1)}, {StartTime: math.NaN()},
		{Metadata: map[string]any{"x": math.NaN()}}} {
		err := s.AddTrace("bad", []float64{1}, info)
		wantErr(t, err, evident.ErrInvalidArgument, evident.StatusInvalidArgument)
	}
	err = s.AddTrace("a\x00b", []float64{1}, evident.TraceInfo{})
	wantErr(t, err, evident.ErrInvalidArgument, evident.StatusInvalidArgument)
	err = s.AddTrace("bad\xff", []float64{1}, evident.TraceInfo{})
	wantErr(t, err, evident.ErrInvalidUTF8, evident.StatusInvalidUTF8)
	err = s.AddTrace("x", []float64{1}, evident.TraceInfo{Metadata: map[string]any{"k": []any{"ok", "bad\xff"}}})
	wantErr(t, err, evident.ErrInvalidUTF8, evident.StatusInvalidUTF8)
	err = s.Annotate("layer", evident.Annotation{Text: "x", Metadata: map[string]any{"bad\xfe": 1}})
	wantErr(t, err, evident.ErrInvalidUTF8, evident.StatusInvalidUTF8)
	err = s.RecordMeasurement(evident.Measurement{Name: "v", Value: math.Inf(1)})
	wantErr(t, err, evident.ErrInvalidArgument, evident.StatusInvalidArgument)
	err = s.RecordMeasurement(evident.Measurement{})
	wantErr(t, err, evident.ErrInvalidArgument, evident.StatusInvalidArgument)
	err = s.RecordHistory(evident.HistoryEntry{})
	wantErr(t, err, evident.ErrInvalidArgument, evident.StatusInvalidArgument)
	err = s.SetHistoryLimit(-1)
	wantErr(t, err, evident.ErrInvalidArgument, evident.StatusInvalidArgument)
	names, err := s.TraceNames()
	check(t, err)
	wantEqual(t, "names after failed adds", names, []string{"nobits"})
	// Replacing keeps the position.
	check(t, s.AddTrace("second", []int8{1}, evident.TraceInfo{}))
	check(t, s.AddTrace("nobits", []uint16{7, 8}, evident.TraceInfo{Units: "A"}))
	names, _ = s.TraceNames()
	wantEqual(t, "names after replace", names, []string{"nobits", "second"})
	tr := mustTrace(t, s, "nobits")
	if v, err := tr.Uint16s(); err != nil || !reflect.DeepEqual(v, []uint16{7, 8}) || tr.Info().Units != "A" {
		t.Fatalf("replaced trace: %v %v %+v", v, err, tr.Info())
	}
}

// A Go slice given to AddTrace is copied: changing it afterwards changes
// nothing in the session.
func TestSessionAddTraceCopies(t *testing.T) {
	s := mustSession(t, "copy")
	data := []float64{1, 2, 3}
	check(t, s.AddTrace("x", data, evident.TraceInfo{}))
	data[0] = 99
	tr := mustTrace(t, s, "x")
	v, err := tr.Float64s()
	check(t, err)
	if v[0] != 1 {
		t.Fatalf("the session aliases the Go slice: %v", v)
	}
}

func TestSessionNotFound(t *testing.T) {
	s := mustSession(t, "nf")
	_, err := s.GetTrace("missing")
	e := wantErr(t, err, evident.ErrNotFound, evident.StatusNotFound)
	if !strings.Contains(e.Message, "missing") {
		t.Fatalf("message %q does not name the trace", e.Message)
	}
	wantErr(t, s.RemoveTrace("missing"), evident.ErrNotFound, evident.StatusNotFound)
	wantErr(t, s.ClearLayer("nolayer"), evident.ErrNotFound, evident.StatusNotFound)
	wantErr(t, s.RemoveLayer("nolayer"), evident.ErrNotFound, evident.StatusNotFound)
	check(t, s.AddTrace("x", []float64{1}, evident.TraceInfo{}))
	check(t, s.RemoveTrace("x"))
	_, err = s.GetTrace("x")
	wantErr(t, err, evident.ErrNotFound, evident.StatusNotFound)
	// A version that does not exist.
	path := filepath.Join(t.TempDir(), "v.evs")
	mustSave(t, s, path, nil)
	_, err = evident.LoadSession(path, &evident.LoadSessionOptions{Version: 7})
	wantErr(t, err, evident.ErrNotFound, evident.StatusNotFound)
	_, err = evident.LoadSession(filepath.Join(t.TempDir(), "absent.evs"), nil)
	wantErr(t, err, evident.ErrIO, evident.StatusIO)
}

func TestSessionLockedLayer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locked.evs")
	s := mustSession(t, "locked")
	check(t, s.Annotate("ref", evident.Annotation{Text: "kept", Time: ptrF(1)}))
	check(t, s.SetLayer(evident.LayerProps{Name: "ref", Locked: evident.Ptr(true)}))
	for _, err := range []error{
		s.Annotate("ref", evident.Annotation{Text: "refused", Time: ptrF(2)}),
		s.ClearLayer("ref"),
		s.RemoveLayer("ref"),
	} {
		e := wantErr(t, err, evident.ErrLayerLocked, evident.StatusLayerLocked)
		if !strings.Contains(e.Message, "ref") {
			t.Fatalf("message %q does not name the layer", e.Message)
		}
	}
	// Properties can still change on a locked layer.
	check(t, s.SetLayer(evident.LayerProps{Name: "ref", Description: evident.Ptr("reference marks")}))
	mustSave(t, s, path, nil)
	l := mustLoad(t, path, nil)
	wantErr(t, l.Annotate("ref", evident.Annotation{Text: "refused"}), evident.ErrLayerLocked, evident.StatusLayerLocked)
	as, err := l.Annotations("ref", nil)
	check(t, err)
	if len(as) != 1 || as[0].Annotation.Text != "kept" {
		t.Fatalf("locked layer after load: %s", jsonOf(as))
	}
	check(t, l.SetLayer(evident.LayerProps{Name: "ref", Locked: evident.Ptr(false)}))
	check(t, l.Annotate("ref", evident.Annotation{Text: "now allowed"}))
	check(t, l.ClearLayer("ref"))
	ls, err := l.Layers()
	check(t, err)
	if len(ls) != 1 || len(ls[0].Annotations) != 0 || ls[0].Description != "reference marks" {
		t.Fatalf("layers %s", jsonOf(ls))
	}
	check(t, l.RemoveLayer("ref"))
	ls, _ = l.Layers()
	if len(ls) != 0 {
		t.Fatalf("layers after remove %s", jsonOf(ls))
	}
}

func TestSessionAnnotationQueries(t *testing.T) {
	s := mustSession(t, "q")
	add := func(layer, text string, a evident.Annotation) {
		a.Text = text
		check(t, s.Annotate(layer, a))
	}
	add("a", "p-in", evident.Annotation{Time: ptrF(1.5)})
	add("a", "p-out", evident.Annotation{Time: ptrF(5)})
	add("a", "v-in", evident.Annotation{Type: evident.AnnotationVertical, Time: ptrF(2)})
	add("b", "range-overlap", evident.Annotation{TimeRange: ptrR(0, 1.2)})
	add("b", "range-out", evident.Annotation{TimeRange: ptrR(2.5, 3)})
	add("b", "region-overlap", evident.Annotation{TimeRange: ptrR(1.9, 9), AmplitudeRange: ptrR(0, 1)})
	add("b", "horizontal", evident.Annotation{Amplitude: ptrF(1)})
	add("b", "text", evident.Annotation{})
	texts := func(as []evident.LayerAnnotation) []string {
		out := []string{}
		for _, a := range as {
			out = append(out, a.Layer+":"+a.Annotation.Text)
		}
		return out
	}
	all, err := s.Annotations("", nil)
	check(t, err)
	wantEqual(t, "all", texts(all), []string{"a:p-in", "a:p-out", "a:v-in", "b:range-overlap", "b:range-out",
		"b:region-overlap", "b:horizontal", "b:text"})
	onlyB, err := s.Annotations("b", nil)
	check(t, err)
	if len(onlyB) != 5 {
		t.Fatalf("layer b: %v", texts(onlyB))
	}
	win, err := s.Annotations("", ptrR(1, 2))
	check(t, err)
	wantEqual(t, "window [1,2]", texts(win), []string{"a:p-in", "a:v-in", "b:range-overlap", "b:region-overlap"})
	winB, err := s.Annotations("b", ptrR(1, 2))
	check(t, err)
	wantEqual(t, "window [1,2] in b", texts(winB), []string{"b:range-overlap", "b:region-overlap"})
	none, err := s.Annotations("nolayer", nil)
	if err == nil && len(none) != 0 {
		t.Fatalf("unknown layer: %v", texts(none))
	}
	if err != nil {
		wantErr(t, err, evident.ErrNotFound, evident.StatusNotFound)
	}
}

func TestSessionHistoryLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.evs")
	s := mustSession(t, "h")
	check(t, s.SetHistoryLimit(2))
	for i := 0; i < 5; i++ {
		check(t, s.RecordHistory(evident.HistoryEntry{Operation: fmt.Sprintf("op%d", i)}))
	}
	ops := func(s *evident.Session) []string {
		hs, err := s.History()
		check(t, err)
		var out []string
		for _, h := range hs {
			out = append(out, h.Operation)
		}
		return out
	}
	wantEqual(t, "bounded history", ops(s), []string{"op3", "op4"})
	mustSave(t, s, path, nil)
	l := mustLoad(t, path, nil)
	wantEqual(t, "history after load", ops(l), []string{"op3", "op4"})
	check(t, l.RecordHistory(evident.HistoryEntry{Operation: "op5"}))
	wantEqual(t, "limit kept after load", ops(l), []string{"op4", "op5"})
	check(t, l.SetHistoryLimit(1))
	wantEqual(t, "lowered limit", ops(l), []string{"op5"})
	check(t, l.SetHistoryLimit(0))
	for i := 6; i < 9; i++ {
		check(t, l.RecordHistory(evident.HistoryEntry{Operation: fmt.Sprintf("op%d", i)}))
	}
	wantEqual(t, "unlimited", ops(l), []string{"op5", "op6", "op7", "op8"})
}

// Versions: each save is a version; older ones stay loadable; saving again
// reuses the traces already in the file.
func TestSessionVersionsAndIncrementalSave(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.evs")
	s := mustSession(t, "v1")
	big := ramp(100_000, func(i int) float64 { return float64(i) })
	check(t, s.AddTrace("big", big, evident.TraceInfo{}))
	check(t, s.AddTrace("small", []int16{1, 2, 3}, evident.TraceInfo{}))
	i1 := mustSave(t, s, path, nil)
	if i1.Version != 1 || i1.TracesWritten != 2 || i1.TracesReused != 0 || i1.BytesWritten < 800_000 {
		t.Fatalf("first save %+v", i1)
	}
	// Only metadata changes: no trace written again.
	check(t, s.SetName("v2"))
	check(t, s.Annotate("notes", evident.Annotation{Text: "second", Time: ptrF(1)}))
	i2 := mustSave(t, s, "", &evident.SaveOptions{NoSync: true})
	if i2.Version != 2 || i2.TracesWritten != 0 || i2.TracesReused != 2 || i2.BytesWritten >= 100_000 || i2.Commit == i1.Commit {
		t.Fatalf("second save %+v", i2)
	}
	// One trace replaced: only that one is written.
	check(t, s.AddTrace("small", []int16{4, 5}, evident.TraceInfo{}))
	check(t, s.SetName("v3"))
	i3 := mustSave(t, s, "", nil)
	if i3.Version != 3 || i3.TracesWritten != 1 || i3.TracesReused != 1 || i3.BytesWritten >= 100_000 {
		t.Fatalf("third save %+v", i3)
	}
	// A loaded session saved again reuses too.
	l := mustLoad(t, path, nil)
	check(t, l.RecordMeasurement(evident.Measurement{Name: "m", Value: 1}))
	i4 := mustSave(t, l, "", nil)
	if i4.Version != 4 || i4.TracesWritten != 0 || i4.TracesReused != 2 || i4.BytesWritten >= 100_000 {
		t.Fatalf("save of the loaded session %+v", i4)
	}

	vs, err := evident.SessionVersions(path, nil)
	check(t, err)
	if len(vs) != 4 {
		t.Fatalf("versions %s", jsonOf(vs))
	}
	for i, v := range vs {
		if v.Version != uint64(i+1) || v.Traces != 2 || v.TS.IsZero() || (i > 0 && v.Offset <= vs[i-1].Offset) {
			t.Fatalf("version %d: %s", i, jsonOf(v))
		}
	}
	wantEqual(t, "names", []string{vs[0].Name, vs[1].Name, vs[2].Name, vs[3].Name}, []string{"v1", "v2", "v3", "v3"})
	wantEqual(t, "commits", []string{vs[0].Commit, vs[1].Commit, vs[2].Commit, vs[3].Commit},
		[]string{i1.Commit, i2.Commit, i3.Commit, i4.Commit})
	if vs[0].Annotations != 0 || vs[1].Annotations != 1 || vs[3].Measurements != 1 || vs[2].Measurements != 0 {
		t.Fatalf("counts %s", jsonOf(vs))
	}

	for _, c := range []struct {
		version uint64
		name    string
		small   []int16
	}{{1, "v1", []int16{1, 2, 3}}, {2, "v2", []int16{1, 2, 3}}, {3, "v3", []int16{4, 5}}, {0, "v3", []int16{4, 5}}} {
		old := mustLoad(t, path, &evident.LoadSessionOptions{Version: c.version})
		info, err := old.Info()
		check(t, err)
		want := c.version
		if want == 0 {
			want = 4
		}
		if info.Name != c.name || info.Version != want {
			t.Fatalf("version %d: %+v", c.version, info)
		}
		small := mustTrace(t, old, "small")
		v, err := small.Int16s()
		check(t, err)
		wantEqual(t, fmt.Sprintf("small in version %d", c.version), v, c.small)
		bt := mustTrace(t, old, "big")
		bv, err := bt.Float64s()
		check(t, err)
		if len(bv) != len(big) || bv[99_999] != 99_999 {
			t.Fatalf("big trace in version %d", c.version)
		}
	}
	r, err := evident.VerifySession(path, nil)
	check(t, err)
	if !r.OK || r.Versions != 4 {
		t.Fatalf("verify %+v", r)
	}

	// Compact keeps only the newest version.
	before, _ := os.Stat(path)
	ci, err := evident.CompactSession(path, nil)
	check(t, err)
	after, _ := os.Stat(path)
	if ci.Version != 4 || ci.BytesBefore != uint64(before.Size()) || ci.BytesAfter != uint64(after.Size()) ||
		ci.BytesAfter >= ci.BytesBefore {
		t.Fatalf("compact %+v (sizes %d -> %d)", ci, before.Size(), after.Size())
	}
	vs, err = evident.SessionVersions(path, nil)
	check(t, err)
	if len(vs) != 1 || vs[0].Name != "v3" || vs[0].Measurements != 1 || vs[0].Version != 4 || vs[0].Commit != ci.Commit ||
		vs[0].CompactedFrom == nil || vs[0].CompactedFrom.Version != 4 || vs[0].CompactedFrom.Commit != i4.Commit ||
		vs[0].TraceBytes != 800_000+4 {
		t.Fatalf("versions after compact %s (compact %+v)", jsonOf(vs), ci)
	}
	c := mustLoad(t, path, nil)
	small := mustTrace(t, c, "small")
	v, err := small.Int16s()
	check(t, err)
	wantEqual(t, "small after compact", v, []int16{4, 5})
	if r, err := evident.VerifySession(path, nil); err != nil || !r.OK {
		t.Fatalf("verify after compact %+v %v", r, err)
	}
}

func TestSessionSaveToAnotherPath(t *testing.T) {
	dir := t.TempDir()
	s := mustSession(t, "copy")
	check(t, s.AddTrace("x", []uint32{1, 2, 3}, evident.TraceInfo{}))
	mustSave(t, s, filepath.Join(dir, "a.evs"), nil)
	l := mustLoad(t, filepath.Join(dir, "a.evs"), nil)
	si := mustSave(t, l, filepath.Join(dir, "b.evs"), nil)
	if si.Version != 1 || si.TracesWritten != 1 {
		t.Fatalf("save to a new file %+v", si)
	}
	// The session now belongs to b.evs: "" saves there.
	check(t, l.SetName("renamed"))
	if si := mustSave(t, l, "", nil); filepath.Base(si.Path) != "b.evs" || si.Version != 2 {
		t.Fatalf("%+v", si)
	}
	a := mustLoad(t, filepath.Join(dir, "a.evs"), nil)
	if a.Name() != "copy" {
		t.Fatalf("a.evs changed: %q", a.Name())
	}
	// A new session saved with no path: error, not a crash.
	n := mustSession(t, "nopath")
	_, err := n.Save("", nil)
	wantErr(t, err, evident.ErrInvalidArgument, evident.StatusInvalidArgument)
}

func TestSessionCompression(t *testing.T) {
	dir := t.TempDir()
	s := mustSession(t, "z")
	data := make([]int32, 200_000) // very compressible
	for i := range data {
		data[i] = int32(i / 1000)
	}
	check(t, s.AddTrace("steps", data, evident.TraceInfo{}))
	raw := mustSave(t, s, filepath.Join(dir, "raw.evs"), nil)
	z := mustSave(t, s, filepath.Join(dir, "z.evs"), &evident.SaveOptions{Compress: 9})
	if z.BytesWritten*10 > raw.BytesWritten {
		t.Fatalf("compressed save %d bytes, raw %d", z.BytesWritten, raw.BytesWritten)
	}
	l := mustLoad(t, filepath.Join(dir, "z.evs"), nil)
	tr := mustTrace(t, l, "steps")
	if !tr.Compressed() || tr.ByteLen() != 800_000 {
		t.Fatalf("compressed %v, ByteLen %d", tr.Compressed(), tr.ByteLen())
	}
	got, err := tr.Int32s()
	check(t, err)
	if !reflect.DeepEqual(got, data) {
		t.Fatal("decompressed samples differ")
	}
	check(t, tr.Verify())
	// Compression is per save: metadata-only saves keep the compressed trace.
	check(t, l.SetName("again"))
	si := mustSave(t, l, "", nil)
	if si.TracesReused != 1 {
		t.Fatalf("%+v", si)
	}
	_, err = s.Save(filepath.Join(dir, "bad.evs"), &evident.SaveOptions{Compress: 1000})
	wantErr(t, err, evident.ErrInvalidArgument, evident.StatusInvalidArgument)
}

func TestSessionExcludeTraces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.evs")
	s := mustSession(t, "meta only")
	check(t, s.AddTrace("x", ramp(10_000, func(i int) float64 { return float64(i) }), evident.TraceInfo{}))
	check(t, s.Annotate("l", evident.Annotation{Text: "a"}))
	si := mustSave(t, s, path, &evident.SaveOptions{ExcludeTraces: true})
	if si.TracesWritten != 0 || si.BytesWritten > 40_000 {
		t.Fatalf("%+v", si)
	}
	l := mustLoad(t, path, nil)
	names, err := l.TraceNames()
	check(t, err)
	if len(names) != 0 {
		t.Fatalf("traces saved although excluded: %v", names)
	}
	as, err := l.Annotations("", nil)
	check(t, err)
	if len(as) != 1 {
		t.Fatalf("%s", jsonOf(as))
	}
}

func TestSessionKeyed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyed.evs")
	s := mustSession(t, "keyed")
	check(t, s.AddTrace("x", []float64{1, 2}, evident.TraceInfo{}))
	key := keyA()
	mustSave(t, s, path, &evident.SaveOptions{Key: key})
	if !bytes.Equal(key, keyA()) {
		t.Fatal("Save changed the caller's key")
	}
	l := mustLoad(t, path, &evident.LoadSessionOptions{Key: keyA()})
	if l.Name() != "keyed" {
		t.Fatal(l.Name())
	}
	_, err := evident.LoadSession(path, &evident.LoadSessionOptions{Key: keyB()})
	wantErr(t, err, evident.ErrWrongKey, evident.StatusWrongKey)
	_, err = evident.LoadSession(path, nil)
	wantErr(t, err, evident.ErrWrongKey, evident.StatusWrongKey)
	_, err = evident.SessionVersions(path, keyB())
	wantErr(t, err, evident.ErrWrongKey, evident.StatusWrongKey)
	vs, err := evident.SessionVersions(path, keyA())
	check(t, err)
	if len(vs) != 1 {
		t.Fatal(jsonOf(vs))
	}
	// Saving again needs the file's key.
	check(t, l.SetName("keyed 2"))
	_, err = l.Save("", &evident.SaveOptions{Key: keyB()})
	wantErr(t, err, evident.ErrWrongKey, evident.StatusWrongKey)
	mustSave(t, l, "", &evident.SaveOptions{Key: keyA()})
	if r, err := evident.VerifySession(path, keyA()); err != nil || !r.OK || r.Versions != 2 {
		t.Fatalf("%+v %v", r, err)
	}
}

// A save records SESSION_SAVED with the commit hash in the audit log.
func TestSessionSaveAudit(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "audit.jsonl")
	l := mustOpen(t, logPath, evident.Options{})
	s := mustSession(t, "audited")
	check(t, s.AddTrace("x", []float64{1}, evident.TraceInfo{}))
	si := mustSave(t, s, filepath.Join(dir, "a.evs"), &evident.SaveOptions{AuditLog: l, LockTimeout: 5 * time.Second})
	check(t, l.Sync())
	es := mustRead(t, logPath, evident.QueryOptions{})
	if len(es) != 1 || es[0].EventType != "SESSION_SAVED" {
		t.Fatalf("audit entries %+v", es)
	}
	if !strings.Contains(string(es[0].Details.(json.RawMessage)), si.Commit) {
		t.Fatalf("audit entry does not hold the commit %s: %s", si.Commit, es[0].Details)
	}
	check(t, l.Close())
	_, err := s.Save("", &evident.SaveOptions{AuditLog: l})
	wantErr(t, err, evident.ErrClosed, evident.StatusClosed)
}

func TestSessionLoadTrace(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "sensor.csv")
	check(t, os.WriteFile(csv, []byte("1.5\n2.5\n-3\n"), 0o644))
	npy := filepath.Join(dir, "capture.npy")
	check(t, os.WriteFile(npy, npyFile("<i2", le(t, []int16{-7, 0, 7, 300})), 0o644))
	s := mustSession(t, "import")
	name, err := s.LoadTrace(csv, "")
	check(t, err)
	if name != "sensor" {
		t.Fatalf("name %q", name)
	}
	v, err := mustTrace(t, s, "sensor").Float64s()
	check(t, err)
	wantEqual(t, "csv samples", v, []float64{1.5, 2.5, -3})
	name, err = s.LoadTrace(npy, "CH1")
	check(t, err)
	if name != "CH1" {
		t.Fatalf("name %q", name)
	}
	iv, err := mustTrace(t, s, "CH1").Int16s()
	check(t, err)
	wantEqual(t, "npy samples", iv, []int16{-7, 0, 7, 300})
	_, err = s.LoadTrace(filepath.Join(dir, "absent.csv"), "")
	wantErr(t, err, evident.ErrIO, evident.StatusIO)
	bad := filepath.Join(dir, "bad.npy")
	check(t, os.WriteFile(bad, []byte("\x93NUMPY\x01\x00\xff\xff{'descr'"), 0o644))
	_, err = s.LoadTrace(bad, "")
	if err == nil {
		t.Fatal("a damaged .npy file loaded")
	}
	var e *evident.Error
	if !errors.As(err, &e) || e.Message == "" {
		t.Fatalf("%v", err)
	}

	// loader options: a rate for a capture without its own, Lazy accepted
	name, err = s.LoadTrace(npy, "fast", evident.TraceLoadOptions{SampleRate: 2e6, Lazy: true})
	check(t, err)
	if got := mustTrace(t, s, name).Info().SampleRate; name != "fast" || got != 2e6 {
		t.Fatalf("%q at %v Hz", name, got)
	}
	if got := mustTrace(t, s, "CH1").Info().SampleRate; got != 1 {
		t.Fatalf("without options: %v Hz", got)
	}
	timed := filepath.Join(dir, "timed.csv")
	check(t, os.WriteFile(timed, []byte("time,v\n0,1\n0.001,2\n0.002,3\n"), 0o644))
	_, err = s.LoadTrace(timed, "", evident.TraceLoadOptions{SampleRate: 50})
	wantErr(t, err, evident.ErrInvalidArgument, evident.StatusInvalidArgument)
	_, err = s.LoadTrace(npy, "x", evident.TraceLoadOptions{}, evident.TraceLoadOptions{})
	wantErr(t, err, evident.ErrInvalidArgument, evident.StatusInvalidArgument)
	_, err = s.LoadTrace(npy, "x", evident.TraceLoadOptions{Channel: 1})
	if err == nil || !strings.Contains(err.Error(), "channel") {
		t.Fatalf("a channel option for a .npy file: %v", err)
	}
}

// npyFile builds a version 1.0 .npy file of a 1-d array.
func npyFile(descr string, data []byte) []byte {
	var size int
	switch descr[1:] {
	case "f8", "i8", "u8":
		size = 8
	case "i2", "u2":
		size = 2
	default:
		size = 1
	}
	header := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%d,), }", descr, len(data)/size)
	pad := 64 - (10+len(header)+1)%64
	header += strings.Repeat(" ", pad%64) + "\n"
	out := []byte("\x93NUMPY\x01\x00")
	out = binary.LittleEndian.AppendUint16(out, uint16(len(header)))
	out = append(out, header...)
	return append(out, data...)
}

func TestSessionCloseTwiceAndUseAfterClose(t *testing.T) {
	s, err := evident.NewSession("c")
	check(t, err)
	check(t, s.AddTrace("x", []float64{1, 2, 3}, evident.TraceInfo{}))
	tr, err := s.GetTrace("x")
	check(t, err)
	check(t, s.Close())
	check(t, s.Close())
	_, err = s.Info()
	wantErr(t, err, evident.ErrClosed, evident.StatusClosed)
	wantErr(t, s.AddTrace("y", []float64{1}, evident.TraceInfo{}), evident.ErrClosed, evident.StatusClosed)
	_, err = s.Save(filepath.Join(t.TempDir(), "x.evs"), nil)
	wantErr(t, err, evident.ErrClosed, evident.StatusClosed)
	_, err = s.GetTrace("x")
	wantErr(t, err, evident.ErrClosed, evident.StatusClosed)
	if s.Name() != "" {
		t.Fatal("Name after Close")
	}
	// The trace outlives its session.
	v, err := tr.Float64s()
	check(t, err)
	wantEqual(t, "trace after session close", v, []float64{1, 2, 3})
	check(t, tr.Close())
	check(t, tr.Close())
	_, err = tr.Float64s()
	wantErr(t, err, evident.ErrClosed, evident.StatusClosed)
	_, err = tr.Bytes()
	wantErr(t, err, evident.ErrClosed, evident.StatusClosed)
	wantErr(t, tr.Verify(), evident.ErrClosed, evident.StatusClosed)
	if tr.Len() != 3 || tr.Name() != "x" {
		t.Fatal("cached properties lost at Close")
	}
}

// A mapped trace whose session is closed keeps the mapping alive; a Trace
// that handed out a slice is not freed by the garbage collector, so the
// slice stays readable even when the Trace becomes unreachable.
func TestSessionTraceSliceSurvivesGC(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gc.evs")
	s := mustSession(t, "gc")
	want := ramp(50_000, func(i int) float64 { return float64(i) * 1.5 })
	check(t, s.AddTrace("x", want, evident.TraceInfo{}))
	mustSave(t, s, path, nil)
	l, err := evident.LoadSession(path, nil)
	check(t, err)
	samples := func() []float64 {
		tr, err := l.GetTrace("x")
		check(t, err)
		v, err := tr.Float64s()
		check(t, err)
		if !tr.Mapped() {
			t.Fatal("not mapped")
		}
		return v // tr becomes unreachable here, not closed
	}()
	check(t, l.Close())
	for i := 0; i < 5; i++ {
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	if !reflect.DeepEqual(samples, want) {
		t.Fatal("slice of a garbage-collected Trace changed")
	}
	// A Trace that never handed out a slice is freed by its finalizer
	// (nothing to observe but the absence of a crash).
	func() {
		tr, err := s.GetTrace("x")
		check(t, err)
		_ = tr.Len()
	}()
	runtime.GC()
}

// Several goroutines read one Trace (typed slices, bytes, verify) at once;
// the session serialises concurrent mutation and reading.
func TestSessionConcurrentTraceReads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "conc.evs")
	s := mustSession(t, "conc")
	want := ramp(100_000, func(i int) float64 { return float64(i % 1000) })
	var wantSum float64
	for _, v := range want {
		wantSum += v
	}
	check(t, s.AddTrace("x", want, evident.TraceInfo{}))
	check(t, s.AddTrace("z", want, evident.TraceInfo{}))
	mustSave(t, s, path, nil)
	l := mustLoad(t, path, nil)
	for _, tc := range []struct {
		name string
		tr   *evident.Trace
	}{{"mapped", mustTrace(t, l, "x")}, {"in-memory", mustTrace(t, s, "x")}} {
		t.Run(tc.name, func(t *testing.T) {
			var wg sync.WaitGroup
			errs := make(chan error, 16)
			for g := 0; g < 8; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 20; i++ {
						v, err := tc.tr.Float64s()
						if err != nil {
							errs <- err
							return
						}
						var sum float64
						for _, x := range v {
							sum += x
						}
						if sum != wantSum {
							errs <- fmt.Errorf("sum %v, want %v", sum, wantSum)
							return
						}
						if b, err := tc.tr.Bytes(); err != nil || len(b) != 800_000 {
							errs <- fmt.Errorf("bytes: %d %v", len(b), err)
							return
						}
						if err := tc.tr.Verify(); err != nil {
							errs <- err
							return
						}
						if _, err := tc.tr.Int64s(); !errors.Is(err, evident.ErrInvalidArgument) {
							errs <- fmt.Errorf("wrong-type accessor: %v", err)
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
		})
	}
	// Mutations and reads of one Session from many goroutines.
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				if err := l.Annotate(fmt.Sprintf("g%d", g), evident.Annotation{Text: "a", Time: ptrF(float64(i))}); err != nil {
					t.Error(err)
					return
				}
				if err := l.RecordMeasurement(evident.Measurement{Name: "m", Value: i}); err != nil {
					t.Error(err)
					return
				}
				if _, err := l.Info(); err != nil {
					t.Error(err)
					return
				}
				tr, err := l.GetTrace("x")
				if err != nil {
					t.Error(err)
					return
				}
				tr.Close()
			}
		}()
	}
	wg.Wait()
	info, err := l.Info()
	check(t, err)
	if info.Annotations != 80 || info.Measurements != 80 || info.Layers != 8 {
		t.Fatalf("%+v", info)
	}
	mustSave(t, l, "", nil)
}

// Compressed traces decompress once, even when first read from several
// goroutines at the same time.
func TestSessionConcurrentFirstDecompression(t *testing.T) {
	dir := t.TempDir()
	s := mustSession(t, "zc")
	want := ramp(300_000, func(i int) uint16 { return uint16(i / 7) })
	check(t, s.AddTrace("z", want, evident.TraceInfo{}))
	mustSave(t, s, filepath.Join(dir, "z.evs"), &evident.SaveOptions{Compress: 3})
	l := mustLoad(t, filepath.Join(dir, "z.evs"), nil)
	tr := mustTrace(t, l, "z")
	var wg sync.WaitGroup
	ptrs := make([]*uint16, 8)
	for g := range ptrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := tr.Uint16s()
			if err != nil {
				t.Error(err)
				return
			}
			if !reflect.DeepEqual(v, want) {
				t.Error("decompressed samples differ")
			}
			ptrs[g] = &v[0]
		}()
	}
	wg.Wait()
	for _, p := range ptrs[1:] {
		if p != ptrs[0] {
			t.Fatal("the trace was decompressed more than once (different buffers)")
		}
	}
}

// Close waits for calls in flight: goroutines calling a Trace while it is
// closed get results or ErrClosed, never a crash.
func TestSessionTraceCloseDuringReads(t *testing.T) {
	s := mustSession(t, "cl")
	check(t, s.AddTrace("x", make([]float64, 1000), evident.TraceInfo{}))
	for round := 0; round < 20; round++ {
		tr, err := s.GetTrace("x")
		check(t, err)
		var wg sync.WaitGroup
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 50; i++ {
					b, err := tr.Bytes()
					if err != nil {
						if !errors.Is(err, evident.ErrClosed) {
							t.Error(err)
						}
						return
					}
					if len(b) != 8000 {
						t.Errorf("len %d", len(b))
					}
					if err := tr.Verify(); err != nil && !errors.Is(err, evident.ErrClosed) {
						t.Error(err)
					}
				}
			}()
		}
		tr.Close()
		wg.Wait()
	}
}

// ---- damaged and hostile files ----

// smallSessionFile writes a session with two versions at path and returns
// the file's bytes, its size after the first version and snapshots of both
// versions (see snapshot; taken at path, which they name).
func smallSessionFile(t *testing.T, path string) (data []byte, firstSize int, v1, v2 string) {
	t.Helper()
	s := mustSession(t, "small")
	check(t, s.AddTrace("a", []float64{1, 2, 3, 4}, evident.TraceInfo{Units: "V"}))
	check(t, s.AddBitTrace("d", []byte{0xA5}, 8, evident.TraceInfo{}))
	check(t, s.Annotate("l", evident.Annotation{Text: "x", Time: ptrF(1)}))
	mustSave(t, s, path, nil)
	st, err := os.Stat(path)
	check(t, err)
	check(t, s.RecordMeasurement(evident.Measurement{Name: "m", Value: 2}))
	check(t, s.AddTrace("b", []int8{-1, 1}, evident.TraceInfo{}))
	mustSave(t, s, "", nil)
	data, err = os.ReadFile(path)
	check(t, err)
	return data, int(st.Size()), snapshotFile(t, path, 1), snapshotFile(t, path, 2)
}

// readAll touches everything a loaded session offers; errors are fine,
// crashes are not. It returns the first error.
func readAll(s *evident.Session) error {
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	_, err := s.Info()
	keep(err)
	_, err = s.Summary()
	keep(err)
	_, err = s.Layers()
	keep(err)
	_, err = s.Measurements()
	keep(err)
	_, err = s.History()
	keep(err)
	names, err := s.TraceNames()
	keep(err)
	for _, n := range names {
		tr, err := s.GetTrace(n)
		if err != nil {
			keep(err)
			continue
		}
		_, err = tr.Bytes()
		keep(err)
		keep(tr.Verify())
		tr.Close()
	}
	return first
}

// snapshot is everything a session holds (its JSON and every trace's
// samples, each verified), to compare loaded versions; error if any read
// fails.
func snapshot(s *evident.Session) (string, error) {
	if err := readAll(s); err != nil {
		return "", err
	}
	j, err := s.JSON()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.Write(j)
	names, err := s.TraceNames()
	if err != nil {
		return "", err
	}
	for _, n := range names {
		tr, err := s.GetTrace(n)
		if err != nil {
			return "", err
		}
		raw, err := tr.Bytes()
		if err == nil {
			err = tr.Verify()
		}
		if err != nil {
			tr.Close()
			return "", err
		}
		fmt.Fprintf(&b, "\n%s %v %d %s", n, tr.DType(), tr.Len(), hex.EncodeToString(raw))
		tr.Close()
	}
	return b.String(), nil
}

func snapshotFile(t *testing.T, path string, version uint64) string {
	t.Helper()
	s := mustLoad(t, path, &evident.LoadSessionOptions{Version: version})
	snap, err := snapshot(s)
	check(t, err)
	return snap
}

func wantLibraryError(t *testing.T, what string, err error) {
	t.Helper()
	var e *evident.Error
	if !errors.As(err, &e) || e.Message == "" || errors.Is(err, evident.ErrInternal) {
		t.Fatalf("%s: want a library error with a message, got %v (%T)", what, err, err)
	}
}

// The file truncated at every offset: loading gives the newest version
// still complete (the first one past its commit), or a clear error; never a
// crash, never a partial version.
func TestSessionTruncatedAtEveryOffset(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cut.evs")
	data, firstSize, v1, v2 := smallSessionFile(t, path)
	loaded := map[uint64]int{}
	for n := 0; n < len(data); n++ {
		check(t, os.WriteFile(path, data[:n], 0o644))
		s, err := evident.LoadSession(path, nil)
		if err != nil {
			wantLibraryError(t, fmt.Sprintf("truncated at %d", n), err)
			if n >= firstSize {
				t.Fatalf("truncated at %d (after the first version, %d bytes): %v", n, firstSize, err)
			}
			continue
		}
		info, err := s.Info()
		check(t, err)
		loaded[info.Version]++
		snap, err := snapshot(s)
		if err != nil {
			t.Fatalf("truncated at %d, version %d loaded but reads fail: %v", n, info.Version, err)
		}
		if want := map[uint64]string{1: v1, 2: v2}[info.Version]; snap != want {
			t.Fatalf("truncated at %d: version %d loaded with other content", n, info.Version)
		}
		if n < firstSize {
			t.Fatalf("truncated at %d, before the first commit ends (%d), loaded version %d", n, firstSize, info.Version)
		}
		if info.Version != 1 && n < len(data) {
			t.Fatalf("truncated at %d of %d, loaded version %d", n, len(data), info.Version)
		}
		s.Close()
		if _, err := evident.VerifySession(path, nil); err != nil {
			wantLibraryError(t, "verify", err)
		}
	}
	if loaded[1] == 0 {
		t.Fatal("no truncation loaded the first version")
	}
	t.Logf("%d bytes, first version %d bytes: loads %v", len(data), firstSize, loaded)
}

// Every byte flipped in turn: loading fails with a clear error, or reading
// or Trace.Verify does, or what loads is exactly one of the saved versions
// (the flip hit bytes no version depends on); never a crash, never damaged
// content accepted.
func TestSessionFlippedBytes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "flip.evs")
	data, firstSize, v1, v2 := smallSessionFile(t, path)
	step := 1
	if testing.Short() {
		step = 7
	}
	harmless := 0
	var rolledBack []int
	frames := recordFrames(data)
	lastFrame := frames[len(frames)-1]
	for i := 0; i < len(data); i += step {
		d := bytes.Clone(data)
		d[i] ^= 0x41
		check(t, os.WriteFile(path, d, 0o644))
		r, verr := evident.VerifySession(path, nil)
		if verr != nil {
			wantLibraryError(t, fmt.Sprintf("verify, byte %d flipped", i), verr)
		}
		s, err := evident.LoadSession(path, nil)
		if err != nil {
			wantLibraryError(t, fmt.Sprintf("load, byte %d flipped", i), err)
			continue
		}
		snap, rerr := snapshot(s)
		s.Close()
		if rerr != nil {
			wantLibraryError(t, fmt.Sprintf("read, byte %d flipped", i), rerr)
			if verr == nil && r.OK {
				t.Errorf("byte %d flipped: reading fails (%v) but VerifySession says OK", i, rerr)
			}
			continue
		}
		if snap != v1 && snap != v2 {
			t.Fatalf("byte %d flipped: loaded and verified, with content that was never saved", i)
		}
		if snap == v1 && i >= firstSize && i < lastFrame && verr == nil && r.OK {
			// The file has its full length and intact frames follow the
			// damaged one: damage, not an interrupted save.
			rolledBack = append(rolledBack, i)
		}
		harmless++
	}
	t.Logf("%d of %d flips loaded an intact version", harmless, (len(data)+step-1)/step)
	if len(rolledBack) > 0 {
		t.Errorf("bug: %d flips in the second save (bytes %d to %d, before its last frame at %d) silently loaded version 1, "+
			"and VerifySession said ok (see TestSessionDamageInNewestSaveIsReported)",
			len(rolledBack), rolledBack[0], rolledBack[len(rolledBack)-1], lastFrame)
	}
}

// A damaged frame header in the middle of the newest save (the frames after
// it, the commit included, intact; the file has its full length) is damage,
// not an interrupted save: VerifySession must not report the file ok, as
// evident.Verify does not for a binary log damaged the same way.
func TestSessionDamageInNewestSaveIsReported(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.evs")
	data, firstSize, _, _ := smallSessionFile(t, path)
	// Damage the length of the record frame before the last one (the
	// commit, left intact).
	frames := recordFrames(data)
	at := frames[len(frames)-2]
	if at < firstSize {
		t.Fatalf("frame %d is in the first save (%d bytes)", at, firstSize)
	}
	d := bytes.Clone(data)
	d[at] ^= 0x41
	check(t, os.WriteFile(path, d, 0o644))
	r, err := evident.VerifySession(path, nil)
	check(t, err)
	s, lerr := evident.LoadSession(path, nil)
	var loaded uint64
	if lerr == nil {
		info, _ := s.Info()
		loaded = info.Version
		s.Close()
	}
	if r.OK {
		t.Fatalf("bug: one flipped byte at offset %d of %d (the length of a record frame followed by the intact commit "+
			"frame at %d): VerifySession ok=%v versions=%d torn_tail_at=%v problems=%v; LoadSession: version %d, %v",
			at, len(d), frames[len(frames)-1], r.OK, r.Versions, derefU(r.TornTailAt), r.Problems, loaded, lerr)
	}
}

// recordFrames returns the offsets of the record frames of a session file
// (each starts 8 bytes before its body `{"v":1,"seq":`).
func recordFrames(data []byte) []int {
	var out []int
	for i := 0; ; {
		j := bytes.Index(data[i:], []byte(`{"v":1,"seq":`))
		if j < 0 {
			return out
		}
		out = append(out, i+j-8)
		i += j + 1
	}
}

func derefU(p *uint64) any {
	if p == nil {
		return nil
	}
	return *p
}

// A flipped byte inside the samples of a mapped trace: loading is lazy, so
// it succeeds, but Verify reports the trace corrupt, naming it.
func TestSessionCorruptSamplesDetected(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.evs")
	s := mustSession(t, "c")
	marker := ramp(512, func(i int) uint64 { return 0x1122334455667788 ^ uint64(i) })
	check(t, s.AddTrace("marker", marker, evident.TraceInfo{}))
	mustSave(t, s, path, nil)
	data, err := os.ReadFile(path)
	check(t, err)
	at := bytes.Index(data, le(t, marker))
	if at < 0 {
		t.Fatal("samples are not stored raw")
	}
	if at%64 != 0 {
		t.Fatalf("samples at offset %d are not aligned", at)
	}
	data[at+100] ^= 1
	check(t, os.WriteFile(path, data, 0o644))
	r, err := evident.VerifySession(path, nil)
	check(t, err)
	if r.OK || len(r.Problems) == 0 {
		t.Fatalf("VerifySession missed the damage: %+v", r)
	}
	l, err := evident.LoadSession(path, nil)
	if err != nil {
		wantLibraryError(t, "load", err)
		return
	}
	defer l.Close()
	tr, err := l.GetTrace("marker")
	if err != nil {
		wantLibraryError(t, "get trace", err)
		return
	}
	defer tr.Close()
	verr := tr.Verify()
	wantErr(t, verr, evident.ErrCorrupt, evident.StatusCorrupt)
}

// Errors name the file and the entry: Trace.Verify's error names the
// session file and the trace.
func TestSessionTraceVerifyMessage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.evs")
	s := mustSession(t, "m")
	marker := ramp(64, func(i int) uint64 { return 0xabcdef0123456789 ^ uint64(i) })
	check(t, s.AddTrace("marker", marker, evident.TraceInfo{}))
	mustSave(t, s, path, nil)
	data, err := os.ReadFile(path)
	check(t, err)
	data[bytes.Index(data, le(t, marker))+3] ^= 1
	check(t, os.WriteFile(path, data, 0o644))
	l := mustLoad(t, path, nil)
	e := wantErr(t, mustTrace(t, l, "marker").Verify(), evident.ErrCorrupt, evident.StatusCorrupt)
	if !strings.Contains(e.Message, path) || !strings.Contains(e.Message, "marker") {
		t.Fatalf("bug: Trace.Verify's message %q names neither the file nor the trace", e.Message)
	}
}

// A bool trace holding a byte other than 0 or 1 (a Go bool must be one of
// them) is refused when its samples are read: the changed byte fails the
// samples' hash, checked before they are handed out (ErrCorrupt).
func TestSessionHostileBoolSamples(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.evs")
	s := mustSession(t, "b")
	pattern := ramp(64, func(i int) bool { return i%3 != 1 })
	check(t, s.AddTrace("flags", pattern, evident.TraceInfo{}))
	mustSave(t, s, path, nil)
	data, err := os.ReadFile(path)
	check(t, err)
	at := bytes.Index(data, le(t, pattern))
	if at < 0 {
		t.Fatal("bool samples not stored raw")
	}
	data[at+5] = 2
	check(t, os.WriteFile(path, data, 0o644))
	l, err := evident.LoadSession(path, nil)
	if err != nil {
		wantLibraryError(t, "load", err)
		return
	}
	defer l.Close()
	tr := mustTrace(t, l, "flags")
	_, err = tr.Bools()
	wantErr(t, err, evident.ErrCorrupt, evident.StatusCorrupt)
	wantErr(t, tr.Verify(), evident.ErrCorrupt, evident.StatusCorrupt)
}

func TestSessionStatuses(t *testing.T) {
	for _, c := range []struct {
		st       evident.Status
		sentinel error
		name     string
	}{
		{evident.StatusNotFound, evident.ErrNotFound, "EVIDENT_STATUS_NOT_FOUND"},
		{evident.StatusLayerLocked, evident.ErrLayerLocked, "EVIDENT_STATUS_LAYER_LOCKED"},
	} {
		if c.st.String() != c.name {
			t.Errorf("%d: %s", c.st, c.st)
		}
		err := fmt.Errorf("wrapped: %w", &evident.Error{Status: c.st, Message: "m"})
		wantErr(t, err, c.sentinel, c.st)
		for _, other := range allSentinels {
			if errors.Is(err, other) {
				t.Errorf("%v also matches %v", c.st, other)
			}
		}
		if e := (&evident.Error{Status: c.st}); e.Error() != c.sentinel.Error() {
			t.Errorf("message-less error %q", e.Error())
		}
	}
	if !errors.Is(&evident.Error{Status: evident.StatusNotFound}, evident.ErrNotFound) ||
		errors.Is(&evident.Error{Status: evident.StatusNotFound}, evident.ErrLayerLocked) {
		t.Fatal("sentinels mixed up")
	}
	if uint32(evident.StatusNotFound) != 11 || uint32(evident.StatusLayerLocked) != 12 {
		t.Fatal("status numbers changed")
	}
}

func ExampleNewSession() {
	dir, _ := os.MkdirTemp("", "session-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "analysis.evs")

	s, err := evident.NewSession("Power Rail Analysis")
	if err != nil {
		panic(err)
	}
	defer s.Close()
	s.AddTrace("5V_RAIL", []float64{4.98, 5.01, 5.02, 4.99}, evident.TraceInfo{SampleRate: 1e6, Units: "V"})
	s.Annotate("default", evident.Annotation{Text: "Voltage spike", Time: evident.Ptr(1.5e-6)})
	s.RecordMeasurement(evident.Measurement{Name: "ripple_vpp", Value: 0.04, Unit: "V", TraceName: "5V_RAIL"})
	info, err := s.Save(path, &evident.SaveOptions{Compress: 3})
	if err != nil {
		panic(err)
	}
	fmt.Println("saved version", info.Version)

	// Resume later: samples are memory-mapped, not read.
	l, err := evident.LoadSession(path, nil)
	if err != nil {
		panic(err)
	}
	defer l.Close()
	tr, err := l.GetTrace("5V_RAIL")
	if err != nil {
		panic(err)
	}
	defer tr.Close() // the slice below is valid until then
	v, _ := tr.Float64s()
	fmt.Println(l.Name(), tr.Info().Units, v)
	// Output:
	// saved version 1
	// Power Rail Analysis V [4.98 5.01 5.02 4.99]
}

// Files that are not sessions at all, or are built to mislead.
func TestSessionHostileFiles(t *testing.T) {
	dir := t.TempDir()
	good, _, _, _ := smallSessionFile(t, filepath.Join(dir, "good.evs"))
	logPath := filepath.Join(dir, "a.evl")
	lg := mustOpen(t, logPath, evident.Options{})
	mustAppend(t, lg, evident.Entry{EventType: "X"})
	check(t, lg.Close())
	logBytes, err := os.ReadFile(logPath)
	check(t, err)
	rng := rand.New(rand.NewSource(5))
	random := make([]byte, 4096)
	rng.Read(random)
	magic := []byte{0x89, 'E', 'V', 'S', '\r', '\n', 0x1a, '\n'}
	cases := map[string][]byte{
		"empty":          {},
		"magic only":     magic,
		"header only":    good[:16],
		"random":         random,
		"magic + random": append(bytes.Clone(magic), random...),
		"audit log":      logBytes,
		"jsonl":          []byte(`{"v":1,"seq":0}` + "\n"),
		"pickle":         []byte("\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94K\x01s."),
		"huge lengths":   append(bytes.Clone(good[:16]), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0),
		"version 99":     append(append(bytes.Clone(magic), 99, 0, 0, 0), good[12:]...),
		"doubled":        append(bytes.Clone(good), good...),
	}
	// Random garbage written over random spans of a good file.
	for i := 0; i < 40; i++ {
		d := bytes.Clone(good)
		at := rng.Intn(len(d))
		n := 1 + rng.Intn(64)
		for j := at; j < at+n && j < len(d); j++ {
			d[j] = byte(rng.Intn(256))
		}
		cases[fmt.Sprintf("garbage %d at %d", i, at)] = d
	}
	for name, d := range cases {
		path := filepath.Join(dir, "hostile.evs")
		check(t, os.WriteFile(path, d, 0o644))
		if _, err := evident.SessionVersions(path, nil); err != nil {
			wantLibraryError(t, name+": versions", err)
		}
		if _, err := evident.VerifySession(path, nil); err != nil {
			wantLibraryError(t, name+": verify", err)
		}
		s, err := evident.LoadSession(path, nil)
		if err != nil {
			wantLibraryError(t, name+": load", err)
			continue
		}
		if err := readAll(s); err != nil {
			wantLibraryError(t, name+": read", err)
		}
		s.Close()
		if !strings.HasPrefix(name, "garbage") && name != "doubled" {
			t.Errorf("%s: loaded", name)
		}
	}
}

// A mapped trace's file truncated by another program: reading the pages
// that are gone raises SIGBUS. Go turns that into a recoverable panic only
// with debug.SetPanicOnFault(true) (otherwise the program dies); this runs
// in a child process so that a fatal fault cannot take the tests down.
func TestSessionFileTruncatedUnderMappedTrace(t *testing.T) {
	if os.Getenv("EVIDENT_GO_SIGBUS_CHILD") == "1" {
		sigbusChild()
		return
	}
	path := filepath.Join(t.TempDir(), "t.evs")
	cmd := exec.Command(os.Args[0], "-test.run=^TestSessionFileTruncatedUnderMappedTrace$", "-test.count=1")
	cmd.Env = append(os.Environ(), "EVIDENT_GO_SIGBUS_CHILD=1", "EVIDENT_GO_SIGBUS_PATH="+path)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "fault recovered") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func sigbusChild() {
	path := os.Getenv("EVIDENT_GO_SIGBUS_PATH")
	s, _ := evident.NewSession("t")
	if err := s.AddTrace("x", make([]float64, 1<<17), evident.TraceInfo{}); err != nil {
		panic(err)
	}
	if _, err := s.Save(path, nil); err != nil {
		panic(err)
	}
	l, err := evident.LoadSession(path, nil)
	if err != nil {
		panic(err)
	}
	tr, err := l.GetTrace("x")
	if err != nil {
		panic(err)
	}
	defer tr.Close()
	v, err := tr.Float64s()
	if err != nil || !tr.Mapped() {
		panic(fmt.Sprint("not mapped: ", err))
	}
	if err := os.Truncate(path, 0); err != nil {
		panic(err)
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			fmt.Println("fault recovered:", r)
		}
	}()
	fmt.Println(v[len(v)-1])
}

// ---- interoperability with the Python package ----

// pyDumpSession prints everything the Python package reads from a session
// file as JSON in the file's field names. Floats are float.hex() strings
// and integers decimal strings (exact, and JSON cannot hold NaN).
const pyDumpSession = `
import json, sys
from datetime import timezone
import evident
key = bytes.fromhex(sys.argv[2]) if len(sys.argv) > 2 else None
s = evident.load_session(sys.argv[1], key=key)
def ts(d):
    return d.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
def enc(x):
    if isinstance(x, bool):
        return x
    if isinstance(x, float):
        return x.hex()
    return str(int(x))
out = {"name": s.name, "metadata": s.metadata, "traces": [], "annotations": [], "layers": [],
       "measurements": [], "history": [], "history_limit": s.history.max_entries}
for n in s.list_traces():
    with s.get_trace(n) as tr:
        out["traces"].append({"name": tr.name, "dtype": tr.dtype, "len": len(tr), "sample_rate": tr.sample_rate,
            "start_time": tr.start_time, "units": tr.units, "metadata": tr.metadata, "mapped": tr.is_mapped,
            "compressed": tr.compressed, "raw": bytes(tr.raw).hex(), "list": [enc(x) for x in tr.to_list()]})
for a in s.get_annotations():
    out["annotations"].append({"layer": a.layer, "annotation": a.to_dict()})
for name in s.annotation_layers:
    l = s.annotation_layers[name]
    out["layers"].append({"name": l.name, "visible": l.visible, "locked": l.locked, "color": l.color,
        "description": l.description})
for m in s.measurement_records():
    out["measurements"].append({"name": m.name, "value": m.value, "unit": m.unit, "trace_name": m.trace_name,
        "metadata": m.metadata, "recorded_at": ts(m.recorded_at)})
for e in s.history.entries:
    # the order Python sees (its dict's), as Go's field names it
    out["history"].append(dict(e.to_dict(), parameter_order=list(e.parameters) or None))
print(json.dumps(out))
`

type pyTrace struct {
	Name       string         `json:"name"`
	DType      string         `json:"dtype"`
	Len        uint64         `json:"len"`
	SampleRate float64        `json:"sample_rate"`
	StartTime  float64        `json:"start_time"`
	Units      string         `json:"units"`
	Metadata   map[string]any `json:"metadata"`
	Mapped     bool           `json:"mapped"`
	Compressed bool           `json:"compressed"`
	Raw        string         `json:"raw"`
	List       []any          `json:"list"`
}

type pySession struct {
	Name         string                    `json:"name"`
	Metadata     map[string]any            `json:"metadata"`
	Traces       []pyTrace                 `json:"traces"`
	Annotations  []evident.LayerAnnotation `json:"annotations"`
	Layers       []evident.Layer           `json:"layers"`
	Measurements []evident.Measurement     `json:"measurements"`
	History      []evident.HistoryEntry    `json:"history"`
	HistoryLimit int                       `json:"history_limit"`
}

// pyValueMatches reports whether Python's encoding of one sample (see
// pyDumpSession) is the Go sample v.
func pyValueMatches(py any, v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Bool:
		b, ok := py.(bool)
		return ok && b == v.Bool()
	case reflect.Float32, reflect.Float64:
		s, ok := py.(string)
		if !ok {
			return false
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return false
		}
		g := v.Float()
		return math.Float64bits(f) == math.Float64bits(g) || (math.IsNaN(f) && math.IsNaN(g))
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		s, _ := py.(string)
		n, err := strconv.ParseInt(s, 10, 64)
		return err == nil && n == v.Int()
	default:
		s, _ := py.(string)
		n, err := strconv.ParseUint(s, 10, 64)
		return err == nil && n == v.Uint()
	}
}

// Every field Go saved, as the Python package reads it.
func TestPythonLoadsSessionSavedByGo(t *testing.T) {
	py := pythonPath(t)
	if out, err := exec.Command(py, "-c", "import evident; print(hasattr(evident, 'load_session'))").CombinedOutput(); err != nil ||
		strings.TrimSpace(string(out)) != "True" {
		skipOrFail(t, "the Python package has no load_session: "+strings.TrimSpace(string(out)))
	}
	for _, compress := range []int{0, 3} {
		t.Run(fmt.Sprintf("compress=%d", compress), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "go.evs")
			s := mustSession(t, "x")
			f := buildFull(t, s)
			mustSave(t, s, path, &evident.SaveOptions{Compress: compress, Key: keyA()})
			out := runPython(t, pyDumpSession, path, hex.EncodeToString(keyA()))
			var got pySession
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if got.Name != f.name || got.HistoryLimit != f.historyLimit {
				t.Fatalf("name %q, history limit %d", got.Name, got.HistoryLimit)
			}
			wantEqual(t, "metadata", got.Metadata, f.meta)
			cases := dtypeCases()
			if len(got.Traces) != len(cases) {
				t.Fatalf("%d traces", len(got.Traces))
			}
			for i, c := range cases {
				pt := got.Traces[i]
				info := f.traceInfos[c.name]
				if pt.Name != c.name || pt.DType != c.dtype.String() || pt.Len != c.n || pt.SampleRate != info.SampleRate ||
					pt.StartTime != info.StartTime || pt.Units != info.Units || pt.Mapped != (compress == 0) ||
					pt.Compressed != (compress != 0) {
					t.Fatalf("trace %d: %+v", i, pt)
				}
				wantEqual(t, "trace metadata", pt.Metadata, info.Metadata)
				if pt.Raw != hex.EncodeToString(le(t, c.data)) {
					t.Fatalf("%s: Python's raw bytes differ", c.name)
				}
				if uint64(len(pt.List)) != c.n {
					t.Fatalf("%s: Python lists %d samples", c.name, len(pt.List))
				}
				if c.dtype == evident.DTypeBit {
					packed := c.data.([]byte)
					for j, b := range pt.List {
						if b != evident.Bit(packed, uint64(j)) {
							t.Fatalf("bit %d: Python %v", j, b)
						}
					}
					continue
				}
				v := reflect.ValueOf(c.data)
				for j := range pt.List {
					if !pyValueMatches(pt.List[j], v.Index(j)) {
						t.Fatalf("%s[%d]: Python %v, Go %v", c.name, j, pt.List[j], v.Index(j))
					}
				}
			}
			var wantAnns []evident.LayerAnnotation
			var wantLayers []evident.Layer
			for _, l := range f.layers {
				for _, a := range l.Annotations {
					wantAnns = append(wantAnns, evident.LayerAnnotation{Layer: l.Name, Annotation: a})
				}
				l.Annotations = nil
				wantLayers = append(wantLayers, l)
			}
			wantEqual(t, "annotations", got.Annotations, wantAnns)
			wantEqual(t, "layers", got.Layers, wantLayers)
			wantEqual(t, "measurements", got.Measurements, f.measurements)
			wantEqual(t, "history", got.History, f.history)
		})
	}
}

const pyWriteSession = `
import sys, datetime
import evident
s = evident.Session(name="from python")
s.metadata = {"lab": "B2", "n": 3}
s.add_trace("volts", [0.5, -1.25, 3.0], dtype="f64", sample_rate=2000.0, start_time=-0.5, units="V", metadata={"probe": "x10"})
s.add_trace("counts", [0, 65535, 7], dtype="u16")
s.add_trace("flags", [True, False, False, True, True, False, True, True, True], dtype="bit")
t = datetime.datetime(2025, 6, 7, 8, 9, 10, 123456, tzinfo=datetime.timezone.utc)
s.annotate("burst", time_range=(1e-3, 2e-3), layer="protocol", color="#FF0000", style="dashed", created_at=t, note="n1")
s.annotate("level", amplitude=3.3, layer="protocol", created_at=t)
s.record_measurement("vpp", 1.5, unit="V", trace_name="volts", acceptable=True)
s.history.record("filter", {"cutoff": 1e6}, result="ok", duration_ms=2.5, success=False, error_message="clipped", timestamp=t)
s.save(sys.argv[1], compress=3)
`

// A session written by the Python package, read through the Go API.
func TestGoLoadsSessionSavedByPython(t *testing.T) {
	py := pythonPath(t)
	if out, err := exec.Command(py, "-c", "import evident; print(hasattr(evident, 'Session'))").CombinedOutput(); err != nil ||
		strings.TrimSpace(string(out)) != "True" {
		skipOrFail(t, "the Python package has no Session: "+strings.TrimSpace(string(out)))
	}
	path := filepath.Join(t.TempDir(), "py.evs")
	runPython(t, pyWriteSession, path)
	s := mustLoad(t, path, nil)
	if s.Name() != "from python" {
		t.Fatal(s.Name())
	}
	meta, err := s.Metadata()
	check(t, err)
	wantEqual(t, "metadata", meta, map[string]any{"lab": "B2", "n": float64(3)})
	names, err := s.TraceNames()
	check(t, err)
	wantEqual(t, "names", names, []string{"volts", "counts", "flags"})
	volts := mustTrace(t, s, "volts")
	v, err := volts.Float64s()
	check(t, err)
	wantEqual(t, "volts", v, []float64{0.5, -1.25, 3.0})
	wantEqual(t, "volts info", volts.Info(), evident.TraceInfo{SampleRate: 2000, StartTime: -0.5, Units: "V",
		Metadata: map[string]any{"probe": "x10"}})
	if !volts.Compressed() {
		t.Fatal("not compressed")
	}
	c, err := mustTrace(t, s, "counts").Uint16s()
	check(t, err)
	wantEqual(t, "counts", c, []uint16{0, 65535, 7})
	flags := mustTrace(t, s, "flags")
	bits, err := flags.Bits()
	check(t, err)
	if flags.Len() != 9 || !bytes.Equal(bits, []byte{0b1101_1001, 0b1}) {
		t.Fatalf("flags: %d bits %08b", flags.Len(), bits)
	}
	at := utc("2025-06-07T08:09:10.123456Z")
	as, err := s.Annotations("protocol", nil)
	check(t, err)
	wantEqual(t, "annotations", as, []evident.LayerAnnotation{
		{Layer: "protocol", Annotation: evident.Annotation{Text: "burst", Type: evident.AnnotationRange, TimeRange: ptrR(1e-3, 2e-3),
			Color: "#FF0000", Style: "dashed", Visible: evident.Ptr(true), CreatedAt: at, Metadata: map[string]any{"note": "n1"}}},
		{Layer: "protocol", Annotation: evident.Annotation{Text: "level", Type: evident.AnnotationHorizontal, Amplitude: ptrF(3.3),
			Style: "solid", Visible: evident.Ptr(true), CreatedAt: at, Metadata: map[string]any{}}},
	})
	ms, err := s.Measurements()
	check(t, err)
	if len(ms) != 1 || ms[0].Name != "vpp" || ms[0].Value != 1.5 || ms[0].Unit != "V" || ms[0].TraceName != "volts" ||
		!reflect.DeepEqual(ms[0].Metadata, map[string]any{"acceptable": true}) || ms[0].RecordedAt.IsZero() {
		t.Fatalf("measurements %s", jsonOf(ms))
	}
	hs, err := s.History()
	check(t, err)
	wantEqual(t, "history", hs, []evident.HistoryEntry{{Operation: "filter", Parameters: map[string]any{"cutoff": 1e6},
		ParameterOrder: []string{"cutoff"}, Result: "ok", Timestamp: at, DurationMs: 2.5, Success: evident.Ptr(false), ErrorMessage: "clipped", Metadata: map[string]any{}}})
	// Go saves a new version of the Python file; Python reads it back.
	check(t, s.Annotate("protocol", evident.Annotation{Text: "from go", Time: ptrF(5e-3)}))
	if si := mustSave(t, s, "", nil); si.Version != 2 || si.TracesReused != 3 {
		t.Fatalf("%+v", si)
	}
	var got pySession
	out := runPython(t, pyDumpSession, path)
	check(t, json.Unmarshal([]byte(out), &got))
	if len(got.Annotations) != 3 || got.Annotations[2].Annotation.Text != "from go" {
		t.Fatalf("Python after the Go save: %s", out)
	}
}

// TestSessionBoolsArePrivate: the []bool of a loaded bool trace is checked
// once and private to this process. Another program writing 2 into the
// file afterwards must not reach it (a Go bool must be 0 or 1).
func TestSessionBoolsArePrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.evs")
	s := mustSession(t, "bools")
	bits := make([]bool, 4096)
	for i := range bits {
		bits[i] = i%3 == 0
	}
	check(t, s.AddTrace("D0", bits, evident.TraceInfo{SampleRate: 1e3}))
	mustSave(t, s, path, nil)
	l := mustLoad(t, path, nil)
	tr := mustTrace(t, l, "D0")
	got, err := tr.Bools()
	check(t, err)
	raw := make([]byte, len(bits))
	for i, b := range bits {
		if b {
			raw[i] = 1
		}
	}
	data, err := os.ReadFile(path)
	check(t, err)
	at := bytes.Index(data, raw)
	if at < 0 {
		t.Fatal("samples not found in the file")
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	check(t, err)
	_, err = f.WriteAt([]byte{2}, int64(at+5))
	check(t, err)
	check(t, f.Close())
	view := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(got))), len(got))
	for i, b := range view {
		if b > 1 {
			t.Fatalf("bool %d is backed by byte %d", i, b)
		}
	}
	if !reflect.DeepEqual(got, bits) {
		t.Fatal("bools changed")
	}
}

// A save into an existing empty file (os.CreateTemp) is refused unless
// AdoptEmpty; with it the file becomes the session file.
func TestSessionSaveAdoptEmpty(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "s-*.evs")
	if err != nil {
		t.Fatal(err)
	}
	path := f.Name()
	f.Close()
	s, err := evident.NewSession("s")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Save(path, nil); err == nil {
		t.Fatal("an empty file was saved into without AdoptEmpty")
	}
	info, err := s.Save(path, &evident.SaveOptions{AdoptEmpty: true})
	if err != nil || info.Version != 1 {
		t.Fatalf("save: %+v %v", info, err)
	}
	back, err := evident.LoadSession(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	back.Close()
}

// LoadTrace records the attempt in the history as Python's load_trace does (the path,
// the name given, the loader options; a failure too), unless auto-record is off.
func TestSessionLoadTraceRecordsHistory(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "cap.csv")
	check(t, os.WriteFile(csv, []byte("1\n2\n3\n"), 0o644))
	s := mustSession(t, "history")
	_, err := s.LoadTrace(csv, "")
	check(t, err)
	_, err = s.LoadTrace(csv, "slow", evident.TraceLoadOptions{SampleRate: 50})
	check(t, err)
	absent := filepath.Join(dir, "absent.csv")
	if _, err = s.LoadTrace(absent, ""); err == nil {
		t.Fatal("an absent file loaded")
	}
	h, err := s.History()
	check(t, err)
	type rec struct {
		Op     string
		OK     bool
		Params map[string]any
		Result any
	}
	var got []rec
	for _, e := range h {
		got = append(got, rec{e.Operation, e.Success == nil || *e.Success, e.Parameters, e.Result})
	}
	wantEqual(t, "history", got, []rec{
		{"load_trace", true, map[string]any{"path": csv}, "loaded 'cap'"},
		{"load_trace", true, map[string]any{"path": csv, "name": "slow", "sample_rate": 50.0}, "loaded 'slow'"},
		{"load_trace", false, map[string]any{"path": absent}, nil},
	})
	if h[2].ErrorMessage == "" {
		t.Fatal("the failure has no error message")
	}
	check(t, s.SetHistoryAutoRecord(false))
	_, err = s.LoadTrace(csv, "again")
	check(t, err)
	if h, err = s.History(); err != nil || len(h) != 3 {
		t.Fatalf("auto-record off: %d entries, %v", len(h), err)
	}
	if info, err := s.Info(); err != nil || info.AutoRecord {
		t.Fatalf("info %+v, %v", info, err)
	}
}
