package evident_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	evident "github.com/evident-audit/evident/bindings/go"
)

// The session logic is the library's; these pin the calls that moved into
// Rust (one rule for C, Go and Python).

func TestParseDTypeAcceptsTheLibrarysAliases(t *testing.T) {
	for name, want := range map[string]evident.DType{
		"f64": evident.DTypeF64, "float64": evident.DTypeF64, "Double": evident.DTypeF64,
		"float32": evident.DTypeF32, "UINT16": evident.DTypeU16, "bool_": evident.DTypeBool,
		"bits": evident.DTypeBit,
	} {
		if got, ok := evident.ParseDType(name); !ok || got != want {
			t.Errorf("ParseDType(%q) = %v, %v; want %v", name, got, ok, want)
		}
	}
	for _, bad := range []string{"complex128", "", "f64\x00"} {
		if _, ok := evident.ParseDType(bad); ok {
			t.Errorf("ParseDType(%q) accepted", bad)
		}
	}
}

func TestRemoveAnnotationRemovesOne(t *testing.T) {
	s := mustSession(t, "r")
	for _, text := range []string{"a", "b", "c"} {
		tm := 1.0
		if err := s.Annotate("L", evident.Annotation{Text: text, Time: &tm}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RemoveAnnotation("L", 1); err != nil {
		t.Fatal(err)
	}
	ls, err := s.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, a := range ls[0].Annotations {
		texts = append(texts, a.Text)
	}
	if strings.Join(texts, ",") != "a,c" {
		t.Fatalf("left %v", texts)
	}
	if err := s.RemoveAnnotation("L", 2); !errors.Is(err, evident.ErrNotFound) {
		t.Fatalf("index out of range: %v", err)
	}
	locked := true
	if err := s.SetLayer(evident.LayerProps{Name: "L", Locked: &locked}); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveAnnotation("L", 0); !errors.Is(err, evident.ErrLayerLocked) {
		t.Fatalf("locked layer: %v", err)
	}
}

func TestHistorySummaryAndScript(t *testing.T) {
	s := mustSession(t, "h")
	ts := time.Date(2026, 1, 8, 10, 30, 1, 0, time.UTC)
	failed := false
	for _, e := range []evident.HistoryEntry{
		{Operation: "load_trace", Parameters: map[string]any{"path": "a.wfm"}, DurationMs: 2, Timestamp: ts},
		{Operation: "fft", DurationMs: 1, Success: &failed, ErrorMessage: "too long", Timestamp: ts.Add(time.Second)},
	} {
		if err := s.RecordHistory(e); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := s.HistorySummary()
	if err != nil {
		t.Fatal(err)
	}
	if sum.TotalOperations != 2 || sum.Failed != 1 || sum.TotalDurationMs != 3 || sum.Operations["fft"] != 1 ||
		sum.First == nil || !sum.First.Equal(ts) {
		t.Fatalf("summary %+v", sum)
	}
	script, err := s.HistoryScript("", "", evident.ScriptEvident)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(script, "# 10:30:01 - load_trace\ntk.load_trace(path='a.wfm')\n") ||
		!strings.Contains(script, "# FAILED: tk.fft(): too long") {
		t.Fatalf("script:\n%s", script)
	}
	if _, err := s.HistoryScript("os; x", "tk", evident.ScriptEvident); !errors.Is(err, evident.ErrInvalidArgument) {
		t.Fatalf("bad module: %v", err)
	}
}

func TestMeasurementsTraceKit(t *testing.T) {
	s := mustSession(t, "m")
	at := time.Date(2026, 1, 8, 10, 30, 0, 0, time.UTC)
	if err := s.RecordMeasurement(evident.Measurement{Name: "f", Value: 2.5, Unit: "Hz", RecordedAt: at}); err != nil {
		t.Fatal(err)
	}
	m, err := s.MeasurementsTraceKit()
	if err != nil {
		t.Fatal(err)
	}
	if m["f"]["value"] != 2.5 || m["f"]["timestamp"] != "2026-01-08T10:30:00+00:00" {
		t.Fatalf("%v", m)
	}
}

// Info (and Name) are read from the library once per change of the session,
// not decoded again on every call; a change is seen at once.
func TestInfoIsCachedUntilTheSessionChanges(t *testing.T) {
	s := mustSession(t, "first")
	a, err := s.Info()
	if err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if s.Name() != "first" {
			t.Fatal("name")
		}
	})
	if allocs > 0 {
		t.Errorf("Name allocates %v times per call: decoded again", allocs)
	}
	if err := s.SetName("second"); err != nil {
		t.Fatal(err)
	}
	if s.Name() != "second" {
		t.Fatalf("after SetName: %q", s.Name())
	}
	b, _ := s.Info()
	if !b.ModifiedAt.After(a.ModifiedAt) && !b.ModifiedAt.Equal(a.ModifiedAt) {
		t.Fatalf("modified_at went back")
	}
	tm := 1.0
	if err := s.Annotate("L", evident.Annotation{Text: "x", Time: &tm}); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.Info(); c.Annotations != 1 || c.Layers != 1 {
		t.Fatalf("after Annotate: %+v", c)
	}
	s.Close()
	if _, err := s.Info(); !errors.Is(err, evident.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}
