//go:build evident_dev

// Clean-room acceptance tests of bindings/go/README.md and the package's doc
// comments (go doc): every example and claim, transcribed from the documents
// only.

package evident_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/slogtest"
	"time"

	evident "github.com/evident-audit/evident/bindings/go"
)

func cleanroomDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	old, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(d); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chdir(old) })
	return d
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// README "Example", verbatim but for log.Fatal -> t.Fatal and capturing the print.
func TestCleanroomReadmeExample(t *testing.T) {
	cleanroomDir(t)
	l, err := evident.Open("audit.jsonl", evident.Options{Durability: evident.GroupCommit})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Append(evident.Entry{EventType: "ACTION_EXECUTED", Action: "load_trace",
		SessionID: "s1", Details: map[string]any{"file": "scope.bin"}})
	slog.New(evident.NewSlogHandler(l, nil)).Info("export", "session_id", "s1", "rows", 42)

	res, err := evident.Verify("audit.jsonl", evident.VerifyOptions{})
	got := fmt.Sprintln(res.Valid, res.Entries, res.First())
	mustOK(t, err)
	if got != "true 2 <nil>\n" {
		t.Fatalf("printed %q", got)
	}
	es, err := evident.ReadEntries("audit.jsonl", evident.QueryOptions{})
	mustOK(t, err)
	if es[1].EventType != "INFO" || es[1].Action != "export" || es[1].SessionID != "s1" {
		t.Fatalf("slog entry %+v", es[1])
	}
	var d map[string]any
	mustOK(t, es[1].DecodeDetails(&d))
	if d["rows"] != float64(42) || d["session_id"] != nil {
		t.Fatalf("details %v", d)
	}
	// package doc: ReadEntries with NewestFirst and Limit
	last, err := evident.ReadEntries("audit.jsonl", evident.QueryOptions{Order: evident.NewestFirst, Limit: 1})
	mustOK(t, err)
	if len(last) != 1 || last[0].Seq != 2 {
		t.Fatalf("last %+v", last)
	}
}

func TestCleanroomEntryFields(t *testing.T) {
	cleanroomDir(t)
	l, err := evident.Open("a.jsonl", evident.Options{Actor: "alice", Host: "bench"})
	mustOK(t, err)
	h1, err := l.Append(evident.Entry{EventType: "E", Action: "a", Source: "tool", OTR: true,
		Success: evident.Ptr(false), DurationMs: evident.Ptr(1.5), Error: "boom", Note: "n",
		GitCommit: "abc", Details: json.RawMessage(`{"z":1,"a":2}`)})
	mustOK(t, err)
	h2, err := l.Append(evident.Entry{EventType: "E", Action: "nil-details"})
	mustOK(t, err)
	h3, err := l.AppendJSON([]byte(`{"event_type":"E","action":"json","details":{"k":"v"}}`))
	mustOK(t, err)
	imported := time.Date(2025, 1, 2, 3, 4, 5, 123456000, time.UTC)
	h4, err := l.Append(evident.Entry{EventType: "E", Action: "import", Time: imported})
	mustOK(t, err)
	if h1.Seq != 1 || h2.Seq != 2 || h3.Seq != 3 || h4.Seq != 4 || len(h4.Hash) != 64 || strings.ToLower(h4.Hash) != h4.Hash {
		t.Fatalf("heads %v %v %v %v", h1, h2, h3, h4)
	}
	if _, err := l.AppendJSON([]byte(`{"event_type":"E","bogus":1}`)); !errors.Is(err, evident.ErrInvalidArgument) {
		t.Fatalf("unknown field: %v", err)
	}
	if _, err := l.AppendJSON([]byte(`{not json`)); !errors.Is(err, evident.ErrInvalidArgument) {
		t.Fatalf("invalid json: %v", err)
	}
	head, err := l.Head()
	mustOK(t, err)
	if head != h4 {
		t.Fatalf("head %v", head)
	}
	rec, err := l.Recovery()
	mustOK(t, err)
	if !rec.Created || len(rec.TornTails) != 0 {
		t.Fatalf("recovery %+v", rec)
	}
	if l.Path() != "a.jsonl" || len(l.LogID()) != 32 || l.KeyID() != "" || l.Framing() != evident.JSONL || l.Alg() != evident.SHA256 {
		t.Fatalf("props %s %s %q %v %v", l.Path(), l.LogID(), l.KeyID(), l.Framing(), l.Alg())
	}
	mustOK(t, l.Sync())
	mustOK(t, l.Close())
	mustOK(t, l.Close()) // twice is fine
	if _, err := l.Append(evident.Entry{EventType: "E"}); !errors.Is(err, evident.ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
	es, err := evident.ReadEntries("a.jsonl", evident.QueryOptions{})
	mustOK(t, err)
	e := es[0]
	if e.Actor != "alice" || e.Host != "bench" || e.Source != "tool" || !e.OTR || e.Success == nil || *e.Success ||
		e.DurationMs == nil || *e.DurationMs != 1.5 || e.Error != "boom" || e.Note != "n" || e.GitCommit != "abc" ||
		e.Prev == "" || e.Hash != h1.Hash || e.Time.IsZero() {
		t.Fatalf("entry %+v", e)
	}
	raw, ok := e.Details.(json.RawMessage)
	if !ok {
		t.Fatalf("details is %T", e.Details)
	}
	var m map[string]int
	if err := json.Unmarshal(raw, &m); err != nil || m["z"] != 1 || m["a"] != 2 {
		t.Fatalf("details %s", raw)
	}
	if string(es[1].Details.(json.RawMessage)) != "{}" {
		t.Fatalf("nil details: %s", es[1].Details)
	}
	if !es[3].Time.Equal(imported) {
		t.Fatalf("imported time %v", es[3].Time)
	}
	// the same with a keyed binary log
	key := bytes.Repeat([]byte("k"), 32)
	kl, err := evident.Open("a.evl", evident.Options{Key: key})
	mustOK(t, err)
	if kl.Framing() != evident.Binary || kl.Alg() != evident.HMACSHA256 || kl.KeyID() == "" {
		t.Fatalf("keyed %v %v %q", kl.Framing(), kl.Alg(), kl.KeyID())
	}
	_, err = kl.Append(evident.Entry{EventType: "E"})
	mustOK(t, err)
	mustOK(t, kl.Close())
	res, err := evident.Verify("a.evl", evident.VerifyOptions{Key: key})
	mustOK(t, err)
	if !res.Valid || res.Entries != 1 {
		t.Fatalf("keyed verify %+v", res)
	}
	res, err = evident.Verify("a.evl", evident.VerifyOptions{Key: bytes.Repeat([]byte("w"), 32)})
	mustOK(t, err)
	if res.Valid || res.First() == nil || res.First().Kind.String() == "" {
		t.Fatalf("wrong key verify %+v", res)
	}
	if _, err := evident.Open("a.evl", evident.Options{Key: bytes.Repeat([]byte("w"), 32)}); !errors.Is(err, evident.ErrWrongKey) {
		t.Fatalf("open wrong key: %v", err)
	}
}

func TestCleanroomAppendBatch(t *testing.T) {
	cleanroomDir(t)
	l, err := evident.Open("a.jsonl", evident.Options{})
	mustOK(t, err)
	defer l.Close()
	hs, err := l.AppendBatch([]evident.Entry{{EventType: "E", Action: "1"}, {EventType: "E", Action: "2"}})
	mustOK(t, err)
	if len(hs) != 2 || hs[0].Seq != 1 || hs[1].Seq != 2 {
		t.Fatalf("heads %v", hs)
	}
	_, err = l.AppendBatch([]evident.Entry{{EventType: "E", Action: "3"}, {EventType: "E", DurationMs: evident.Ptr(math.NaN())}})
	if err == nil {
		t.Fatal("invalid entry accepted")
	}
	h, _ := l.Head()
	if h.Seq != 2 {
		t.Fatalf("not all or nothing: head %v", h)
	}
}

func TestCleanroomConcurrentAppends(t *testing.T) {
	cleanroomDir(t)
	l, err := evident.Open("a.jsonl", evident.Options{Durability: evident.GroupCommit})
	mustOK(t, err)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				if _, err := l.Append(evident.Entry{EventType: "E", Action: fmt.Sprint(g, "-", i)}); err != nil {
					t.Error(err)
					return
				}
			}
		}(g)
	}
	// Close while appends run: they finish or fail with ErrClosed.
	wg.Wait()
	var wg2 sync.WaitGroup
	var okCount, closedCount int
	var mu sync.Mutex
	for g := 0; g < 4; g++ {
		wg2.Add(1)
		go func() {
			defer wg2.Done()
			for i := 0; i < 50; i++ {
				_, err := l.Append(evident.Entry{EventType: "E", Action: "late"})
				mu.Lock()
				switch {
				case err == nil:
					okCount++
				case errors.Is(err, evident.ErrClosed):
					closedCount++
				default:
					t.Error(err)
				}
				mu.Unlock()
			}
		}()
	}
	time.Sleep(5 * time.Millisecond)
	mustOK(t, l.Close())
	wg2.Wait()
	res, err := evident.Verify("a.jsonl", evident.VerifyOptions{})
	mustOK(t, err)
	if !res.Valid || res.Entries != uint64(200+okCount) {
		t.Fatalf("verify %+v ok=%d closed=%d", res, okCount, closedCount)
	}
}

