package peers

// Side-by-side benchmarks: evident's Go API vs the OpenParallax audit
// logger, the same entries (about 200 bytes of details) in the same
// directory, 1 and 8 goroutines, OS-buffered and durable modes, and verify.
//
//	go test -run '^$' -bench . -benchtime 2s -count 3
//
// Each benchmark reports appends/s (or MB/s for verify) besides ns/op;
// EVIDENT_PEERS_DIR chooses the directory of the logs (default: Go's temp
// dir for the benchmark).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	evident "github.com/evident-audit/evident/bindings/go"
)

// detailsJSON is 200 bytes of compact JSON, the same for every log (and the
// same as the Python benchmark's).
var detailsJSON = func() string {
	d := map[string]any{
		"instrument": "HPLC-7 (serial 4711-0815)",
		"sample":     "S-2024-000123",
		"file":       "/data/runs/2024/06/run-000123.raw",
		"injections": 3,
		"passed":     true,
		"tags":       []string{"gmp", "release", "batch-17"},
		"note":       "",
	}
	b, _ := json.Marshal(d)
	pad := 200 - len(b)
	if pad < 0 {
		panic("details longer than 200 bytes")
	}
	d["note"] = repeat('x', pad)
	b, _ = json.Marshal(d)
	if len(b) != 200 {
		panic(fmt.Sprintf("details are %d bytes", len(b)))
	}
	return string(b)
}()

func repeat(c byte, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = c
	}
	return string(b)
}

const (
	eventType = "ACTION_EXECUTED"
	action    = "load_trace"
	session   = "s-0001"
	opxEvent  = 5 // OpenParallax's ActionExecuted
)

func benchDir(b *testing.B) string {
	if d := os.Getenv("EVIDENT_PEERS_DIR"); d != "" {
		dir, err := os.MkdirTemp(d, "peers-")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(dir) })
		return dir
	}
	return b.TempDir()
}

// appender is one log under test.
type appender interface {
	append() error
	close() error
}

type evidentLog struct {
	l *evident.Log
	e evident.Entry
}

func (a *evidentLog) append() error { _, err := a.l.Append(a.e); return err }
func (a *evidentLog) close() error  { return a.l.Close() }

type opxLog struct {
	l *opxLogger
	e opxEntry
}

func (a *opxLog) append() error { return a.l.Log(a.e) }
func (a *opxLog) close() error  { return a.l.Close() }

func openEvident(b *testing.B, path string, d evident.Durability, bufferSize int) appender {
	l, err := evident.Open(path, evident.Options{Durability: d, BufferSize: bufferSize})
	if err != nil {
		b.Fatal(err)
	}
	return &evidentLog{l: l, e: evident.Entry{EventType: eventType, Action: action,
		SessionID: session, Details: json.RawMessage(detailsJSON)}}
}

func openOpxLog(b *testing.B, path string, syncEach bool) appender {
	l, err := openOpx(path, syncEach)
	if err != nil {
		b.Fatal(err)
	}
	return &opxLog{l: l, e: opxEntry{EventType: opxEvent, ActionType: action,
		SessionID: session, Details: detailsJSON}}
}

// runAppends spreads b.N appends over g goroutines and reports appends/s.
// The log is opened before and closed (flushed, synced) inside the timing.
func runAppends(b *testing.B, g int, open func(path string) appender) {
	a := open(filepath.Join(benchDir(b), "audit.jsonl"))
	b.ResetTimer()
	cpu0 := cpuTime()
	var wg sync.WaitGroup
	errs := make(chan error, g)
	for i := 0; i < g; i++ {
		n := b.N / g
		if i < b.N%g {
			n++
		}
		wg.Add(1)
		go func(n int) {
			defer wg.Done()
			for j := 0; j < n; j++ {
				if err := a.append(); err != nil {
					errs <- err
					return
				}
			}
		}(n)
	}
	wg.Wait()
	if err := a.close(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	reportCPU(b, cpu0, b.N)
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
}

// cpuTime is the process's user+system CPU time (all threads, including the
// library's): less sensitive than wall time to other load on the machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, since time.Duration, ops int) {
	b.ReportMetric(float64((cpuTime()-since).Nanoseconds())/1e3/float64(ops), "cpu-µs/op")
}

type impl struct {
	name string
	open func(b *testing.B, path string) appender
}

// The modes, in pairs of equal durability.
var impls = []impl{
	// OS-buffered: one write(2) per entry, no fsync.
	{"openparallax/os-buffered", func(b *testing.B, p string) appender { return openOpxLog(b, p, false) }},
	{"evident/buffered-write-each", func(b *testing.B, p string) appender { return openEvident(b, p, evident.Buffered, 1) }},
	// evident's 64 KiB in-memory buffer (durable at Close).
	{"evident/buffered-64KiB", func(b *testing.B, p string) appender { return openEvident(b, p, evident.Buffered, 0) }},
	// Durable when the call returns.
	{"openparallax/fsync-each", func(b *testing.B, p string) appender { return openOpxLog(b, p, true) }},
	{"evident/sync", func(b *testing.B, p string) appender { return openEvident(b, p, evident.Sync, 0) }},
	{"evident/group-commit", func(b *testing.B, p string) appender { return openEvident(b, p, evident.GroupCommit, 0) }},
}

