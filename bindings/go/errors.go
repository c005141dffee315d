package evident

/*
#include "shim.h"
*/
import "C"

import (
	"errors"
	"strconv"
	"unsafe"
)

// Status is a status code of the C ABI (evident_status). The numbers are
// stable: 1–99 are the kinds of the library's errors, 100–199 errors of the
// C boundary.
type Status uint32

const (
	StatusOK              Status = C.EVIDENT_STATUS_OK
	StatusIO              Status = C.EVIDENT_STATUS_IO
	StatusMalformed       Status = C.EVIDENT_STATUS_MALFORMED
	StatusCorrupt         Status = C.EVIDENT_STATUS_CORRUPT
	StatusWrongKey        Status = C.EVIDENT_STATUS_WRONG_KEY
	StatusLocked          Status = C.EVIDENT_STATUS_LOCKED
	StatusInvalidArgument Status = C.EVIDENT_STATUS_INVALID_ARGUMENT
	StatusTooLarge        Status = C.EVIDENT_STATUS_TOO_LARGE
	StatusPoisoned        Status = C.EVIDENT_STATUS_POISONED
	StatusUnsupported     Status = C.EVIDENT_STATUS_UNSUPPORTED
	StatusClosed          Status = C.EVIDENT_STATUS_CLOSED
	StatusNotFound        Status = C.EVIDENT_STATUS_NOT_FOUND
	StatusLayerLocked     Status = C.EVIDENT_STATUS_LAYER_LOCKED
	StatusForked          Status = C.EVIDENT_STATUS_FORKED
	StatusNullArgument    Status = C.EVIDENT_STATUS_NULL_ARGUMENT
	StatusInvalidUTF8     Status = C.EVIDENT_STATUS_INVALID_UTF8
	StatusPanic           Status = C.EVIDENT_STATUS_PANIC
	StatusEnd             Status = C.EVIDENT_STATUS_END
)

// String returns the C name of the status, e.g. "EVIDENT_STATUS_LOCKED".
func (s Status) String() string {
	return C.GoString(C.evident_status_name(C.uint32_t(s)))
}

// Sentinel errors, one per status. Every error returned by this package is
// an *Error whose Is method matches the sentinel of its status:
//
//	if errors.Is(err, evident.ErrLocked) { ... }
//
// Use errors.As with *Error for the status and the library's message.
var (
	ErrIO              = errors.New("evident: I/O error")
	ErrMalformed       = errors.New("evident: not an evident log, or its structure is damaged")
	ErrCorrupt         = errors.New("evident: the log's last record fails its hash check")
	ErrWrongKey        = errors.New("evident: the key does not match the log")
	ErrLocked          = errors.New("evident: another writer holds the log's lock")
	ErrInvalidArgument = errors.New("evident: invalid argument")
	ErrTooLarge        = errors.New("evident: entry too large")
	ErrPoisoned        = errors.New("evident: an earlier write or fsync failed; reopen the log")
	ErrUnsupported     = errors.New("evident: the log needs a newer version of this library")
	ErrClosed          = errors.New("evident: the log is closed")
	ErrNotFound        = errors.New("evident: no such trace or layer")
	ErrLayerLocked     = errors.New("evident: the annotation layer is locked")
	// ErrForked: the log handle was opened by another process (inherited
	// over fork() by C code in this process); nothing was written. Go
	// programs do not fork without exec, so this means a cgo dependency
	// forked: open the log again in the new process.
	ErrForked       = errors.New("evident: the log was opened by another process; reopen it after fork")
	ErrNullArgument = errors.New("evident: null argument")
	ErrInvalidUTF8  = errors.New("evident: a string is not valid UTF-8")
	ErrInternal     = errors.New("evident: internal error (a panic was caught in the library)")
)

var sentinels = map[Status]error{
	StatusIO:              ErrIO,
	StatusMalformed:       ErrMalformed,
	StatusCorrupt:         ErrCorrupt,
	StatusWrongKey:        ErrWrongKey,
	StatusLocked:          ErrLocked,
	StatusInvalidArgument: ErrInvalidArgument,
	StatusTooLarge:        ErrTooLarge,
	StatusPoisoned:        ErrPoisoned,
	StatusUnsupported:     ErrUnsupported,
	StatusClosed:          ErrClosed,
	StatusNotFound:        ErrNotFound,
	StatusLayerLocked:     ErrLayerLocked,
	StatusForked:          ErrForked,
	StatusNullArgument:    ErrNullArgument,
	StatusInvalidUTF8:     ErrInvalidUTF8,
	StatusPanic:           ErrInternal,
}

// Error is an error reported by the library: its status and its one-line
// message, which names the file and, where there is one, the entry.
type Error struct {
	Status  Status
	Message string
}

func (e *Error) Error() string {
	if e.Message != "" {
		return e.Message
	}
	if s, ok := sentinels[e.Status]; ok {
		return s.Error()
	}
	return "evident: status " + strconv.FormatUint(uint64(e.Status), 10)
}

// Is reports whether target is the sentinel of e's status. A string that
// is not UTF-8 is an invalid argument too: ErrInvalidUTF8 errors also match
// ErrInvalidArgument. Two *Error values match when status and message are
// equal.
func (e *Error) Is(target error) bool {
	if t, ok := target.(*Error); ok {
		return t.Status == e.Status && t.Message == e.Message
	}
	if s, ok := sentinels[e.Status]; ok && s == target {
		return true
	}
	return e.Status == StatusInvalidUTF8 && target == ErrInvalidArgument
}

// statusError converts a status and a message copied by the shim (malloc'd,
// freed here) into an error; nil for OK and END.
func statusError(st C.evident_status, msg *C.char) error {
	var m string
	if msg != nil {
		m = C.GoString(msg)
		C.free(unsafe.Pointer(msg))
	}
	if Status(st) == StatusOK || Status(st) == StatusEnd {
		return nil
	}
	return &Error{Status: Status(st), Message: m}
}

// goError is an error detected on the Go side before calling the library
// (a string with a NUL byte, a closed handle).
func goError(st Status, msg string) error {
	return &Error{Status: st, Message: msg}
}