func TestCleanroomErrors(t *testing.T) {
	dir := cleanroomDir(t)
	_, err := evident.Open("missing.jsonl", evident.Options{Create: evident.OpenExisting})
	if !errors.Is(err, evident.ErrIO) || !errors.Is(err, fs.ErrNotExist) || !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("missing: %v", err)
	}
	var pe *fs.PathError
	if !errors.As(err, &pe) || !strings.Contains(pe.Path, "missing.jsonl") {
		t.Fatalf("PathError: %v", pe)
	}
	var ee *evident.Error
	if !errors.As(err, &ee) || ee.Status != evident.StatusIO || ee.Errno != syscall.ENOENT || !strings.Contains(ee.Path, "missing.jsonl") || ee.Message == "" {
		t.Fatalf("*Error %+v", ee)
	}
	if _, err := evident.Verify("missing.jsonl", evident.VerifyOptions{}); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("verify missing: %v", err)
	}
	// README: errors.Is(err, evident.ErrLocked), message names the holder
	path := filepath.Join(dir, "audit.evl")
	l, err := evident.Open(path, evident.Options{})
	mustOK(t, err)
	opts := evident.Options{}
	if _, err := evident.Open(path, opts); errors.Is(err, evident.ErrLocked) {
		msg := err.Error()
		if !strings.Contains(msg, "audit.evl") || !strings.Contains(msg, "locked by pid") || !strings.Contains(msg, fmt.Sprint(os.Getpid())) {
			t.Fatalf("locked message %q", msg)
		}
	} else {
		t.Fatalf("second open: %v", err)
	}
	mustOK(t, l.Close())
	if _, err := evident.Open(path, evident.Options{Create: evident.CreateNew}); err == nil {
		t.Fatal("CreateNew on an existing log")
	}
	// invalid UTF-8
	l, err = evident.Open("u.jsonl", evident.Options{})
	mustOK(t, err)
	_, err = l.Append(evident.Entry{EventType: "E", Action: "bad\xff"})
	if !errors.Is(err, evident.ErrInvalidUTF8) || !errors.Is(err, evident.ErrInvalidArgument) {
		t.Fatalf("invalid utf-8: %v", err)
	}
	mustOK(t, l.Close())
	// not a log
	os.WriteFile("notes.txt", []byte("hello\n"), 0o644)
	res, err := evident.Verify("notes.txt", evident.VerifyOptions{})
	mustOK(t, err)
	if !res.NotALog || res.Valid || len(res.Violations) != 1 || res.Violations[0].Kind.String() != "malformed" || res.Violations[0].Offset != 0 {
		t.Fatalf("not a log: %+v", res)
	}
	// names
	if evident.StatusLocked.String() != "EVIDENT_STATUS_LOCKED" {
		t.Fatalf("status name %q", evident.StatusLocked.String())
	}
	if evident.Version() == "" || evident.ABIVersion() == 0 || evident.ABIVersion() < evident.HeaderABIVersion {
		t.Fatalf("version %q abi %d header %d", evident.Version(), evident.ABIVersion(), evident.HeaderABIVersion)
	}
	for _, s := range []error{evident.ErrIO, evident.ErrMalformed, evident.ErrCorrupt, evident.ErrWrongKey, evident.ErrLocked,
		evident.ErrInvalidArgument, evident.ErrTooLarge, evident.ErrPoisoned, evident.ErrUnsupported, evident.ErrClosed,
		evident.ErrNotFound, evident.ErrLayerLocked, evident.ErrForked, evident.ErrRolledBack, evident.ErrNullArgument,
		evident.ErrInvalidUTF8, evident.ErrInternal} {
		if s == nil {
			t.Fatal("nil sentinel")
		}
	}
}

func TestCleanroomVerifyTamperAndTruncation(t *testing.T) {
	cleanroomDir(t)
	l, err := evident.Open("a.jsonl", evident.Options{})
	mustOK(t, err)
	var head evident.Head
	for i := 0; i < 3; i++ {
		head, err = l.Append(evident.Entry{EventType: "E", Action: fmt.Sprint(i)})
		mustOK(t, err)
	}
	mustOK(t, l.Close())
	var calls int
	res, err := evident.Verify("a.jsonl", evident.VerifyOptions{ExpectedHead: &head, ExpectedLogID: "", Threads: 1,
		Progress: func(done, total uint64) { calls++ }})
	mustOK(t, err)
	if !res.Valid || res.Entries != 3 || res.Head != head || res.Bytes == 0 || res.LogID == "" {
		t.Fatalf("verify %+v", res)
	}
	data, _ := os.ReadFile("a.jsonl")
	lines := bytes.SplitAfter(data, []byte("\n"))
	os.WriteFile("a.jsonl", bytes.Join(lines[:3], nil), 0o644)
	res, err = evident.Verify("a.jsonl", evident.VerifyOptions{ExpectedHead: &head})
	mustOK(t, err)
	if res.Valid || res.First() == nil || res.First().Kind.String() != "head_mismatch" {
		t.Fatalf("truncation %+v", res)
	}
	res, err = evident.Verify("a.jsonl", evident.VerifyOptions{ExpectedLogID: strings.Repeat("0", 32)})
	mustOK(t, err)
	if res.Valid || res.First().Kind.String() != "wrong_log_id" {
		t.Fatalf("log id %+v", res)
	}
	tampered := bytes.Replace(lines[2], []byte(`"action":"1"`), []byte(`"action":"X"`), 1)
	os.WriteFile("a.jsonl", bytes.Join([][]byte{lines[0], lines[1], tampered, lines[3]}, nil), 0o644)
	res, err = evident.Verify("a.jsonl", evident.VerifyOptions{All: true})
	mustOK(t, err)
	if res.Valid || res.ViolationsTotal == 0 || res.First().Line != 3 || !res.First().HasSeq || res.First().Seq != 2 {
		t.Fatalf("tamper %+v", res)
	}
}

