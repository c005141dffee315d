package evident_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	evident "github.com/evident-audit/evident/bindings/go"
)

// Structs cross the C ABI as encoding/json writes them; the library turns
// their zero values into its defaults (evident_args_from_go_json) and reads
// the save options (evident_session_save_json).
func TestZeroValuesAreTheLibraryDefaults(t *testing.T) {
	s := mustSession(t, "args")
	before := time.Now().Add(-time.Minute)
	tm := 2.0
	check(t, s.Annotate("L", evident.Annotation{Text: "x", Time: &tm}))
	check(t, s.AddTrace("tr", []float64{1}, evident.TraceInfo{}))
	check(t, s.RecordMeasurement(evident.Measurement{Name: "v", Value: "a\x00b"}))
	check(t, s.RecordHistory(evident.HistoryEntry{Operation: "op", Result: "\x00"}))
	zone := time.FixedZone("x", 2*3600)
	at := time.Date(2026, 1, 2, 3, 4, 5, 6000, zone)
	check(t, s.Annotate("L", evident.Annotation{Text: "y", CreatedAt: at, Type: evident.AnnotationText, Color: "red"}))

	layers, err := s.Layers()
	check(t, err)
	a := layers[0].Annotations[0]
	if a.Type != evident.AnnotationPoint || a.Style != "solid" || a.Visible == nil || !*a.Visible ||
		a.Color != "" || a.CreatedAt.Before(before) {
		t.Fatalf("defaults: %s", jsonOf(a))
	}
	b := layers[0].Annotations[1]
	if !b.CreatedAt.Equal(at) || b.Type != evident.AnnotationText || b.Color != "red" {
		t.Fatalf("set values: %s", jsonOf(b))
	}
	tr, err := s.GetTrace("tr")
	check(t, err)
	defer tr.Close()
	if tr.Info().SampleRate != 1 {
		t.Fatalf("rate %v", tr.Info().SampleRate)
	}
	// U+0000 stays allowed in free-form values, refused in names.
	m, err := s.Measurements()
	check(t, err)
	h, err := s.History()
	check(t, err)
	if m[0].Value != "a\x00b" || m[0].TraceName != "" || h[0].Result != "\x00" || h[0].Success == nil || !*h[0].Success {
		t.Fatalf("read back: %s %s", jsonOf(m), jsonOf(h))
	}
	err = s.RecordHistory(evident.HistoryEntry{Operation: "op", ErrorMessage: "a\x00"})
	wantErr(t, err, evident.ErrInvalidArgument, evident.StatusInvalidArgument)
	err = s.Annotate("L", evident.Annotation{Text: "x", Style: "\x00"})
	wantErr(t, err, evident.ErrInvalidArgument, evident.StatusInvalidArgument)
}

func TestSaveOptionsAreCheckedByTheLibrary(t *testing.T) {
	s := mustSession(t, "save")
	path := filepath.Join(t.TempDir(), "s.evs")
	for _, o := range []evident.SaveOptions{{LockTimeout: -time.Nanosecond}, {Compress: 23}, {Compress: int(^uint(0) >> 1)}} {
		_, err := s.Save(path, &o)
		wantErr(t, err, evident.ErrInvalidArgument, evident.StatusInvalidArgument)
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Fatalf("%+v: a refused save wrote the file (%v)", o, err)
		}
	}
	check(t, s.AddTrace("tr", []float64{1, 2}, evident.TraceInfo{}))
	info, err := s.Save(path, &evident.SaveOptions{ExcludeTraces: true, NoSync: true, LockTimeout: time.Nanosecond})
	check(t, err)
	if info.Version != 1 || info.TracesWritten != 0 {
		t.Fatalf("%+v", info)
	}
	info, err = s.Save("", nil)
	check(t, err)
	if info.Version != 2 || info.TracesWritten != 1 {
		t.Fatalf("%+v", info)
	}
}
