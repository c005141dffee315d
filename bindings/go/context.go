package evident

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// lockSlice is how long one attempt of OpenContext waits for an Exclusive
// lock before it looks at the context again.
const lockSlice = 50 * time.Millisecond

// ErrOutcomeUnknown is joined to the context's error when AppendContext
// returns before a started append finished: the entry may or may not be in
// the log (Head, Sync or Close afterwards tell).
var ErrOutcomeUnknown = errors.New("evident: the append goes on; whether the entry is in the log is not known yet")

// OpenContext is Open that gives up waiting for the lock when ctx is done.
//
// In Exclusive mode the wait for another writer's lock (up to
// opts.LockTimeout, and never past ctx's deadline) is made of short
// attempts, so a cancelled ctx ends it within about 50 ms; the error then
// matches both ctx.Err() and ErrLocked (errors.Is). Nothing is left
// behind.
//
// In Shared mode LockTimeout also bounds each later append, so it is not
// cut into attempts: Open runs on another goroutine and OpenContext returns
// ctx.Err() as soon as ctx is done; the abandoned open ends within
// LockTimeout and a log it opened is closed at once.
func OpenContext(ctx context.Context, path string, opts Options) (*Log, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if opts.LockTimeout < 0 {
		return nil, goError(StatusInvalidArgument, "evident: LockTimeout must not be negative")
	}
	if opts.Lock == Shared {
		return openShared(ctx, path, opts)
	}
	if opts.LockTimeout == 0 {
		// Exclusive without a wait: Open does not block on the lock.
		return Open(path, opts)
	}
	end := time.Now().Add(opts.LockTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(end) {
		end = d
	}
	for {
		attempt := opts
		left := time.Until(end)
		if left < time.Millisecond {
			left = time.Millisecond
		}
		attempt.LockTimeout = min(left, lockSlice)
		l, err := Open(path, attempt)
		if err == nil || !errors.Is(err, ErrLocked) {
			return l, err
		}
		if cerr := ctx.Err(); cerr != nil {
			return nil, errors.Join(cerr, err)
		}
		if !time.Now().Before(end) {
			if d, ok := ctx.Deadline(); ok && !d.After(end) {
				// The wait ended at ctx's deadline, which may not have
				// marked ctx done yet (its timer fires asynchronously):
				// the error still matches ctx.Err(), as documented.
				return nil, errors.Join(context.DeadlineExceeded, err)
			}
			return nil, err
		}
	}
}

func openShared(ctx context.Context, path string, opts Options) (*Log, error) {
	type result struct {
		l   *Log
		err error
	}
	done := make(chan result, 1)
	go func() {
		l, err := Open(path, opts)
		done <- result{l, err}
	}()
	select {
	case r := <-done:
		return r.l, r.err
	case <-ctx.Done():
		go func() {
			if r := <-done; r.l != nil {
				_ = r.l.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// AppendContext is Append for callers that must not wait past ctx for a
// durable append (Sync or GroupCommit durability waits for the disk).
//
// When ctx is done before the append starts, nothing is written and the
// error is ctx.Err(). An append that has started cannot be withdrawn (an
// fsync cannot be interrupted, and the entry may already be in the file):
// if ctx ends while it runs, AppendContext returns an error matching both
// ctx.Err() and ErrOutcomeUnknown, and the append completes on its own;
// Head, Sync or Close afterwards show whether the entry was written.
func (l *Log) AppendContext(ctx context.Context, e Entry) (Head, error) {
	if err := ctx.Err(); err != nil {
		return Head{}, err
	}
	type result struct {
		h   Head
		err error
	}
	done := make(chan result, 1)
	go func() {
		h, err := l.Append(e)
		done <- result{h, err}
	}()
	select {
	case r := <-done:
		return r.h, r.err
	case <-ctx.Done():
		return Head{}, errors.Join(ctx.Err(), ErrOutcomeUnknown)
	}
}

// VerifyContext is Verify that returns ctx.Err() as soon as ctx is done.
//
// The library has no way yet to stop a verification in progress: an
// abandoned verification runs to its end on another goroutine (reading the
// file, using opts.Threads workers) and its result is discarded; a progress
// callback in opts is not called again once VerifyContext has returned (a
// call already running when ctx ended is not waited for).
func VerifyContext(ctx context.Context, path string, opts VerifyOptions) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	type result struct {
		r   Result
		err error
	}
	done := make(chan result, 1)
	var stopped atomic.Bool
	if p := opts.Progress; p != nil {
		opts.Progress = func(d, t uint64) {
			if !stopped.Load() {
				p(d, t)
			}
		}
	}
	go func() {
		r, err := Verify(path, opts)
		done <- result{r, err}
	}()
	select {
	case r := <-done:
		return r.r, r.err
	case <-ctx.Done():
		stopped.Store(true)
		return Result{}, fmt.Errorf("evident: verify %s abandoned: %w", path, ctx.Err())
	}
}