func TestCleanroomQueryAndIterators(t *testing.T) {
	cleanroomDir(t)
	l, err := evident.Open("a.jsonl", evident.Options{})
	mustOK(t, err)
	for i := 0; i < 6; i++ {
		_, err := l.Append(evident.Entry{EventType: []string{"EVEN", "ODD"}[i%2], Action: fmt.Sprint("a", i), SessionID: fmt.Sprint("s", i%3)})
		mustOK(t, err)
	}
	mustOK(t, l.Close())
	it, err := evident.Query("a.jsonl", evident.QueryOptions{EventType: "ODD"})
	mustOK(t, err)
	var seqs []uint64
	for it.Next() {
		seqs = append(seqs, it.Entry().Seq)
	}
	mustOK(t, it.Err())
	mustOK(t, it.Close())
	mustOK(t, it.Close())
	if fmt.Sprint(seqs) != "[2 4 6]" {
		t.Fatalf("odd %v", seqs)
	}
	es, err := evident.ReadEntries("a.jsonl", evident.QueryOptions{SeqMin: 2, SeqMax: 4, SessionID: ""})
	mustOK(t, err)
	if len(es) != 3 || es[0].Seq != 2 {
		t.Fatalf("range %v", es)
	}
	es, err = evident.ReadEntries("a.jsonl", evident.QueryOptions{Since: es[1].Time, Until: es[2].Time})
	mustOK(t, err)
	for _, e := range es {
		if e.Seq < 3 && e.Time.Before(es[0].Time) {
			t.Fatalf("since %v", e)
		}
	}
	// damage record 3: Next stops with ErrMalformed; Entries goes on
	data, _ := os.ReadFile("a.jsonl")
	lines := bytes.SplitAfter(data, []byte("\n"))
	lines[3] = []byte("{not json\n")
	os.WriteFile("a.jsonl", bytes.Join(lines, nil), 0o644)
	it, err = evident.Query("a.jsonl", evident.QueryOptions{})
	mustOK(t, err)
	n := 0
	for it.Next() {
		n++
	}
	if n != 2 || !errors.Is(it.Err(), evident.ErrMalformed) || !strings.Contains(it.Err().Error(), "line") {
		t.Fatalf("iterator n=%d err=%v", n, it.Err())
	}
	it.Close()
	seqs = nil
	errs := 0
	for e, err := range evident.Entries("a.jsonl", evident.QueryOptions{}) {
		if err != nil {
			errs++
			continue
		}
		seqs = append(seqs, e.Seq)
	}
	if errs != 1 || fmt.Sprint(seqs) != "[1 2 4 5 6]" {
		t.Fatalf("Entries errs=%d seqs=%v", errs, seqs)
	}
	for _, err := range evident.Entries("missing.jsonl", evident.QueryOptions{}) {
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("missing: %v", err)
		}
	}
}

func TestCleanroomContexts(t *testing.T) {
	cleanroomDir(t)
	l, err := evident.Open("a.jsonl", evident.Options{})
	mustOK(t, err)
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = evident.OpenContext(ctx, "a.jsonl", evident.Options{LockTimeout: 5 * time.Second})
	el := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, evident.ErrLocked) {
		t.Fatalf("OpenContext: %v", err)
	}
	// Well before LockTimeout (5 s): ctx's deadline ended the wait. (The
	// margin is wide: a loaded machine under -race delays goroutines.)
	if el > 2*time.Second {
		t.Fatalf("OpenContext took %v", el)
	}
	// The lock wait ending at ctx's deadline: the error matches ctx.Err() too,
	// every time (it used to be a bare ErrLocked when the library's timeout,
	// cut to the deadline, fired before ctx's own timer).
	for i := 0; i < 15; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		_, err := evident.OpenContext(ctx, "a.jsonl", evident.Options{LockTimeout: 5 * time.Second})
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, evident.ErrLocked) {
			t.Fatalf("attempt %d: OpenContext: %v", i, err)
		}
	}
	// a cancelled ctx ends the wait within about 50 ms (checked against a
	// wide margin, still well before LockTimeout)
	ctx4, cancel4 := context.WithCancel(context.Background())
	var cancelledAt atomic.Int64
	go func() { time.Sleep(30 * time.Millisecond); cancelledAt.Store(time.Now().UnixNano()); cancel4() }()
	_, err = evident.OpenContext(ctx4, "a.jsonl", evident.Options{LockTimeout: 5 * time.Second})
	if lag := time.Since(time.Unix(0, cancelledAt.Load())); !errors.Is(err, context.Canceled) || !errors.Is(err, evident.ErrLocked) || lag > 2*time.Second {
		t.Fatalf("cancelled OpenContext after %v: %v", lag, err)
	}
	// LockTimeout shorter than ctx: a plain ErrLocked
	ctx3, cancel3 := context.WithTimeout(context.Background(), 5*time.Second)
	_, err = evident.OpenContext(ctx3, "a.jsonl", evident.Options{LockTimeout: 20 * time.Millisecond})
	cancel3()
	if !errors.Is(err, evident.ErrLocked) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("OpenContext LockTimeout: %v", err)
	}
	done, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if _, err := l.AppendContext(done, evident.Entry{EventType: "E"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("AppendContext: %v", err)
	}
	if h, _ := l.Head(); h.Seq != 0 {
		t.Fatalf("done ctx wrote an entry: %v", h)
	}
	h, err := l.AppendContext(context.Background(), evident.Entry{EventType: "E"})
	mustOK(t, err)
	if h.Seq != 1 {
		t.Fatal(h)
	}
	if _, err := evident.VerifyContext(done, "a.jsonl", evident.VerifyOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("VerifyContext: %v", err)
	}
	res, err := evident.VerifyContext(context.Background(), "a.jsonl", evident.VerifyOptions{})
	mustOK(t, err)
	if !res.Valid || res.Entries != 1 {
		t.Fatal(res)
	}
}

func TestCleanroomSharedHead(t *testing.T) {
	cleanroomDir(t)
	a, err := evident.Open("s.jsonl", evident.Options{Lock: evident.Shared})
	mustOK(t, err)
	defer a.Close()
	b, err := evident.Open("s.jsonl", evident.Options{Lock: evident.Shared})
	mustOK(t, err)
	defer b.Close()
	_, err = a.Append(evident.Entry{EventType: "E", Action: "a"})
	mustOK(t, err)
	hb, err := b.Append(evident.Entry{EventType: "E", Action: "b"})
	mustOK(t, err)
	if hb.Seq != 2 {
		t.Fatalf("b head %v", hb)
	}
	ha, _ := a.Head()
	if ha.Seq != 1 { // this handle's view
		t.Fatalf("a head %v", ha)
	}
}

