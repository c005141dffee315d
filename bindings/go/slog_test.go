package evident_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/slogtest"
	"time"

	evident "github.com/evident-audit/evident/bindings/go"
)

// TestSlogtest runs the standard library's handler conformance tests. The
// results are read back from the log: message = action, level = event type,
// the record's time = details "time" (RecordTime), source = details
// "caller" (AddSource), attributes and groups = details.
func TestSlogtest(t *testing.T) {
	var path string
	newHandler := func(t *testing.T) slog.Handler {
		path = filepath.Join(t.TempDir(), "slogtest.jsonl")
		l := mustOpen(t, path, evident.Options{})
		return evident.NewSlogHandler(l, &evident.SlogOptions{RecordTime: true, AddSource: true,
			OnError: func(err error) { t.Errorf("append failed: %v", err) }})
	}
	result := func(t *testing.T) map[string]any {
		es := mustRead(t, path, evident.QueryOptions{})
		if len(es) != 1 {
			t.Fatalf("%d entries, want 1", len(es))
		}
		return slogResult(t, es[0])
	}
	slogtest.Run(t, newHandler, result)
}

// slogResult turns an entry written by the handler into the map slogtest
// expects.
func slogResult(t *testing.T, e evident.Entry) map[string]any {
	t.Helper()
	m := map[string]any{}
	if err := e.DecodeDetails(&m); err != nil {
		t.Fatal(err)
	}
	if v, ok := m["caller"]; ok {
		delete(m, "caller")
		m[slog.SourceKey] = v
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(e.EventType)); err != nil {
		t.Fatalf("event type %q is not a level: %v", e.EventType, err)
	}
	m[slog.LevelKey] = lvl
	m[slog.MessageKey] = e.Action
	return m
}

func TestSlogHandlerDefaults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "slog.jsonl")
	l := mustOpen(t, path, evident.Options{})
	logger := slog.New(evident.NewSlogHandler(l, nil))

	logger.Debug("not recorded: below the default level")
	logger.Info("user.login",
		"session_id", "s1", "actor", "bob", "source", "auth", "host", "h1",
		"success", true, "duration_ms", 12*time.Millisecond, "error", errors.New("slow"),
		"note", "n", "git_commit", "abc123", "otr", true,
		"user", "bob", slog.Group("req", "ip", "10.0.0.1", "port", 443))
	logger.Warn("disk", "free_mb", 12.5)
	logger.Log(context.Background(), slog.LevelError+2, "custom level")
	logger.Info("types stay in details when they do not fit",
		"success", "yes", "duration_ms", "long", "session_id", 7, "error", nil)
	logger.WithGroup("g").Info("grouped fields stay in details", "session_id", "x", "actor", "y")
	logger.With("session_id", "s9", "actor", "carol", "k", 1).Info("with", "actor", "dave", "event_type", "LOGIN")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	es := mustRead(t, path, evident.QueryOptions{})
	if len(es) != 6 {
		t.Fatalf("%d entries, want 6", len(es))
	}
	e := es[0]
	if e.EventType != "INFO" || e.Action != "user.login" || e.SessionID != "s1" || e.Actor != "bob" ||
		e.Source != "auth" || e.Host != "h1" || e.Success == nil || !*e.Success || e.DurationMs == nil ||
		*e.DurationMs != 12 || e.Error != "slow" || e.Note != "n" || e.GitCommit != "abc123" || !e.OTR {
		t.Errorf("fields: %+v", e)
	}
	wantDetails(t, e, map[string]any{"user": "bob", "req": map[string]any{"ip": "10.0.0.1", "port": 443.0}})

	if es[1].EventType != "WARN" || es[1].Action != "disk" || es[1].Source != "" {
		t.Errorf("%+v", es[1])
	}
	wantDetails(t, es[1], map[string]any{"free_mb": 12.5})
	if es[2].EventType != "ERROR+2" {
		t.Errorf("%+v", es[2])
	}
	wantDetails(t, es[2], map[string]any{})

	if es[3].Success != nil || es[3].DurationMs != nil || es[3].SessionID != "" || es[3].Error != "" {
		t.Errorf("mistyped attributes became fields: %+v", es[3])
	}
	wantDetails(t, es[3], map[string]any{"success": "yes", "duration_ms": "long", "session_id": 7.0, "error": nil})

	if es[4].SessionID != "" || es[4].Actor == "y" {
		t.Errorf("grouped attributes became fields: %+v", es[4])
	}
	wantDetails(t, es[4], map[string]any{"g": map[string]any{"session_id": "x", "actor": "y"}})

	if es[5].SessionID != "s9" || es[5].Actor != "dave" || es[5].EventType != "LOGIN" {
		t.Errorf("With fields: %+v", es[5])
	}
	wantDetails(t, es[5], map[string]any{"k": 1.0})
}

func wantDetails(t *testing.T, e evident.Entry, want map[string]any) {
	t.Helper()
	got := map[string]any{}
	if err := e.DecodeDetails(&got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("entry %d details %v, want %v", e.Seq, got, want)
	}
}

type marshals struct{}

func (marshals) MarshalJSON() ([]byte, error) { return []byte(`{"custom":true}`), nil }

type valuer struct{}

