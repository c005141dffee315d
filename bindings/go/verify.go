package evident

/*
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"runtime/cgo"
	"strconv"
	"time"
)

// ViolationKind is the kind of a verification violation (the numbers of
// the C ABI's evident_violation_kind).
type ViolationKind uint32

const (
	// KindHashMismatch: a record's stored hash is not the hash of its body.
	KindHashMismatch ViolationKind = C.EVIDENT_VIOLATION_KIND_HASH_MISMATCH
	// KindChainBreak: a record's prev is not the previous record's hash.
	KindChainBreak ViolationKind = C.EVIDENT_VIOLATION_KIND_CHAIN_BREAK
	// KindSeqGap: a record's seq is not one more than the previous record's.
	KindSeqGap ViolationKind = C.EVIDENT_VIOLATION_KIND_SEQ_GAP
	// KindMalformed: bytes that are not a record (bad framing, CRC, JSON or fields).
	KindMalformed ViolationKind = C.EVIDENT_VIOLATION_KIND_MALFORMED
	// KindTornTail: the file ends in an incomplete record (an interrupted
	// write); opening the log moves it aside. Nothing before it is damaged.
	KindTornTail ViolationKind = C.EVIDENT_VIOLATION_KIND_TORN_TAIL
	// KindWrongKey: the key does not match the log.
	KindWrongKey ViolationKind = C.EVIDENT_VIOLATION_KIND_WRONG_KEY
	// KindWrongLogID: the log id is not the expected one.
	KindWrongLogID ViolationKind = C.EVIDENT_VIOLATION_KIND_WRONG_LOG_ID
	// KindHeadMismatch: the log does not reach the expected head, or has
	// another hash there.
	KindHeadMismatch ViolationKind = C.EVIDENT_VIOLATION_KIND_HEAD_MISMATCH
	// KindUnsupported: the log needs a newer reader.
	KindUnsupported ViolationKind = C.EVIDENT_VIOLATION_KIND_UNSUPPORTED
)

// String returns the stable snake_case name of the kind (e.g.
// "hash_mismatch"), or "unknown".
func (k ViolationKind) String() string {
	return C.GoString(C.evident_violation_kind_name(C.uint32_t(k)))
}

// Violation is one problem found by Verify.
type Violation struct {
	Kind ViolationKind
	// Seq is the record's seq, valid when HasSeq (a record that could not
	// be read has none).
	Seq    uint64
	HasSeq bool
	// Line is the 1-based line of the record in a JSONL log; 0 in a binary
	// log and for violations about the whole log.
	Line uint64
	// Offset is the record's byte offset in the file.
	Offset uint64
	// Message is a one-line description.
	Message string
}

func (v Violation) String() string {
	seq := "none"
	if v.HasSeq {
		seq = strconv.FormatUint(v.Seq, 10)
	}
	return fmt.Sprintf("%s at seq %s, line %d, offset %d: %s", v.Kind, seq, v.Line, v.Offset, v.Message)
}

// VerifyOptions for Verify. The zero value verifies a keyless log, stops at
// the first violation and uses one worker per core.
type VerifyOptions struct {
	// Key is the HMAC key of a keyed log. A key for a keyless log (or no
	// key for a keyed one) is reported as a WrongKey violation.
	Key []byte
	// ExpectedHead is a head kept outside the log (from Log.Head or
	// Log.Append): the log must still contain that entry with that hash,
	// which detects truncation.
	ExpectedHead *Head
	// ExpectedLogID is the log id the log must have ("" = any).
	ExpectedLogID string
	// All reports every violation (up to 10000 kept, all counted) instead of
	// stopping at the first.
	All bool
	// Threads is the number of worker threads (0: one per core).
	Threads int
	// Progress, if set, is called on the calling goroutine with the bytes
	// checked so far and the file size.
	Progress func(done, total uint64)
	// InFlightWait is how long a torn tail (a record's beginning) is
	// watched for a writer still appending it, then reported as
	// Result.InFlightTail: 0 means the library's default (about 0.1 s); a
	// negative value looks once without a pause, for logs nobody appends
	// to any more. Rounded to milliseconds.
	InFlightWait time.Duration
}

// Result is the outcome of Verify.
type Result struct {
	// Valid is true when no violation was found.
	Valid bool
	// OnlyTornTail is true when the only problems are torn tails (an
	// interrupted write, not tampering; opening the log moves it aside).
	OnlyTornTail bool
	// NotALog is true when the file is not an evident log (spec § 9.2:
	// empty, in neither framing, or not starting with a readable genesis
	// record): nothing in it could be checked; report it as "not an evident
	// log", not as tampering.
	NotALog bool
	// Entries is the number of entry records read (the genesis is not
	// counted).
	Entries uint64
	// Head is the last complete record (Hash "" when the file has none).
	Head Head
	// LogID and KeyID come from the genesis ("" when unreadable / keyless).
	LogID string
	KeyID string
	// Framing is the file's framing (FramingAuto when it has none).
	Framing Framing
	// Alg is the log's algorithm (AlgAuto when unreadable).
	Alg Alg
	// Bytes is the file size.
	Bytes uint64
	// Violations kept, in file order (at most one unless All was set).
	Violations []Violation
	// ViolationsTotal is the number of violations found (may exceed
	// len(Violations)).
	ViolationsTotal uint64
	// InFlightTail is the number of bytes at the end of the file that were
	// a record being written while verify ran (not a violation, not
	// checked); 0 when none.
	InFlightTail uint64
}

// First returns the first violation (lowest offset), or nil for a valid log.
func (r *Result) First() *Violation {
	if len(r.Violations) == 0 {
		return nil
	}
	return &r.Violations[0]
}

// progressState is what the C progress callback reaches through a cgo.Handle.
type progressState struct {
	fn       func(done, total uint64)
	panicked any
}

//export evidentGoProgress
func evidentGoProgress(h C.uintptr_t, done, total C.uint64_t) {
	p := cgo.Handle(h).Value().(*progressState)
	if p.panicked != nil {
		return
	}
	// A Go panic must not unwind through the library's frames: keep it
	// and re-raise it once Verify is back in Go.
	defer func() {
		if r := recover(); r != nil {
			p.panicked = r
		}
	}()
	p.fn(uint64(done), uint64(total))
}

// Verify checks the whole log at path: every hash, link and seq, the key,
// and the expectations in opts. It returns an error only when the file
// could not be checked (e.g. ErrIO for a missing file); whether the log is
// valid is in the Result.
func Verify(path string, opts VerifyOptions) (Result, error) {
	var s cstrings
	defer s.wipe()
	if hasNUL(path) || hasNUL(opts.ExpectedLogID) {
		return Result{}, goError(StatusInvalidArgument, "evident: path or log id contains a NUL byte")
	}
	if opts.Threads < 0 {
		return Result{}, goError(StatusInvalidArgument, "evident: Threads must not be negative")
	}
	a := C.evgo_verify_args{
		path:            s.add(path),
		expected_hash:   -1,
		expected_log_id: s.addOpt(opts.ExpectedLogID),
		all:             C.bool(opts.All),
		threads:         C.size_t(opts.Threads),
	}
	if w := opts.InFlightWait; w != 0 {
		a.set_in_flight_wait = true
		a.in_flight_wait_ms = C.uint64_t(max(w, 0).Round(time.Millisecond) / time.Millisecond)
	}
	if opts.ExpectedHead != nil {
		if hasNUL(opts.ExpectedHead.Hash) {
			return Result{}, goError(StatusInvalidArgument, "evident: expected head hash contains a NUL byte")
		}
		a.set_expected_head = true
		a.expected_seq = C.uint64_t(opts.ExpectedHead.Seq)
		a.expected_hash = s.add(opts.ExpectedHead.Hash)
	}
	// The key goes last, so that no reallocation leaves a copy of it behind
	// unwiped.
	a.key, a.key_len = s.addBytes(opts.Key), C.size_t(len(opts.Key))
	var ps *progressState
	if opts.Progress != nil {
		ps = &progressState{fn: opts.Progress}
		h := cgo.NewHandle(ps)
		defer h.Delete()
		a.progress = C.uintptr_t(h)
	}
	var res *C.evident_verify_result
	var v C.evgo_result_view
	var msg *C.char
	st := C.evgo_verify(s.ptr(), &a, &res, &v, &msg)
	runtime.KeepAlive(&s)
	defer C.evident_verify_result_free(res)
	if ps != nil && ps.panicked != nil {
		panic(ps.panicked)
	}
	if err := statusError(st, msg); err != nil {
		return Result{}, err
	}
	r := Result{
		Valid:           bool(v.valid),
		OnlyTornTail:    bool(v.only_torn_tail),
		NotALog:         bool(v.not_a_log),
		Entries:         uint64(v.entries),
		Head:            Head{Seq: uint64(v.head_seq), Hash: goStringOpt(v.head_hash)},
		LogID:           goStringOpt(v.log_id),
		KeyID:           goStringOpt(v.key_id),
		Framing:         Framing(v.framing),
		Alg:             Alg(v.alg),
		Bytes:           uint64(v.bytes),
		ViolationsTotal: uint64(v.violations_total),
		InFlightTail:    uint64(v.in_flight_tail),
	}
	if v.violation_count > 0 {
		r.Violations = make([]Violation, 0, int(v.violation_count))
	}
	for i := C.size_t(0); i < v.violation_count; i++ {
		var vv C.evgo_violation_view
		st := C.evgo_verify_violation(res, i, &vv, &msg)
		if err := statusError(st, msg); err != nil {
			return Result{}, err
		}
		r.Violations = append(r.Violations, Violation{
			Kind:    ViolationKind(vv.kind),
			Seq:     uint64(vv.seq),
			HasSeq:  bool(vv.has_seq),
			Line:    uint64(vv.line),
			Offset:  uint64(vv.offset),
			Message: goStringOpt(vv.message),
		})
	}
	return r, nil
}