func TestCleanroomSlogHandler(t *testing.T) {
	cleanroomDir(t)
	l, err := evident.Open("a.jsonl", evident.Options{})
	mustOK(t, err)
	defer l.Close()
	var failures []error
	h := evident.NewSlogHandler(l, &evident.SlogOptions{
		Level:      slog.LevelDebug,
		EventType:  func(lv slog.Level) string { return "LVL_" + lv.String() },
		Source:     "svc",
		AddSource:  true,
		RecordTime: true,
		OnError:    func(err error) { failures = append(failures, err) },
	})
	lg := slog.New(h)
	lg.Debug("dbg", "session_id", "s1", "actor", "bob", "host", "h1", "note", "n1", "git_commit", "c1",
		"error", errors.New("bad"), "success", false, "otr", true, "duration_ms", 1500*time.Millisecond,
		"d", time.Second, slog.Group("g", "x", 1))
	lg.With("k", "v").WithGroup("grp").Info("grouped", "session_id", "inside-group")
	lg.Warn("typed", "event_type", "CUSTOM", "source", "other", "duration_ms", 2.5, "error", "text err")
	lg.Info("wrongtype", "success", "yes")
	es, err := evident.ReadEntries("a.jsonl", evident.QueryOptions{})
	mustOK(t, err)
	if len(es) != 4 || len(failures) != 0 {
		t.Fatalf("%d entries, failures %v", len(es), failures)
	}
	e := es[0]
	if e.EventType != "LVL_DEBUG" || e.Action != "dbg" || e.SessionID != "s1" || e.Actor != "bob" || e.Host != "h1" ||
		e.Note != "n1" || e.GitCommit != "c1" || e.Error != "bad" || e.Success == nil || *e.Success || !e.OTR ||
		e.DurationMs == nil || *e.DurationMs != 1500 || e.Source != "svc" {
		t.Fatalf("fields %+v", e)
	}
	var d map[string]any
	mustOK(t, e.DecodeDetails(&d))
	if d["d"] != float64(time.Second) || d["g"].(map[string]any)["x"] != float64(1) || d["caller"] == nil || d["time"] == nil {
		t.Fatalf("details %v", d)
	}
	if _, ok := d["session_id"]; ok {
		t.Fatalf("session_id also in details: %v", d)
	}
	mustOK(t, es[1].DecodeDetails(&d))
	if es[1].SessionID != "" || d["k"] != "v" || d["grp"].(map[string]any)["session_id"] != "inside-group" {
		t.Fatalf("grouped %+v %v", es[1], d)
	}
	if es[2].EventType != "CUSTOM" || es[2].Source != "other" || *es[2].DurationMs != 2.5 || es[2].Error != "text err" {
		t.Fatalf("typed %+v", es[2])
	}
	d = nil
	mustOK(t, es[3].DecodeDetails(&d))
	if es[3].Success != nil || d["success"] != "yes" {
		t.Fatalf("wrong type %+v %v", es[3], d)
	}
	// DetailsOnly
	h2 := evident.NewSlogHandler(l, &evident.SlogOptions{DetailsOnly: true})
	slog.New(h2).Info("only", "session_id", "s9")
	last, _ := evident.ReadEntries("a.jsonl", evident.QueryOptions{Order: evident.NewestFirst, Limit: 1})
	d = nil
	mustOK(t, last[0].DecodeDetails(&d))
	if last[0].SessionID != "" || d["session_id"] != "s9" || last[0].EventType != "INFO" {
		t.Fatalf("details only %+v %v", last[0], d)
	}
	// OnError sees a failed append; Handle returns it
	mustOK(t, l.Close())
	slog.New(evident.NewSlogHandler(l, &evident.SlogOptions{OnError: func(err error) { failures = append(failures, err) }})).Info("closed")
	if len(failures) != 1 || !errors.Is(failures[0], evident.ErrClosed) {
		t.Fatalf("OnError %v", failures)
	}
}

func TestCleanroomSlogtest(t *testing.T) {
	cleanroomDir(t)
	l, err := evident.Open("a.jsonl", evident.Options{Durability: evident.Buffered})
	mustOK(t, err)
	defer l.Close()
	h := evident.NewSlogHandler(l, &evident.SlogOptions{RecordTime: true, DetailsOnly: true})
	var seen uint64
	results := func() []map[string]any {
		es, err := evident.ReadEntries("a.jsonl", evident.QueryOptions{SeqMin: seen + 1})
		if err != nil {
			t.Fatal(err)
		}
		var out []map[string]any
		for _, e := range es {
			seen = e.Seq
			m := map[string]any{}
			if err := e.DecodeDetails(&m); err != nil {
				t.Fatal(err)
			}
			m[slog.LevelKey] = e.EventType
			m[slog.MessageKey] = e.Action
			out = append(out, m)
		}
		return out
	}
	mustOK(t, l.Sync())
	if err := slogtest.TestHandler(h, func() []map[string]any { l.Sync(); return results() }); err != nil {
		t.Fatal(err)
	}
}

func TestCleanroomTraceKit(t *testing.T) {
	entries := []evident.TraceKitEntry{
		{Timestamp: "2026-01-01T00:00:00Z", Action: "load", Details: json.RawMessage(`{"b":1,"a":12345678901234567890}`), User: "u", Host: "h"},
		{Timestamp: "2026-01-02T00:00:00Z", Action: "save", Details: map[string]any{"x": 1}, User: "u", Host: "h"},
	}
	out, err := evident.TraceKitExport(entries, "sha256", []byte("secret-key-0123456789"), "json")
	mustOK(t, err)
	if !strings.Contains(out, `12345678901234567890`) || !strings.Contains(out, "GENESIS") || strings.Index(out, `"b"`) > strings.Index(out, `"a"`) {
		t.Fatalf("export %s", out)
	}
	csv, err := evident.TraceKitExport(entries, "sha512", []byte("secret-key-0123456789"), "csv")
	mustOK(t, err)
	if len(strings.Split(strings.TrimSpace(csv), "\n")) != 3 {
		t.Fatalf("csv %s", csv)
	}
	since := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	idx, err := evident.TraceKitFilter(entries, &since, "")
	mustOK(t, err)
	if fmt.Sprint(idx) != "[1]" {
		t.Fatalf("filter %v", idx)
	}
	// a timestamp without a zone is not RFC 3339: compared as text with since
	// written YYYY-MM-DDTHH:MM:SS.ffffffZ (as TraceKit does), so equal instants differ
	naive := []evident.TraceKitEntry{{Timestamp: "2026-01-02T00:00:00", Action: "a"}}
	idx, err = evident.TraceKitFilter(naive, &since, "")
	mustOK(t, err)
	if len(idx) != 0 {
		t.Fatalf("naive filter %v", idx)
	}
	idx, err = evident.TraceKitFilter(entries, nil, "load")
	mustOK(t, err)
	if fmt.Sprint(idx) != "[0]" {
		t.Fatalf("filter action %v", idx)
	}
}

func TestCleanroomCheckpoints(t *testing.T) {
	cleanroomDir(t)
	skey, vkey, err := evident.CheckpointKeygen("example.com/audit", false)
	mustOK(t, err)
	l, err := evident.Open("a.jsonl", evident.Options{Checkpoint: &evident.AutoCheckpoint{SigningKey: skey, EveryEntries: 2}})
	mustOK(t, err)
	for i := 0; i < 5; i++ {
		_, err := l.Append(evident.Entry{EventType: "E"})
		mustOK(t, err)
	}
	msg, err := l.CheckpointError()
	mustOK(t, err)
	if msg != "" {
		t.Fatal(msg)
	}
	mustOK(t, l.Close())
	cps, err := evident.CheckpointList("a.jsonl")
	mustOK(t, err)
	if len(cps) != 3 {
		t.Fatalf("checkpoints %+v", cps)
	}
	rep, err := evident.CheckpointVerify("a.jsonl", cps[2].Checkpoint, vkey, evident.CheckpointVerifyOptions{})
	mustOK(t, err)
	if !rep.Valid || rep.Outcome != "match" {
		t.Fatalf("verify %+v", rep)
	}
	cp, err := evident.CheckpointCreate("a.jsonl", skey, evident.CheckpointOptions{})
	mustOK(t, err)
	proof, err := evident.CheckpointProve("a.jsonl", 3, cp)
	mustOK(t, err)
	ok, reason, err := evident.CheckpointVerifyProof(proof, vkey, "")
	mustOK(t, err)
	if !ok {
		t.Fatal(reason)
	}
	cons, err := evident.CheckpointProveConsistency("a.jsonl", cps[0].Checkpoint, cp)
	mustOK(t, err)
	ok, reason, err = evident.CheckpointVerifyProof(cons, vkey, cps[0].Checkpoint)
	mustOK(t, err)
	if !ok {
		t.Fatal(reason)
	}
}

