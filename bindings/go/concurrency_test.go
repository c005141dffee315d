package evident_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	evident "github.com/evident-audit/evident/bindings/go"
)

// Many goroutines append to one Log in group-commit mode: every append is
// in the log exactly once, each goroutine's entries in its own order, and
// the chain verifies.
func TestConcurrentGroupCommit(t *testing.T) {
	const goroutines, each = 8, 40
	path := filepath.Join(t.TempDir(), "gc.evl")
	l := mustOpen(t, path, evident.Options{Durability: evident.GroupCommit})
	var wg sync.WaitGroup
	seen := make([]atomic.Bool, goroutines*each+1)
	errs := make(chan error, goroutines)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				h, err := l.Append(evident.Entry{EventType: "E", Action: "append", SessionID: fmt.Sprintf("g%d", g),
					Details: map[string]int{"g": g, "i": i}})
				if err != nil {
					errs <- err
					return
				}
				if h.Seq == 0 || h.Seq > goroutines*each || seen[h.Seq].Swap(true) {
					errs <- fmt.Errorf("head seq %d returned twice or out of range", h.Seq)
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
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	r := mustVerify(t, path, evident.VerifyOptions{})
	if !r.Valid || r.Entries != goroutines*each {
		t.Fatalf("valid %v, %d entries, want %d", r.Valid, r.Entries, goroutines*each)
	}
	next := make([]int, goroutines)
	for _, e := range mustRead(t, path, evident.QueryOptions{}) {
		var d struct{ G, I int }
		if err := e.DecodeDetails(&d); err != nil {
			t.Fatal(err)
		}
		if e.SessionID != fmt.Sprintf("g%d", d.G) || d.I != next[d.G] {
			t.Fatalf("entry %d: %+v, expected i=%d", e.Seq, d, next[d.G])
		}
		next[d.G]++
	}
	for g, n := range next {
		if n != each {
			t.Fatalf("goroutine %d: %d entries", g, n)
		}
	}
}

// Every method used at once from several goroutines (the race detector
// checks the wrapper), with readers querying and verifying the log while
// it grows.
func TestConcurrentMixedCalls(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mixed.jsonl")
	l := mustOpen(t, path, evident.Options{Durability: evident.Buffered})
	var wg sync.WaitGroup
	var appended atomic.Int64
	fail := make(chan error, 16)
	run := func(f func(i int) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 30; i++ {
				if err := f(i); err != nil {
					fail <- err
					return
				}
			}
		}()
	}
	for w := 0; w < 3; w++ {
		run(func(i int) error {
			_, err := l.Append(evident.Entry{Action: "a", Details: map[string]int{"i": i}})
			if err == nil {
				appended.Add(1)
			}
			return err
		})
		run(func(i int) error {
			_, err := l.AppendJSON([]byte(fmt.Sprintf(`{"action":"j","details":{"i":%d}}`, i)))
			if err == nil {
				appended.Add(1)
			}
			return err
		})
	}
	run(func(int) error { return l.Sync() })
	run(func(int) error { _, err := l.Head(); return err })
	run(func(int) error { _, err := l.Recovery(); return err })
	run(func(int) error {
		_, err := evident.ReadEntries(path, evident.QueryOptions{Order: evident.NewestFirst, Limit: 5})
		return err
	})
	run(func(int) error {
		r, err := evident.Verify(path, evident.VerifyOptions{Threads: 1, Progress: func(_, _ uint64) {}})
		if err == nil && !r.Valid && !r.OnlyTornTail {
			err = fmt.Errorf("log invalid while growing: %+v", r)
		}
		return err
	})
	wg.Wait()
	close(fail)
	for err := range fail {
		t.Fatal(err)
	}
	h, _ := l.Head()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	r := mustVerify(t, path, evident.VerifyOptions{ExpectedHead: &h})
	if !r.Valid || r.Entries != uint64(appended.Load()) || r.Entries != 180 {
		t.Fatalf("valid %v, %d entries, %d appended", r.Valid, r.Entries, appended.Load())
	}
}

// Close while other goroutines append: Close waits for the appends in
// flight, later appends get ErrClosed, and the log holds exactly the
// appends that succeeded.
func TestCloseDuringAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "close.jsonl")
	l, err := evident.Open(path, evident.Options{Durability: evident.GroupCommit})
	if err != nil {
		t.Fatal(err)
	}
	var ok atomic.Int64
	var wg sync.WaitGroup
	started := make(chan struct{}, 100)
	bad := make(chan error, 8)
	for g := 0; g < 6; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				_, err := l.Append(evident.Entry{Action: "a"})
				if err != nil {
					if !errors.Is(err, evident.ErrClosed) {
						bad <- err
					}
					return
				}
				ok.Add(1)
				select {
				case started <- struct{}{}:
				default:
				}
			}
		}()
	}
	for i := 0; i < 30; i++ {
		<-started
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(bad)
	for err := range bad {
		t.Fatalf("append failed with %v, want ErrClosed", err)
	}
	r := mustVerify(t, path, evident.VerifyOptions{})
	if !r.Valid || r.Entries != uint64(ok.Load()) {
		t.Fatalf("valid %v, %d entries, %d appends succeeded", r.Valid, r.Entries, ok.Load())
	}
}