func (valuer) LogValue() slog.Value { return slog.GroupValue(slog.String("resolved", "yes")) }

type errMarshals struct{}

func (errMarshals) Error() string                { return "as error" }
func (errMarshals) MarshalJSON() ([]byte, error) { return []byte(`"as json"`), nil }

func TestSlogValues(t *testing.T) {
	path := filepath.Join(t.TempDir(), "values.jsonl")
	l := mustOpen(t, path, evident.Options{})
	logger := slog.New(evident.NewSlogHandler(l, &evident.SlogOptions{OnError: func(err error) { t.Error(err) }}))
	ts := time.Date(2024, 5, 1, 12, 0, 0, 5, time.UTC)
	logger.Info("values",
		"dur", 1500*time.Millisecond, "time", ts, "nan", math.NaN(), "inf", math.Inf(1),
		"err", errors.New("boom"), "marshaler", marshals{}, "both", errMarshals{},
		"chan", make(chan int), "valuer", valuer{}, "ints", []int{1, 2}, "u", uint64(math.MaxUint64),
		"b", false, "struct", struct{ A int }{3}, "empty", slog.GroupValue(), "nilany", nil)
	l.Close()
	es := mustRead(t, path, evident.QueryOptions{})
	var got map[string]json.RawMessage
	if err := es[0].DecodeDetails(&got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"dur": `1500000000`, "time": `"2024-05-01T12:00:00.000000005Z"`, "nan": `"NaN"`, "inf": `"+Inf"`,
		"err": `"boom"`, "marshaler": `{"custom":true}`, "both": `"as json"`, "valuer": `{"resolved":"yes"}`,
		"ints": `[1,2]`, "u": `18446744073709551615`, "b": `false`, "struct": `{"A":3}`, "nilany": `null`,
	}
	for k, w := range want {
		if string(got[k]) != w {
			t.Errorf("%s: got %s, want %s", k, got[k], w)
		}
	}
	if c := string(got["chan"]); !strings.HasPrefix(c, `"0x`) {
		t.Errorf("chan: %s", c)
	}
	if _, ok := got["empty"]; ok {
		t.Error("empty group written")
	}
}

func TestSlogOptions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "opts.jsonl")
	l := mustOpen(t, path, evident.Options{})
	h := evident.NewSlogHandler(l, &evident.SlogOptions{
		Level:       slog.LevelDebug,
		EventType:   func(lv slog.Level) string { return "APP_" + strings.ToUpper(lv.String()) },
		Source:      "my-service",
		AddSource:   true,
		DetailsOnly: true,
	})
	if !h.Enabled(context.Background(), slog.LevelDebug) || h.Enabled(context.Background(), slog.LevelDebug-1) {
		t.Fatal("Enabled ignores Level")
	}
	logger := slog.New(h)
	logger.Debug("dbg", "session_id", "s", "source", "other")
	l.Close()
	es := mustRead(t, path, evident.QueryOptions{})
	if len(es) != 1 {
		t.Fatal(len(es))
	}
	e := es[0]
	if e.EventType != "APP_DEBUG" || e.Source != "my-service" || e.SessionID != "" {
		t.Fatalf("%+v", e)
	}
	var d struct {
		SessionID string `json:"session_id"`
		Source    string `json:"source"`
		Caller    struct {
			Function, File string
			Line           int
		} `json:"caller"`
	}
	if err := e.DecodeDetails(&d); err != nil {
		t.Fatal(err)
	}
	if d.SessionID != "s" || d.Source != "other" || !strings.HasSuffix(d.Caller.File, "slog_test.go") ||
		!strings.HasSuffix(d.Caller.Function, "TestSlogOptions") || d.Caller.Line == 0 {
		t.Fatalf("details %+v", d)
	}
}

func TestSlogErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "err.jsonl")
	l, err := evident.Open(path, evident.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []error
	h := evident.NewSlogHandler(l, &evident.SlogOptions{OnError: func(err error) { got = append(got, err) }})
	l.Close()
	slog.New(h).Info("lost")
	r := slog.NewRecord(time.Now(), slog.LevelInfo, "direct", 0)
	herr := h.Handle(context.Background(), r)
	wantErr(t, herr, evident.ErrClosed, evident.StatusClosed)
	if len(got) != 2 || !errors.Is(got[0], evident.ErrClosed) {
		t.Fatalf("OnError got %v", got)
	}
}

func TestSlogConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.evl")
	l := mustOpen(t, path, evident.Options{Durability: evident.GroupCommit})
	base := slog.New(evident.NewSlogHandler(l, &evident.SlogOptions{OnError: func(err error) { t.Error(err) }}))
	var wg sync.WaitGroup
	for g := 0; g < 6; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lg := base.With("session_id", fmt.Sprint("g", g)).WithGroup("req")
			for i := 0; i < 20; i++ {
				lg.Info("op", "i", i)
			}
		}()
	}
	wg.Wait()
	l.Close()
	r := mustVerify(t, path, evident.VerifyOptions{})
	if !r.Valid || r.Entries != 120 {
		t.Fatalf("%+v", r)
	}
	if es := mustRead(t, path, evident.QueryOptions{SessionID: "g3"}); len(es) != 20 {
		t.Fatalf("%d entries of g3", len(es))
	}
}