// README "Session container" example, with its undefined names filled in.
func TestCleanroomSessionExample(t *testing.T) {
	cleanroomDir(t)
	samples := []float64{5.01, 4.98, 5.02, 4.99}
	auditLog, err := evident.Open("audit.jsonl", evident.Options{})
	mustOK(t, err)
	defer auditLog.Close()

	s, err := evident.NewSession("Power Rail Analysis")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustOK(t, s.AddTrace("5V_RAIL", samples /* []float64 */, evident.TraceInfo{SampleRate: 1e6, Units: "V"}))
	mustOK(t, s.Annotate("default", evident.Annotation{Text: "Voltage spike", Time: evident.Ptr(1.5e-6)}))
	mustOK(t, s.RecordMeasurement(evident.Measurement{Name: "ripple_vpp", Value: 0.04, Unit: "V", TraceName: "5V_RAIL"}))
	info, err := s.Save("analysis.evs", &evident.SaveOptions{Compress: 3, AuditLog: auditLog})
	mustOK(t, err)

	l, err := evident.LoadSession("analysis.evs", nil) // newest version; &LoadSessionOptions{Version: 1} for an older one
	mustOK(t, err)
	defer l.Close()
	tr, err := l.GetTrace("5V_RAIL")
	mustOK(t, err)
	defer tr.Close()
	v, err := tr.Float64s() // aliases the file mapping: no copy
	mustOK(t, err)

	if fmt.Sprint(v) != fmt.Sprint(samples) || info.Version != 1 || len(info.Commit) != 64 || info.TracesWritten != 1 {
		t.Fatalf("v=%v info=%+v", v, info)
	}
	if !tr.Compressed() || tr.DType().String() != "f64" || tr.Len() != 4 || tr.Info().SampleRate != 1e6 || tr.Info().Units != "V" || tr.Name() != "5V_RAIL" {
		t.Fatalf("trace compressed=%v dtype=%v len=%d info=%+v", tr.Compressed(), tr.DType(), tr.Len(), tr.Info())
	}
	es, err := evident.ReadEntries("audit.jsonl", evident.QueryOptions{})
	mustOK(t, err)
	if len(es) != 1 || !strings.Contains(string(es[0].Details.(json.RawMessage))+es[0].Action, info.Commit) {
		t.Fatalf("audit entry %+v", es)
	}
	// uncompressed save: mapped
	s2, err := evident.NewSession("m")
	mustOK(t, err)
	defer s2.Close()
	mustOK(t, s2.AddTrace("t", samples, evident.TraceInfo{}))
	_, err = s2.Save("m.evs", nil)
	mustOK(t, err)
	l2, err := evident.LoadSession("m.evs", &evident.LoadSessionOptions{Version: 1})
	mustOK(t, err)
	defer l2.Close()
	tr2, err := l2.GetTrace("t")
	mustOK(t, err)
	defer tr2.Close()
	if !tr2.Mapped() || tr2.Compressed() || tr2.Info().SampleRate != 1 || tr2.ByteLen() != 32 {
		t.Fatalf("mapped=%v compressed=%v info=%+v", tr2.Mapped(), tr2.Compressed(), tr2.Info())
	}
	mustOK(t, tr2.Verify())
	if _, err := tr2.Float32s(); !errors.Is(err, evident.ErrInvalidArgument) || !strings.Contains(err.Error(), "f64") || !strings.Contains(err.Error(), "f32") {
		t.Fatalf("wrong accessor %v", err)
	}
	b, err := tr2.Bytes()
	mustOK(t, err)
	if len(b) != 32 {
		t.Fatal(len(b))
	}
	// a Trace stays valid after its session is closed
	mustOK(t, l2.Close())
	mustOK(t, l2.Close())
	if v, err := tr2.Float64s(); err != nil || v[0] != 5.01 {
		t.Fatalf("after session close %v %v", v, err)
	}
}

