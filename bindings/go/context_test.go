package evident

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func contextTestLog(t *testing.T) (string, *Log) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ctx.jsonl")
	l, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return path, l
}

func TestOpenContextCancelEndsTheLockWait(t *testing.T) {
	path, _ := contextTestLog(t) // holds the exclusive lock
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(150*time.Millisecond, cancel)
	start := time.Now()
	l, err := OpenContext(ctx, path, Options{LockTimeout: 20 * time.Second})
	took := time.Since(start)
	if l != nil {
		l.Close()
		t.Fatal("opened a log whose lock another writer holds")
	}
	if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrLocked) {
		t.Fatalf("err = %v, want context.Canceled and ErrLocked", err)
	}
	if took < 100*time.Millisecond || took > 3*time.Second {
		t.Fatalf("OpenContext returned after %v, want soon after the cancel (150 ms)", took)
	}
}

func TestOpenContextDeadlineBoundsTheLockWait(t *testing.T) {
	path, _ := contextTestLog(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := OpenContext(ctx, path, Options{LockTimeout: 20 * time.Second})
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("OpenContext waited %v past a 200 ms deadline", took)
	}
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("err = %v, want ErrLocked", err)
	}
}

func TestOpenContextGetsTheLockWhenReleased(t *testing.T) {
	path, first := contextTestLog(t)
	time.AfterFunc(200*time.Millisecond, func() { _ = first.Close() })
	l, err := OpenContext(context.Background(), path, Options{LockTimeout: 20 * time.Second})
	if err != nil {
		t.Fatalf("OpenContext after the holder closed: %v", err)
	}
	defer l.Close()
	// The Log keeps the caller's options, not the attempts' short timeout.
	if _, err := l.Append(Entry{EventType: "E", Action: "a"}); err != nil {
		t.Fatal(err)
	}
}

func TestOpenContextAlreadyDoneCreatesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "never.jsonl")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, mode := range []LockMode{Exclusive, Shared} {
		if l, err := OpenContext(ctx, path, Options{Lock: mode}); l != nil || !errors.Is(err, context.Canceled) {
			t.Fatalf("mode %v: (%v, %v), want context.Canceled", mode, l, err)
		}
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the log was created: %v", err)
	}
}

func TestOpenContextShared(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.jsonl")
	l, err := OpenContext(context.Background(), path, Options{Lock: Shared})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if h, err := l.AppendContext(context.Background(), Entry{EventType: "E", Action: "a"}); err != nil || h.Seq != 1 {
		t.Fatalf("(%v, %v)", h, err)
	}
}

func TestAppendContext(t *testing.T) {
	_, l := contextTestLog(t)
	h, err := l.AppendContext(context.Background(), Entry{EventType: "E", Action: "first"})
	if err != nil || h.Seq != 1 {
		t.Fatalf("(%v, %v)", h, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.AppendContext(ctx, Entry{EventType: "E", Action: "never"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	head, err := l.Head()
	if err != nil || head.Seq != 1 {
		t.Fatalf("a cancelled append was written: head %v, %v", head, err)
	}
}

func TestVerifyContext(t *testing.T) {
	path, l := contextTestLog(t)
	for i := 0; i < 10; i++ {
		if _, err := l.Append(Entry{EventType: "E", Action: "a"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := VerifyContext(context.Background(), path, VerifyOptions{})
	if err != nil || !r.Valid || r.Entries != 10 {
		t.Fatalf("(%+v, %v)", r, err)
	}

	// A verification stuck (here: in its progress callback) is abandoned
	// when ctx is done, and the callback is not called after that.
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	calls := 0
	ctx, cancel := context.WithCancel(context.Background())
	opts := VerifyOptions{Progress: func(done, total uint64) {
		calls++
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release
	}}
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err = VerifyContext(ctx, path, opts)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("VerifyContext returned %v after the cancel", took)
	}
	<-entered
	callsAtReturn := calls
	close(release)
	// Later progress reports of the abandoned verification are dropped.
	time.Sleep(100 * time.Millisecond)
	if calls != callsAtReturn {
		t.Fatalf("progress called %d times after VerifyContext returned", calls-callsAtReturn)
	}
}