func BenchmarkAppend(b *testing.B) {
	for _, g := range []int{1, 8} {
		for _, im := range impls {
			b.Run(fmt.Sprintf("g=%d/%s", g, im.name), func(b *testing.B) {
				runAppends(b, g, func(p string) appender { return im.open(b, p) })
			})
		}
	}
	// Group commit shares one fsync among the appenders waiting at the
	// time, so its rate grows with their number.
	b.Run("g=32/evident/group-commit", func(b *testing.B) {
		runAppends(b, 32, func(p string) appender { return openEvident(b, p, evident.GroupCommit, 0) })
	})
}

// Verify: a log of verifyEntries entries per implementation, written once.
const verifyEntries = 100_000

var (
	verifyOnce sync.Once
	verifyDir  string
	verifyErr  error
)

func verifyLogs(b *testing.B) (opxPath, evPath string) {
	verifyOnce.Do(func() {
		base := os.Getenv("EVIDENT_PEERS_DIR")
		verifyDir, verifyErr = os.MkdirTemp(base, "peers-verify-")
		if verifyErr != nil {
			return
		}
		o, err := openOpx(filepath.Join(verifyDir, "opx.jsonl"), false)
		if err != nil {
			verifyErr = err
			return
		}
		e := opxEntry{EventType: opxEvent, ActionType: action, SessionID: session, Details: detailsJSON}
		for i := 0; i < verifyEntries && verifyErr == nil; i++ {
			verifyErr = o.Log(e)
		}
		o.Close()
		l, err := evident.Open(filepath.Join(verifyDir, "evident.jsonl"), evident.Options{Durability: evident.Buffered})
		if err != nil {
			verifyErr = err
			return
		}
		ev := evident.Entry{EventType: eventType, Action: action, SessionID: session,
			Details: json.RawMessage(detailsJSON)}
		for i := 0; i < verifyEntries && verifyErr == nil; i++ {
			_, verifyErr = l.Append(ev)
		}
		if err := l.Close(); verifyErr == nil {
			verifyErr = err
		}
	})
	if verifyErr != nil {
		b.Fatal(verifyErr)
	}
	return filepath.Join(verifyDir, "opx.jsonl"), filepath.Join(verifyDir, "evident.jsonl")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if verifyDir != "" {
		os.RemoveAll(verifyDir)
	}
	os.Exit(code)
}

func fileSize(b *testing.B, path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return st.Size()
}

func reportVerify(b *testing.B, size int64) {
	b.ReportMetric(float64(verifyEntries)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	b.ReportMetric(float64(size)/float64(verifyEntries), "B/entry")
}

// extraVerifiers holds more logs to verify (openparallax_test.go adds the
// real OpenParallax package with -tags openparallax).
var extraVerifiers []struct {
	name   string
	write  func(path string, n int) error
	verify func(path string) error
}

func BenchmarkVerify(b *testing.B) {
	opxPath, evPath := verifyLogs(b)
	b.Run("openparallax", func(b *testing.B) {
		size := fileSize(b, opxPath)
		b.SetBytes(size)
		cpu0 := cpuTime()
		for i := 0; i < b.N; i++ {
			n, err := opxVerify(opxPath)
			if err != nil || n != verifyEntries {
				b.Fatal(n, err)
			}
		}
		reportCPU(b, cpu0, b.N*verifyEntries)
		reportVerify(b, size)
	})
	for _, threads := range []int{0, 1} {
		name := "evident/threads=all"
		if threads == 1 {
			name = "evident/threads=1"
		}
		b.Run(name, func(b *testing.B) {
			size := fileSize(b, evPath)
			b.SetBytes(size)
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				res, err := evident.Verify(evPath, evident.VerifyOptions{Threads: threads})
				if err != nil || !res.Valid || res.Entries != verifyEntries {
					b.Fatal(res, err)
				}
			}
			reportCPU(b, cpu0, b.N*verifyEntries)
			reportVerify(b, size)
		})
	}
	for _, v := range extraVerifiers {
		b.Run(v.name, func(b *testing.B) {
			path := filepath.Join(filepath.Dir(opxPath), v.name+".jsonl")
			if _, err := os.Stat(path); err != nil {
				if err := v.write(path, verifyEntries); err != nil {
					b.Fatal(err)
				}
			}
			size := fileSize(b, path)
			b.SetBytes(size)
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				if err := v.verify(path); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu0, b.N*verifyEntries)
			reportVerify(b, size)
		})
	}
}

// TestModelRoundTrip checks that the OpenParallax model's verifier accepts
// what its logger wrote and rejects a changed entry, and that both logs of
// the verify benchmark hold what they should (so the benchmark measures
// real work).
func TestModelRoundTrip(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "opx.jsonl")
	l, err := openOpx(p, true)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := l.Log(opxEntry{EventType: opxEvent, ActionType: action, Details: detailsJSON}); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	if n, err := opxVerify(p); err != nil || n != 3 {
		t.Fatalf("verify: %d %v", n, err)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	// Change one character of the second entry's details.
	second := bytes.IndexByte(data, '\n') + 1
	at := second + bytes.Index(data[second:], []byte("xxxx"))
	data[at] = 'y'
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := opxVerify(p); err == nil {
		t.Fatal("a changed entry verified")
	}
	if len(detailsJSON) != 200 {
		t.Fatalf("details are %d bytes", len(detailsJSON))
	}
}