func TestCleanroomSessionAPI(t *testing.T) {
	cleanroomDir(t)
	s, err := evident.NewSession("api")
	mustOK(t, err)
	defer s.Close()
	mustOK(t, s.SetName("api2"))
	if s.Name() != "api2" {
		t.Fatal(s.Name())
	}
	mustOK(t, s.SetMetadata(map[string]any{"dut": "PSU", "n": 3}))
	md, err := s.Metadata()
	mustOK(t, err)
	if md["n"] != float64(3) {
		t.Fatalf("metadata %v", md)
	}
	for _, samples := range []any{[]float32{1}, []int8{1}, []int16{1}, []int32{1}, []int64{1}, []uint8{1}, []uint16{1}, []uint32{1}, []uint64{1}, []bool{true}} {
		mustOK(t, s.AddTrace(fmt.Sprintf("%T", samples), samples, evident.TraceInfo{}))
	}
	mustOK(t, s.AddBitTrace("bits", []byte{0b101}, 3, evident.TraceInfo{}))
	tr, err := s.GetTrace("bits")
	mustOK(t, err)
	pk, err := tr.Bits()
	mustOK(t, err)
	if tr.Len() != 3 || !evident.Bit(pk, 0) || evident.Bit(pk, 1) || !evident.Bit(pk, 2) {
		t.Fatalf("bits %v", pk)
	}
	tr.Close()
	tr, err = s.GetTrace("[]int16")
	mustOK(t, err)
	if x, err := tr.Int16s(); err != nil || x[0] != 1 || tr.DType().String() != "i16" {
		t.Fatalf("int16 %v %v", x, err)
	}
	tr.Close()
	names, err := s.TraceNames()
	mustOK(t, err)
	if len(names) != 11 || names[0] != "[]float32" {
		t.Fatalf("names %v", names)
	}
	mustOK(t, s.RemoveTrace("bits"))
	if err := s.RemoveTrace("bits"); !errors.Is(err, evident.ErrNotFound) {
		t.Fatalf("remove missing %v", err)
	}
	if _, err := s.GetTrace("bits"); !errors.Is(err, evident.ErrNotFound) {
		t.Fatalf("get missing %v", err)
	}
	for alias, want := range map[string]string{"float64": "f64", "double": "f64", "uint16": "u16", "float32": "f32", "int16": "i16", "uint8": "u8", "bit": "bit"} {
		d, ok := evident.ParseDType(alias)
		if !ok || d.String() != want {
			t.Fatalf("ParseDType(%q) = %v %v", alias, d, ok)
		}
	}
	if _, ok := evident.ParseDType("nope"); ok {
		t.Fatal("ParseDType nope")
	}
	// annotations: inferred types, overlap filter
	add := func(text string, a evident.Annotation) {
		a.Text = text
		mustOK(t, s.Annotate("L", a))
	}
	add("region", evident.Annotation{TimeRange: &[2]float64{1, 2}, AmplitudeRange: &[2]float64{0, 1}})
	add("range", evident.Annotation{TimeRange: &[2]float64{1, 2}})
	add("point", evident.Annotation{Time: evident.Ptr(1.5)})
	add("horizontal", evident.Annotation{Amplitude: evident.Ptr(0.5)})
	add("text", evident.Annotation{})
	add("vertical", evident.Annotation{Type: evident.AnnotationVertical, Time: evident.Ptr(5.0)})
	if err := s.Annotate("L", evident.Annotation{Text: "bad", TimeRange: &[2]float64{2, 1}}); !errors.Is(err, evident.ErrInvalidArgument) {
		t.Fatalf("bad range %v", err)
	}
	if err := s.Annotate("L", evident.Annotation{Text: "bad\xff"}); !errors.Is(err, evident.ErrInvalidUTF8) {
		t.Fatalf("bad utf8 %v", err)
	}
	all, err := s.Annotations("L", nil)
	mustOK(t, err)
	for _, la := range all {
		a := la.Annotation
		want := evident.AnnotationType(a.Text)
		if a.Type != want || a.Style != "solid" || a.Visible == nil || !*a.Visible || a.CreatedAt.IsZero() || la.Layer != "L" {
			t.Fatalf("annotation %+v", la)
		}
	}
	in, err := s.Annotations("L", &[2]float64{1.4, 1.6})
	mustOK(t, err)
	var texts []string
	for _, la := range in {
		texts = append(texts, la.Annotation.Text)
	}
	if fmt.Sprint(texts) != "[region range point]" {
		t.Fatalf("overlap %v", texts)
	}
	mustOK(t, s.SetLayer(evident.LayerProps{Name: "L", Locked: evident.Ptr(true), Color: evident.Ptr("red"), Description: evident.Ptr("d")}))
	if err := s.Annotate("L", evident.Annotation{Text: "x"}); !errors.Is(err, evident.ErrLayerLocked) {
		t.Fatalf("locked %v", err)
	}
	if err := s.ClearLayer("L"); !errors.Is(err, evident.ErrLayerLocked) {
		t.Fatalf("locked clear %v", err)
	}
	mustOK(t, s.SetLayer(evident.LayerProps{Name: "L", Description: evident.Ptr("changed while locked")}))
	layers, err := s.Layers()
	mustOK(t, err)
	if len(layers) != 1 || !layers[0].Locked || layers[0].Color != "red" || layers[0].Description != "changed while locked" || len(layers[0].Annotations) != 6 {
		t.Fatalf("layers %+v", layers)
	}
	mustOK(t, s.SetLayer(evident.LayerProps{Name: "L", Locked: evident.Ptr(false), Color: evident.Ptr("")}))
	mustOK(t, s.RemoveAnnotation("L", 0))
	if err := s.RemoveAnnotation("L", 99); !errors.Is(err, evident.ErrNotFound) {
		t.Fatalf("remove annotation %v", err)
	}
	layers, _ = s.Layers()
	if layers[0].Color != "" || len(layers[0].Annotations) != 5 {
		t.Fatalf("after unlock %+v", layers[0])
	}
	if err := s.ClearLayer("nope"); !errors.Is(err, evident.ErrNotFound) {
		t.Fatalf("clear missing %v", err)
	}
	mustOK(t, s.RemoveLayer("L"))
	// measurements and history
	mustOK(t, s.RecordMeasurement(evident.Measurement{Name: "vpp", Value: 0.5, Unit: "V", Metadata: map[string]any{"probe": "x1"}}))
	mustOK(t, s.RecordMeasurement(evident.Measurement{Name: "vpp", Value: 0.6, Unit: "V"}))
	ms, err := s.Measurements()
	mustOK(t, err)
	if len(ms) != 2 || ms[1].Value != 0.6 || ms[0].RecordedAt.IsZero() {
		t.Fatalf("measurements %+v", ms)
	}
	tk, err := s.MeasurementsTraceKit()
	mustOK(t, err)
	if tk["vpp"]["value"] != 0.6 || tk["vpp"]["unit"] != "V" {
		t.Fatalf("tracekit %v", tk)
	}
	one, err := ms[0].AsTraceKit()
	mustOK(t, err)
	if one["value"] != 0.5 || one["probe"] != "x1" {
		t.Fatalf("AsTraceKit %v", one)
	}
	mustOK(t, s.RecordHistory(evident.HistoryEntry{Operation: "filter", Parameters: map[string]any{"z": 1, "a": 2},
		ParameterOrder: []string{"z", "a"}, Result: 3, DurationMs: 2}))
	mustOK(t, s.RecordHistory(evident.HistoryEntry{Operation: "fail", Success: evident.Ptr(false), ErrorMessage: "boom"}))
	hist, err := s.History()
	mustOK(t, err)
	if len(hist) != 2 || fmt.Sprint(hist[0].ParameterOrder) != "[z a]" || hist[0].Success == nil || !*hist[0].Success || hist[0].Timestamp.IsZero() {
		t.Fatalf("history %+v", hist)
	}
	code, err := hist[0].ToCode("", evident.ScriptEvident)
	mustOK(t, err)
	if !strings.Contains(code, "tk.filter(z=1, a=2)") {
		t.Fatalf("ToCode %q", code)
	}
	script, err := s.HistoryScript("", "", evident.ScriptTraceKit)
	mustOK(t, err)
	if !strings.Contains(script, "import tracekit as tk") || !strings.Contains(script, "filter(z=1, a=2)") {
		t.Fatalf("script %s", script)
	}
	sum, err := s.HistorySummary()
	mustOK(t, err)
	if sum.TotalOperations != 2 || sum.Failed != 1 || sum.Successful != 1 || sum.Operations["filter"] != 1 || sum.First == nil {
		t.Fatalf("summary %+v", sum)
	}
	mustOK(t, s.SetHistoryLimit(1))
	hist, _ = s.History()
	if len(hist) != 1 || hist[0].Operation != "fail" {
		t.Fatalf("limit %+v", hist)
	}
	inf, err := s.Info()
	mustOK(t, err)
	if inf.Name != "api2" || inf.Version != 0 || inf.Path != "" || inf.Traces != 10 || inf.HistoryLimit != 1 {
		t.Fatalf("info %+v", inf)
	}
	if sm, err := s.Summary(); err != nil || !strings.Contains(sm, "api2") {
		t.Fatalf("summary %q %v", sm, err)
	}
	if js, err := s.JSON(); err != nil || !json.Valid(js) {
		t.Fatalf("JSON %v", err)
	}
	// measure
	sq := make([]float64, 1000)
	for i := range sq {
		if (i/50)%2 == 0 {
			sq[i] = 1
		}
	}
	mustOK(t, s.AddTrace("sq", sq, evident.TraceInfo{SampleRate: 1e5}))
	f, err := s.Measure("sq", evident.MeasureFrequency)
	mustOK(t, err)
	if math.Abs(f-1000) > 1 {
		t.Fatalf("frequency %v", f)
	}
	if f2, err := evident.MeasureSamples(sq, 1e5, evident.MeasureFrequency); err != nil || f2 != f {
		t.Fatalf("MeasureSamples %v %v", f2, err)
	}
	mustOK(t, s.AddTrace("flat", []float64{1, 1, 1}, evident.TraceInfo{}))
	if nan, err := s.Measure("flat", evident.MeasurePeriod); err != nil || !math.IsNaN(nan) {
		t.Fatalf("flat %v %v", nan, err)
	}
}

