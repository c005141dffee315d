package evident

/*
#include "shim.h"
*/
import "C"

import (
	"encoding/json"
	"iter"
	"runtime"
	"sync"
	"time"
)

// QueryOptions selects and orders the entries read by Query, ReadEntries
// and Entries. Every filter set must match; string filters match exactly,
// and "" means no filter. The zero value reads every entry, oldest first.
type QueryOptions struct {
	SessionID string
	EventType string
	Action    string
	Actor     string
	Source    string
	// Since keeps entries with ts >= Since (zero: no filter).
	Since time.Time
	// Until keeps entries with ts < Until (zero: no filter).
	Until time.Time
	// SeqMin keeps entries with seq >= SeqMin (0: no filter).
	SeqMin uint64
	// SeqMax keeps entries with seq <= SeqMax (0: no filter).
	SeqMax uint64
	// Order (zero: OldestFirst).
	Order Order
	// Limit returns at most Limit entries (0: no limit).
	Limit int
}

// Iterator reads the entries matching a query:
//
//	it, err := evident.Query(path, evident.QueryOptions{})
//	if err != nil { ... }
//	defer it.Close()
//	for it.Next() {
//		e := it.Entry()
//	}
//	if err := it.Err(); err != nil { ... }
//
// Next stops at the first error (a damaged record gives ErrMalformed naming
// its position); Entries goes on past damaged records instead. An Iterator
// is meant for one goroutine at a time.
type Iterator struct {
	mu    sync.Mutex
	h     *C.evident_query_iter
	entry *C.evident_entry // the last entry read, freed by the next call
	cur   Entry
	err   error
	path  string
}

// Query opens the log at path for reading and returns an iterator over the
// entries matching q. Query does not check hashes (that is Verify's job) and
// never returns a torn last record.
func Query(path string, q QueryOptions) (*Iterator, error) {
	var s cstrings
	for _, f := range []string{path, q.SessionID, q.EventType, q.Action, q.Actor, q.Source} {
		if hasNUL(f) {
			return nil, goError(StatusInvalidArgument, "evident: path or query filter contains a NUL byte")
		}
	}
	if q.Limit < 0 {
		return nil, goError(StatusInvalidArgument, "evident: Limit must not be negative")
	}
	a := C.evgo_query_args{
		path:       s.add(path),
		session_id: s.addOpt(q.SessionID),
		event_type: s.addOpt(q.EventType),
		action:     s.addOpt(q.Action),
		actor:      s.addOpt(q.Actor),
		source:     s.addOpt(q.Source),
		since:      -1,
		until:      -1,
		seq_min:    C.uint64_t(q.SeqMin),
		seq_max:    ^C.uint64_t(0),
		order:      C.uint32_t(q.Order),
	}
	if !q.Since.IsZero() {
		a.since = s.add(timeText(q.Since))
	}
	if !q.Until.IsZero() {
		a.until = s.add(timeText(q.Until))
	}
	if q.SeqMax != 0 {
		a.seq_max = C.uint64_t(q.SeqMax)
	}
	if q.Limit != 0 {
		a.set_limit, a.limit = true, C.size_t(q.Limit)
	}
	var h *C.evident_query_iter
	var msg *C.char
	st := C.evgo_query_run(s.ptr(), &a, &h, &msg)
	runtime.KeepAlive(&s)
	if err := statusError(st, msg); err != nil {
		return nil, err
	}
	it := &Iterator{h: h, path: path}
	runtime.SetFinalizer(it, (*Iterator).Close)
	return it, nil
}

// next advances the C iterator: (entry, true, nil), (_, false, nil) at the
// end, or (_, true, err) for a damaged record (calling again goes on with
// the next record where the framing allows).
func (it *Iterator) next() (Entry, bool, error) {
	it.mu.Lock()
	defer it.mu.Unlock()
	if it.h == nil {
		return Entry{}, false, nil
	}
	var v C.evgo_entry_view
	var msg *C.char
	e := it.entry
	st := C.evgo_query_next(it.h, &e, &v, &msg)
	it.entry = e
	runtime.KeepAlive(it)
	if Status(st) == StatusEnd {
		return Entry{}, false, nil
	}
	if err := statusError(st, msg); err != nil {
		return Entry{}, true, err
	}
	return entryFromView(&v), true, nil
}

// Next advances to the next entry. It returns false at the end, after an
// error (see Err) and after Close.
func (it *Iterator) Next() bool {
	if it.err != nil {
		return false
	}
	e, ok, err := it.next()
	if err != nil {
		it.err = err
		it.cur = Entry{}
		return false
	}
	it.cur = e
	return ok
}

// Entry returns the entry Next advanced to.
func (it *Iterator) Entry() Entry { return it.cur }

// Err returns the error that stopped Next, if any.
func (it *Iterator) Err() error { return it.err }

// Close frees the iterator. Closing twice is fine.
func (it *Iterator) Close() error {
	it.mu.Lock()
	defer it.mu.Unlock()
	if it.h == nil {
		return nil
	}
	runtime.SetFinalizer(it, nil)
	C.evgo_query_close(it.h, it.entry)
	it.h, it.entry = nil, nil
	return nil
}

// ReadEntries returns the entries matching q. On an error it returns the
// entries read before it with the error.
func ReadEntries(path string, q QueryOptions) ([]Entry, error) {
	it, err := Query(path, q)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []Entry
	for it.Next() {
		out = append(out, it.Entry())
	}
	return out, it.Err()
}

// Entries returns an iterator over the entries matching q, for range loops:
//
//	for e, err := range evident.Entries(path, evident.QueryOptions{}) {
//		if err != nil { ... } // a damaged record: skip it, or break
//	}
//
// Opening failures are yielded as one error. A damaged record yields an
// error and, when the loop goes on, reading continues with the next record
// where the framing allows.
func Entries(path string, q QueryOptions) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		it, err := Query(path, q)
		if err != nil {
			yield(Entry{}, err)
			return
		}
		defer it.Close()
		for {
			e, ok, err := it.next()
			if !ok {
				return
			}
			if !yield(e, err) {
				return
			}
		}
	}
}

func entryFromView(v *C.evgo_entry_view) Entry {
	e := Entry{
		Seq:       uint64(v.seq),
		Time:      time.UnixMicro(int64(v.ts_unix_us)).UTC(),
		EventType: goStringOpt(v.event_type),
		Action:    goStringOpt(v.action),
		Actor:     goStringOpt(v.actor),
		Host:      goStringOpt(v.host),
		SessionID: goStringOpt(v.session_id),
		Source:    goStringOpt(v.source),
		OTR:       bool(v.otr),
		Error:     goStringOpt(v.error),
		Note:      goStringOpt(v.note),
		GitCommit: goStringOpt(v.git_commit),
		Details:   json.RawMessage(goStringOpt(v.details_json)),
		Prev:      goStringOpt(v.prev),
		Hash:      goStringOpt(v.hash),
	}
	if v.has_success {
		e.Success = Ptr(bool(v.success))
	}
	if v.has_duration_ms {
		e.DurationMs = Ptr(float64(v.duration_ms))
	}
	return e
}
