package evident_test

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	evident "github.com/evident-audit/evident/bindings/go"
)

// Per-value calls: a measurement in TraceKit's shape and a history entry as
// a line of Python, computed by the library (evident_measurement_tracekit_json,
// evident_history_entry_code), the same as the session-wide calls give.

func TestMeasurementAsTraceKit(t *testing.T) {
	at := time.Date(2026, 1, 8, 10, 30, 0, 500_000_000, time.FixedZone("CET", 3600))
	m := evident.Measurement{Name: "rise_time", Value: 1.5e-9, Unit: "s", TraceName: "CH1",
		Metadata: map[string]any{"method": "10-90", "unit": "ignored"}, RecordedAt: at}
	got, err := m.AsTraceKit()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"method": "10-90", "value": 1.5e-9, "unit": "s", "trace_name": "CH1",
		"timestamp": "2026-01-08T09:30:00.500000+00:00"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("AsTraceKit = %v, want %v", got, want)
	}
	// The same as the session gives for it once recorded.
	s := mustSession(t, "m")
	if err := s.RecordMeasurement(m); err != nil {
		t.Fatal(err)
	}
	all, err := s.MeasurementsTraceKit()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(all["rise_time"], got) {
		t.Fatalf("session %v, value %v", all["rise_time"], got)
	}
	// No trace name: null; zero time: now.
	got, err = evident.Measurement{Name: "f", Value: "x"}.AsTraceKit()
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := got["trace_name"]; !ok || v != nil || got["value"] != "x" || got["unit"] != "" {
		t.Fatalf("defaults: %v", got)
	}
	ts, _ := got["timestamp"].(string)
	if p, err := time.Parse(time.RFC3339Nano, ts); err != nil || time.Since(p) > time.Minute {
		t.Fatalf("timestamp %q: %v", ts, err)
	}
	// Bad values are refused before the library sees them, like RecordMeasurement.
	if _, err := (evident.Measurement{Name: "a\x00b"}).AsTraceKit(); !errors.Is(err, evident.ErrInvalidArgument) {
		t.Fatalf("NUL in name: %v", err)
	}
	if _, err := (evident.Measurement{Name: "v", Value: "\xff"}).AsTraceKit(); !errors.Is(err, evident.ErrInvalidUTF8) {
		t.Fatalf("invalid UTF-8 value: %v", err)
	}
}

// The parameters keep the order ParameterOrder gives (a Go map has none)
// through the library, a save and a load, and the script (issue 11).
func TestHistoryParameterOrderRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "order.evs")
	s := mustSession(t, "order")
	params := map[string]any{"type": "lowpass", "cutoff": 0.25, "order": 4}
	check(t, s.RecordHistory(evident.HistoryEntry{Operation: "apply_filter", Parameters: params,
		ParameterOrder: []string{"type", "cutoff", "order"}}))
	check(t, s.RecordHistory(evident.HistoryEntry{Operation: "plain", Parameters: map[string]any{"b": 1, "a": 2}}))
	// a partial order: the names left out follow, sorted; unknown names are skipped
	check(t, s.RecordHistory(evident.HistoryEntry{Operation: "partial", Parameters: map[string]any{"b": 1, "a": 2, "c": 3},
		ParameterOrder: []string{"c", "x"}}))
	want := [][]string{{"type", "cutoff", "order"}, {"a", "b"}, {"c", "a", "b"}}
	orders := func(s *evident.Session) [][]string {
		hs, err := s.History()
		check(t, err)
		var out [][]string
		for _, h := range hs {
			out = append(out, h.ParameterOrder)
		}
		return out
	}
	wantEqual(t, "order", orders(s), want)
	mustSave(t, s, path, nil)
	l := mustLoad(t, path, nil)
	wantEqual(t, "order after load", orders(l), want)
	script, err := l.HistoryScript("", "", evident.ScriptTraceKit)
	check(t, err)
	if !strings.Contains(script, "\ntk.apply_filter(type=\"lowpass\", cutoff=0.25, order=4)\n") ||
		!strings.Contains(script, "\ntk.partial(c=3, a=2, b=1)\n") {
		t.Errorf("script:\n%s", script)
	}
	// what History gives goes back in as it was
	hs, err := l.History()
	check(t, err)
	code, err := hs[0].ToCode("tk", evident.ScriptEvident)
	check(t, err)
	if code != "tk.apply_filter(type='lowpass', cutoff=0.25, order=4)" {
		t.Errorf("ToCode: %q", code)
	}
}

func TestHistoryEntryToCode(t *testing.T) {
	ts := time.Date(2026, 1, 8, 10, 30, 1, 0, time.UTC)
	e := evident.HistoryEntry{Operation: "load_trace", Parameters: map[string]any{"path": "a.wfm", "n": 3},
		Timestamp: ts}
	for _, c := range []struct {
		alias string
		style int
		want  string
	}{
		{"", evident.ScriptEvident, "tk.load_trace(n=3, path='a.wfm')"},
		{"ev", evident.ScriptEvident, "ev.load_trace(n=3, path='a.wfm')"},
		{"", evident.ScriptTraceKit, `tk.load_trace(n=3, path="a.wfm")`},
	} {
		got, err := e.ToCode(c.alias, c.style)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("ToCode(%q, %d) = %q, want %q", c.alias, c.style, got, c.want)
		}
	}
	// Each line is the one the session's script writes for the entry.
	s := mustSession(t, "h")
	if err := s.RecordHistory(e); err != nil {
		t.Fatal(err)
	}
	for _, style := range []int{evident.ScriptEvident, evident.ScriptTraceKit} {
		line, err := e.ToCode("tk", style)
		if err != nil {
			t.Fatal(err)
		}
		script, err := s.HistoryScript("", "", style)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(script, "\n"+line+"\n") {
			t.Errorf("style %d: %q not in script:\n%s", style, line, script)
		}
	}
	if got, err := (evident.HistoryEntry{Operation: "not a name"}).ToCode("", 0); err != nil ||
		!strings.HasPrefix(got, "# (not a Python name)") {
		t.Fatalf("not a name: %q, %v", got, err)
	}
	if _, err := e.ToCode("", 7); !errors.Is(err, evident.ErrInvalidArgument) {
		t.Fatalf("unknown style: %v", err)
	}
	if _, err := e.ToCode("a\x00", 0); !errors.Is(err, evident.ErrInvalidArgument) {
		t.Fatalf("NUL in alias: %v", err)
	}
}

func TestDTypeStringIsTheLibrarysName(t *testing.T) {
	for d := evident.DTypeF64; d <= evident.DTypeBit; d++ {
		back, ok := evident.ParseDType(d.String())
		if !ok || back != d {
			t.Errorf("%d: String %q reads back as %v, %v", uint32(d), d.String(), back, ok)
		}
	}
	if evident.DTypeBit.String() != "bit" || evident.DType(99).String() != "DType(99)" {
		t.Fatalf("%q %q", evident.DTypeBit.String(), evident.DType(99).String())
	}
}