func TestCleanroomSessionFiles(t *testing.T) {
	cleanroomDir(t)
	s, err := evident.NewSession("f")
	mustOK(t, err)
	defer s.Close()
	mustOK(t, s.AddTrace("t", []float64{1, 2, 3}, evident.TraceInfo{}))
	key := bytes.Repeat([]byte("s"), 32)
	i1, err := s.Save("f.evs", &evident.SaveOptions{Key: key, NoSync: true, LockTimeout: 2 * time.Second})
	mustOK(t, err)
	mustOK(t, s.RecordMeasurement(evident.Measurement{Name: "m", Value: 1}))
	if _, err := s.Save("", nil); !errors.Is(err, evident.ErrWrongKey) {
		t.Fatalf("keyed file saved without its key: %v", err) // Go keeps no key: give it each time
	}
	i2, err := s.Save("", &evident.SaveOptions{Key: key}) // "" = the session's file
	mustOK(t, err)
	ls, err := evident.LoadSession("f.evs", &evident.LoadSessionOptions{Key: key})
	mustOK(t, err)
	mustOK(t, ls.SetName("loaded"))
	_, errNoKey := ls.Save("", nil)
	ls.Close()
	if !errors.Is(errNoKey, evident.ErrWrongKey) { // README Saving, Key: not kept by the session
		t.Fatalf("Save after LoadSession with a key, without it: %v", errNoKey)
	}
	if i2.Version != 2 || i2.TracesReused != 1 || i2.TracesWritten != 0 || i1.SampleBytesWritten != 24 {
		t.Fatalf("saves %+v %+v", i1, i2)
	}
	if _, err := evident.LoadSession("f.evs", nil); !errors.Is(err, evident.ErrWrongKey) {
		t.Fatalf("load without key: %v", err)
	}
	if _, err := evident.LoadSession("f.evs", &evident.LoadSessionOptions{Key: key, Version: 3}); !errors.Is(err, evident.ErrNotFound) {
		t.Fatalf("missing version: %v", err)
	}
	vs, err := evident.SessionVersions("f.evs", key)
	mustOK(t, err)
	if len(vs) != 2 || vs[0].Commit != i1.Commit || vs[1].Measurements != 1 || vs[0].TS.IsZero() {
		t.Fatalf("versions %+v", vs)
	}
	ci, err := evident.CompactSession("f.evs", key)
	mustOK(t, err)
	if ci.Version == 0 || ci.BytesAfter == 0 {
		t.Fatalf("compact %+v", ci)
	}
	vs, err = evident.SessionVersions("f.evs", key)
	mustOK(t, err)
	if len(vs) != 1 || vs[0].CompactedFrom == nil || vs[0].CompactedFrom.Version != 2 || vs[0].CompactedFrom.Commit != i2.Commit {
		t.Fatalf("compacted %+v", vs)
	}
	rep, err := evident.VerifySession("f.evs", key)
	mustOK(t, err)
	if !rep.OK || rep.Versions != 1 || rep.Records == 0 || rep.SampleBytesChecked != 24 {
		t.Fatalf("report %+v", rep)
	}
	data, _ := os.ReadFile("f.evs")
	data[len(data)/2] ^= 0xff
	os.WriteFile("f.evs", data, 0o644)
	rep, err = evident.VerifySession("f.evs", key)
	mustOK(t, err)
	if rep.OK || len(rep.Problems) == 0 || len(rep.ProblemDetails) == 0 {
		t.Fatalf("damaged report %+v", rep)
	}
	if _, err := evident.VerifySession("nothing.evs", nil); err == nil {
		t.Fatal("unreadable file: no error")
	}
	os.WriteFile("junk.evs", []byte("junk junk junk"), 0o644)
	if _, err := evident.LoadSession("junk.evs", nil); !errors.Is(err, evident.ErrMalformed) && !errors.Is(err, evident.ErrCorrupt) {
		t.Fatalf("junk: %v", err)
	}
	// CSV load, history records load_trace
	os.WriteFile("cap.csv", []byte("time,value\n0,1\n0.001,2\n0.002,3\n"), 0o644)
	s2, err := evident.NewSession("csv")
	mustOK(t, err)
	defer s2.Close()
	used, err := s2.LoadTrace("cap.csv", "")
	mustOK(t, err)
	if used != "cap" {
		t.Fatalf("used %q", used)
	}
	// Go's LoadTrace records itself in the history, as Python's load_trace does.
	h, _ := s2.History()
	if len(h) != 1 || h[0].Operation != "load_trace" {
		t.Fatalf("history %+v", h)
	}
	tr, err := s2.GetTrace("cap")
	mustOK(t, err)
	defer tr.Close()
	if v, err := tr.Float64s(); err != nil || fmt.Sprint(v) != "[1 2 3]" || tr.Info().SampleRate != 1000 {
		t.Fatalf("csv trace %v %v %+v", v, err, tr.Info())
	}
}

func TestCleanroomSessionConcurrency(t *testing.T) {
	cleanroomDir(t)
	s, err := evident.NewSession("c")
	mustOK(t, err)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				name := fmt.Sprint("t", g, "-", i)
				if err := s.AddTrace(name, []float64{float64(i)}, evident.TraceInfo{}); err != nil {
					t.Error(err)
					return
				}
				tr, err := s.GetTrace(name)
				if err != nil {
					t.Error(err)
					return
				}
				if v, err := tr.Float64s(); err != nil || v[0] != float64(i) {
					t.Error(v, err)
				}
				tr.Close()
				if _, err := s.Info(); err != nil {
					t.Error(err)
				}
			}
		}(g)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 5; i++ {
			if _, err := s.Save("c.evs", nil); err != nil {
				t.Error(err)
			}
		}
	}()
	wg.Wait()
	mustOK(t, s.Close())
	mustOK(t, s.Close())
}

// README "Limits": strings read back through the C accessors end at U+0000.
func TestCleanroomLimitsNUL(t *testing.T) {
	cleanroomDir(t)
	l, err := evident.Open("a.jsonl", evident.Options{})
	mustOK(t, err)
	_, err = l.Append(evident.Entry{EventType: "E", Action: "a\x00b", Details: map[string]any{"s": "x\x00y"}})
	mustOK(t, err)
	mustOK(t, l.Close())
	res, err := evident.Verify("a.jsonl", evident.VerifyOptions{})
	mustOK(t, err)
	if !res.Valid {
		t.Fatal(res)
	}
	data, _ := os.ReadFile("a.jsonl")
	if !bytes.Contains(data, []byte(`a\u0000b`)) {
		t.Fatalf("NUL not in the log: %s", data)
	}
	es, err := evident.ReadEntries("a.jsonl", evident.QueryOptions{})
	mustOK(t, err)
	var d map[string]string
	mustOK(t, es[0].DecodeDetails(&d))
	if es[0].Action != "a" || d["s"] != "x\x00y" { // Limits: the C accessor's string ends at U+0000
		t.Fatalf("action %q details %q", es[0].Action, d)
	}
	_ = io.Discard
}