// A Log that is never closed is closed by its finalizer (a fallback: the
// lock is released once the garbage collector has run it).
func TestFinalizerClosesForgottenLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.jsonl")
	func() {
		l, err := evident.Open(path, evident.Options{Durability: evident.Buffered})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Append(evident.Entry{Action: "forgotten"}); err != nil {
			t.Fatal(err)
		}
	}()
	for i := 0; ; i++ {
		runtime.GC()
		l, err := evident.Open(path, evident.Options{})
		if err == nil {
			h, _ := l.Head()
			l.Close()
			if h.Seq != 1 {
				t.Fatalf("the finalizer's close lost the buffered entry: head %v", h)
			}
			return
		}
		if !errors.Is(err, evident.ErrLocked) {
			t.Fatal(err)
		}
		if i == 500 {
			t.Fatal("the finalizer never closed the log")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A write that fails (here: the file size limit, RLIMIT_FSIZE, in a child
// process) gives ErrIO and poisons the handle: later appends give
// ErrPoisoned. Reopening recovers and the log verifies.
func TestPoisonedAfterFailedWrite(t *testing.T) {
	if child := os.Getenv("EVIDENT_GO_POISON_CHILD"); child != "" {
		poisonChild(child)
		return
	}
	path := filepath.Join(t.TempDir(), "p.jsonl")
	cmd := exec.Command(os.Args[0], "-test.run=^TestPoisonedAfterFailedWrite$", "-test.count=1")
	cmd.Env = append(os.Environ(), "EVIDENT_GO_POISON_CHILD="+path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var res struct {
		OK                        int
		First, Second, Close      string
		FirstStatus, SecondStatus evident.Status
		FirstIsIO, SecondPoisoned bool
	}
	line := ""
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "RESULT ") {
			line = strings.TrimPrefix(l, "RESULT ")
		}
	}
	if err := json.Unmarshal([]byte(line), &res); err != nil {
		t.Fatalf("child output: %v\n%s", err, out)
	}
	t.Logf("child: %+v", res)
	if !res.FirstIsIO || res.FirstStatus != evident.StatusIO || !res.SecondPoisoned ||
		res.SecondStatus != evident.StatusPoisoned || res.OK == 0 {
		t.Fatalf("child results %+v", res)
	}
	if !strings.Contains(res.First, "p.jsonl") {
		t.Errorf("I/O error %q does not name the log", res.First)
	}
	r := mustVerify(t, path, evident.VerifyOptions{})
	if (!r.Valid && !r.OnlyTornTail) || r.Entries != uint64(res.OK) {
		t.Fatalf("after the failed write: %+v, %d appends succeeded", r, res.OK)
	}
	l := mustOpen(t, path, evident.Options{Create: evident.OpenExisting})
	if h, _ := l.Head(); h.Seq != uint64(res.OK) {
		t.Fatalf("reopened at %v", h)
	}
	mustAppend(t, l, evident.Entry{Action: "after"})
	l.Close()
	if r := mustVerify(t, path, evident.VerifyOptions{}); !r.Valid || r.Entries != uint64(res.OK)+1 {
		t.Fatalf("%+v", r)
	}
}

func poisonChild(path string) {
	signal.Ignore(syscall.SIGXFSZ)
	l, err := evident.Open(path, evident.Options{})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	st, _ := os.Stat(path)
	var lim syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_FSIZE, &lim)
	lim.Cur = uint64(st.Size()) + 2000
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		fmt.Println("setrlimit:", err)
		os.Exit(1)
	}
	res := map[string]any{}
	n := 0
	var first error
	for ; n < 1000; n++ {
		if _, first = l.Append(evident.Entry{Action: "fill", Details: map[string]string{"pad": strings.Repeat("x", 150)}}); first != nil {
			break
		}
	}
	_, second := l.Append(evident.Entry{Action: "after the failure"})
	closeErr := l.Close()
	status := func(err error) evident.Status {
		var e *evident.Error
		if errors.As(err, &e) {
			return e.Status
		}
		return 0
	}
	res["OK"] = n
	res["First"], res["Second"] = fmt.Sprint(first), fmt.Sprint(second)
	res["Close"] = fmt.Sprint(closeErr)
	res["FirstStatus"], res["SecondStatus"] = status(first), status(second)
	res["FirstIsIO"] = errors.Is(first, evident.ErrIO)
	res["SecondPoisoned"] = errors.Is(second, evident.ErrPoisoned)
	b, _ := json.Marshal(res)
	fmt.Println("RESULT " + string(b))
}

// The C ABI's last error is per OS thread and goroutines move between
// threads: every error must still carry the message of its own call.
// Goroutines make calls that fail with distinct messages, interleaved with
// calls that succeed (which clear the thread's last error).
func TestErrorMessagesAcrossGoroutines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "errs.jsonl")
	l := mustOpen(t, path, evident.Options{Durability: evident.Buffered})
	var wg sync.WaitGroup
	bad := make(chan string, 64)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				field := fmt.Sprintf("field_%d_%d", g, i)
				_, err := l.AppendJSON([]byte(`{"` + field + `":1}`))
				var e *evident.Error
				if !errors.As(err, &e) || e.Status != evident.StatusInvalidArgument || !strings.Contains(e.Message, field) {
					bad <- fmt.Sprintf("goroutine %d call %d: %v", g, i, err)
					return
				}
				if _, err := l.Append(evident.Entry{Action: field}); err != nil {
					bad <- err.Error()
					return
				}
				runtime.Gosched()
			}
		}()
	}
	wg.Wait()
	close(bad)
	for msg := range bad {
		t.Fatal(msg)
	}
}
