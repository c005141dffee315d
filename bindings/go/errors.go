package evident

/*
#include "shim.h"
*/
import "C"

import (
	"errors"
	"io/fs"
	"strconv"
	"strings"
	"syscall"
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
	StatusRolledBack      Status = C.EVIDENT_STATUS_ROLLED_BACK
	StatusDatabase        Status = C.EVIDENT_STATUS_DATABASE
	StatusRefused         Status = C.EVIDENT_STATUS_REFUSED
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
	ErrForked = errors.New("evident: the log was opened by another process; reopen it after fork")
	// ErrRolledBack: a shared-mode writer found the log cut back (or
	// rewritten) below an entry it appended itself; nothing was appended.
	ErrRolledBack = errors.New("evident: the log was cut back below an entry this writer appended")
	// ErrDatabase: a PostgreSQL error (connection, permission, schema); the
	// message names the database without its password.
	ErrDatabase = errors.New("evident: database error")
	// ErrRefused: shipping refused entries that do not continue the
	// database's chain for their log (a fork, a rewritten or truncated
	// local file); nothing was inserted and the refusal was recorded.
	ErrRefused      = errors.New("evident: the database refused entries that do not continue its chain")
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
	StatusRolledBack:      ErrRolledBack,
	StatusDatabase:        ErrDatabase,
	StatusRefused:         ErrRefused,
	StatusNullArgument:    ErrNullArgument,
	StatusInvalidUTF8:     ErrInvalidUTF8,
	StatusPanic:           ErrInternal,
}

// Error is an error reported by the library: its status and its one-line
// message, which names the file and, where there is one, the entry.
//
// An I/O error (StatusIO) also carries the operating-system error code and
// the file the OS refused (which may be the lock file or a sidecar rather
// than the log), and unwraps to a *fs.PathError with that syscall.Errno, so
//
//	errors.Is(err, fs.ErrNotExist)          // a missing log
//	errors.Is(err, syscall.ENOSPC)          // disk full
//	var pe *fs.PathError; errors.As(err, &pe)
//
// work as for the os package's errors.
type Error struct {
	Status  Status
	Message string
	// Errno is the OS error code of an I/O error (0 when there is none).
	Errno syscall.Errno
	// Path is the file the error is about, when the library named one.
	Path string
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

// Unwrap returns, for an I/O error with an OS error code, the
// *fs.PathError (Op, Path, and the syscall.Errno) it stands for; nil
// otherwise.
func (e *Error) Unwrap() error {
	if e.Status != StatusIO || e.Errno == 0 {
		return nil
	}
	return &fs.PathError{Op: e.op(), Path: e.Path, Err: e.Errno}
}

// op is the operation of an I/O error, from its message
// "<path>: <op>: <OS message>"; "evident" when the message has another form.
func (e *Error) op() string {
	rest, ok := strings.CutPrefix(e.Message, e.Path+": ")
	if !ok || e.Path == "" {
		return "evident"
	}
	op, _, ok := strings.Cut(rest, ": ")
	if !ok || op == "" {
		return "evident"
	}
	return op
}

// statusError converts a status and the error copied by the shim's
// take_error (malloc'd, freed here: an int32 errno, the path and the message,
// each string NUL-terminated) into an error; nil for OK and END.
func statusError(st C.evident_status, msg *C.char) error {
	var m, path string
	var code int32
	if msg != nil {
		base := unsafe.Pointer(msg)
		code = *(*int32)(base)
		p := (*C.char)(unsafe.Add(base, 4))
		path = C.GoString(p)
		m = C.GoString((*C.char)(unsafe.Add(base, 4+len(path)+1)))
		C.free(base)
	}
	if Status(st) == StatusOK || Status(st) == StatusEnd {
		return nil
	}
	return &Error{Status: Status(st), Message: m, Errno: syscall.Errno(code), Path: path}
}

// goError is an error detected on the Go side before calling the library
// (a string with a NUL byte, a closed handle).
func goError(st Status, msg string) error {
	return &Error{Status: st, Message: msg}
}