// README Saving, AuditLog: "if that append fails, Save returns its error after
// the session file was written".
func TestCleanroomSaveAuditLogFailure(t *testing.T) {
	cleanroomDir(t)
	// a shared-mode audit log whose append cannot get the lock (another handle
	// holds it exclusively): the append fails after the session file is written
	al, err := evident.Open("audit.jsonl", evident.Options{Lock: evident.Shared, LockTimeout: 50 * time.Millisecond})
	mustOK(t, err)
	defer al.Close()
	ex, err := evident.Open("audit.jsonl", evident.Options{})
	mustOK(t, err)
	defer ex.Close()
	s, err := evident.NewSession("x")
	mustOK(t, err)
	defer s.Close()
	mustOK(t, s.AddTrace("t", []float64{1}, evident.TraceInfo{}))
	if _, err := s.Save("x.evs", &evident.SaveOptions{AuditLog: al}); !errors.Is(err, evident.ErrLocked) {
		t.Fatalf("save with a locked audit log: %v", err)
	}
	vs, err := evident.SessionVersions("x.evs", nil)
	mustOK(t, err)
	if len(vs) != 1 {
		t.Fatalf("versions %+v", vs)
	}
	// Annotations' time filter is inclusive at both ends for points
	mustOK(t, s.Annotate("L", evident.Annotation{Text: "p", Time: evident.Ptr(1.5)}))
	mustOK(t, s.Annotate("L", evident.Annotation{Text: "v", Type: evident.AnnotationVertical, Time: evident.Ptr(1.6)}))
	got, err := s.Annotations("", &[2]float64{1.5, 1.6})
	mustOK(t, err)
	if len(got) != 2 {
		t.Fatalf("inclusive %+v", got)
	}
}

func TestCleanroomTornTail(t *testing.T) {
	cleanroomDir(t)
	l, err := evident.Open("a.jsonl", evident.Options{})
	mustOK(t, err)
	for i := 0; i < 3; i++ {
		_, err := l.Append(evident.Entry{EventType: "E"})
		mustOK(t, err)
	}
	mustOK(t, l.Close())
	f, _ := os.OpenFile("a.jsonl", os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte(`{"seq":4,"ts":"2026-`))
	f.Close()
	es, err := evident.ReadEntries("a.jsonl", evident.QueryOptions{})
	mustOK(t, err)
	if len(es) != 3 {
		t.Fatalf("torn record returned: %d", len(es))
	}
	res, err := evident.Verify("a.jsonl", evident.VerifyOptions{})
	mustOK(t, err)
	if res.Valid || !res.OnlyTornTail || res.First().Kind.String() != "torn_tail" {
		t.Fatalf("verify %+v", res)
	}
	l, err = evident.Open("a.jsonl", evident.Options{})
	mustOK(t, err)
	rec, err := l.Recovery()
	mustOK(t, err)
	if rec.Created || len(rec.TornTails) != 1 || rec.TornTails[0].Len != 20 {
		t.Fatalf("recovery %+v", rec)
	}
	if _, err := os.Stat(rec.TornTails[0].Sidecar); err != nil {
		t.Fatal(err)
	}
	h, err := l.Append(evident.Entry{EventType: "E"})
	mustOK(t, err)
	mustOK(t, l.Close())
	if h.Seq != 4 {
		t.Fatal(h)
	}
}

func TestCleanroomSlogEncoding(t *testing.T) {
	cleanroomDir(t)
	l, err := evident.Open("a.jsonl", evident.Options{})
	mustOK(t, err)
	defer l.Close()
	lg := slog.New(evident.NewSlogHandler(l, nil))
	lg.Debug("dropped") // nil options: minimum level Info
	at := time.Date(2026, 3, 1, 9, 0, 2, 500000000, time.UTC)
	lg.Info("enc", "when", at, "err", errors.New("e1"), "ch", make(chan int), "raw", json.RawMessage(`{"k":1}`),
		"f", 1.5, "u", uint64(1)<<63, "lvl", slog.LevelWarn)
	lg.Log(context.Background(), slog.LevelInfo+2, "custom level")
	es, err := evident.ReadEntries("a.jsonl", evident.QueryOptions{})
	mustOK(t, err)
	if len(es) != 2 || es[0].Action != "enc" || es[1].EventType != "INFO+2" {
		t.Fatalf("entries %+v", es)
	}
	var want bytes.Buffer
	slog.New(slog.NewJSONHandler(&want, &slog.HandlerOptions{ReplaceAttr: func(g []string, a slog.Attr) slog.Attr {
		if len(g) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey || a.Key == slog.MessageKey) {
			return slog.Attr{}
		}
		return a
	}})).Info("enc", "when", at, "err", errors.New("e1"), "ch", make(chan int), "raw", json.RawMessage(`{"k":1}`),
		"f", 1.5, "u", uint64(1)<<63, "lvl", slog.LevelWarn)
	var got, exp map[string]any
	mustOK(t, es[0].DecodeDetails(&got))
	mustOK(t, json.Unmarshal(want.Bytes(), &exp))
	delete(got, "ch")
	delete(exp, "ch") // a channel's fmt text is an address
	if fmt.Sprint(got) != fmt.Sprint(exp) {
		t.Fatalf("details %v, slog.JSONHandler %v", got, exp)
	}
}

func TestCleanroomAppendContextOutcome(t *testing.T) {
	cleanroomDir(t)
	l, err := evident.Open("a.jsonl", evident.Options{Durability: evident.Sync})
	mustOK(t, err)
	var ok, unknown, notStarted int
	for i := 0; i < 150; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i%10)*20*time.Microsecond)
		_, err := l.AppendContext(ctx, evident.Entry{EventType: "E", Action: fmt.Sprint(i)})
		cancel()
		switch {
		case err == nil:
			ok++
		case errors.Is(err, evident.ErrOutcomeUnknown):
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("outcome unknown without ctx.Err(): %v", err)
			}
			unknown++
		case errors.Is(err, context.DeadlineExceeded):
			notStarted++
		default:
			t.Fatal(err)
		}
	}
	mustOK(t, l.Close())
	res, err := evident.Verify("a.jsonl", evident.VerifyOptions{})
	mustOK(t, err)
	if !res.Valid || res.Entries < uint64(ok) || res.Entries > uint64(ok+unknown) {
		t.Fatalf("entries %d ok %d unknown %d not started %d", res.Entries, ok, unknown, notStarted)
	}
	t.Logf("ok %d unknown %d not started %d entries %d", ok, unknown, notStarted, res.Entries)
	// an Iterator after Close ends at once
	it, err := evident.Query("a.jsonl", evident.QueryOptions{})
	mustOK(t, err)
	mustOK(t, it.Close())
	if it.Next() {
		t.Fatal("Next after Close")
	}
	// breaking out of Entries early is fine
	for range evident.Entries("a.jsonl", evident.QueryOptions{}) {
		break
	}
}

func TestCleanroomOptionChecks(t *testing.T) {
	cleanroomDir(t)
	if _, err := evident.Open("a.jsonl", evident.Options{Durability: evident.GroupCommit, CommitDelay: 2 * time.Second}); !errors.Is(err, evident.ErrInvalidArgument) {
		t.Fatalf("CommitDelay 2 s: %v", err)
	}
	if _, err := evident.Open("b.jsonl", evident.Options{Key: []byte("short")}); !errors.Is(err, evident.ErrInvalidArgument) {
		t.Fatalf("short key: %v", err)
	}
	l, err := evident.Open("c.jsonl", evident.Options{Durability: evident.GroupCommit, CommitDelay: time.Millisecond})
	mustOK(t, err)
	_, err = l.Append(evident.Entry{EventType: "E", DurationMs: evident.Ptr(math.Inf(1))})
	if !errors.Is(err, evident.ErrInvalidArgument) {
		t.Fatalf("infinite duration: %v", err)
	}
	mustOK(t, l.Close())
	res, err := evident.Verify("c.jsonl", evident.VerifyOptions{})
	mustOK(t, err)
	if !res.Valid || res.Entries != 0 {
		t.Fatalf("%+v", res)
	}
	os.WriteFile("empty.jsonl", nil, 0o644)
	res, err = evident.Verify("empty.jsonl", evident.VerifyOptions{})
	mustOK(t, err)
	if !res.NotALog || res.Head.Hash != "" {
		t.Fatalf("empty %+v", res)
	}
}
