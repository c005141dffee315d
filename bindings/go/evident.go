// Package evident is the Go binding of evident: tamper-evident, crash-safe,
// append-only audit logs (a JSONL or binary framing carrying one SHA-256 /
// HMAC-SHA256 / HMAC-SHA512 hash chain).
//
// The whole engine runs in-process: this package is a thin cgo wrapper over
// the library's C ABI (include/evident.h): the installed libevident found
// through pkg-config, or with -tags evident_dev the repository's
// target/release/libevident.a (see README.md in this directory).
//
// Writing:
//
//	l, err := evident.Open("audit.jsonl", evident.Options{Durability: evident.GroupCommit})
//	if err != nil { ... }
//	defer l.Close()
//	head, err := l.Append(evident.Entry{EventType: "ACTION_EXECUTED", Action: "load_trace",
//		Details: map[string]any{"file": "scope.bin"}})
//
// Checking and reading:
//
//	res, err := evident.Verify("audit.jsonl", evident.VerifyOptions{})
//	entries, err := evident.ReadEntries("audit.jsonl", evident.QueryOptions{Order: evident.NewestFirst, Limit: 10})
//
// Structured logging: slog.New(evident.NewSlogHandler(l, nil)).
//
// Errors are *Error values carrying the library's one-line message (naming
// the file and the entry); compare them with errors.Is against ErrIO,
// ErrMalformed, ErrCorrupt, ErrWrongKey, ErrLocked, ... .
//
// A *Log is safe for concurrent use by several goroutines (appends are
// serialised by the library; with GroupCommit concurrent appenders share
// fsyncs). Close it explicitly; a finalizer closes a forgotten Log only as a
// fallback.
//
// A *Log belongs to the process that opened it. Go programs do not fork
// without exec, so this only matters when C code in the program calls
// fork(): the child's calls on an inherited *Log fail with ErrForked and
// write nothing (the slog handler panics on it); open the log again there.
package evident

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#include "shim.h"
*/
import "C"

import (
	"strconv"
	"strings"
	"unsafe"
)

// Version returns the version of the linked library (e.g. "0.1.0").
func Version() string { return C.GoString(C.evident_version()) }

// ABIVersion returns the C ABI version of the linked library,
// (major << 16) | minor.
func ABIVersion() uint32 { return uint32(C.evident_abi_version()) }

// HeaderABIVersion is the C ABI version of the header this package was
// compiled against.
const HeaderABIVersion uint32 = C.EVIDENT_ABI_VERSION

// Framing is the on-disk framing of a log.
type Framing uint32

const (
	// FramingAuto: new logs are binary when the path ends in .evl or .bin,
	// JSONL otherwise; existing logs keep their framing.
	FramingAuto Framing = C.EVIDENT_FRAMING_AUTO
	// JSONL: one JSON object per line.
	JSONL Framing = C.EVIDENT_FRAMING_JSONL
	// Binary: CRC-protected binary frames.
	Binary Framing = C.EVIDENT_FRAMING_BINARY
)

func (f Framing) String() string {
	switch f {
	case FramingAuto:
		return "auto"
	case JSONL:
		return "jsonl"
	case Binary:
		return "binary"
	}
	return "Framing(" + strconv.FormatUint(uint64(f), 10) + ")"
}

// Alg is the hash algorithm of a log's chain.
type Alg uint32

const (
	// AlgAuto: HMAC-SHA256 when a key is set, SHA-256 otherwise.
	AlgAuto Alg = C.EVIDENT_ALG_AUTO
	// SHA256 is keyless SHA-256.
	SHA256 Alg = C.EVIDENT_ALG_SHA256
	// HMACSHA256 is HMAC-SHA256 (needs a key).
	HMACSHA256 Alg = C.EVIDENT_ALG_HMAC_SHA256
	// HMACSHA512 is HMAC-SHA512 (needs a key).
	HMACSHA512 Alg = C.EVIDENT_ALG_HMAC_SHA512
)

func (a Alg) String() string {
	switch a {
	case AlgAuto:
		return "auto"
	case SHA256:
		return "sha256"
	case HMACSHA256:
		return "hmac-sha256"
	case HMACSHA512:
		return "hmac-sha512"
	}
	return "Alg(" + strconv.FormatUint(uint64(a), 10) + ")"
}

// Durability says when an append is durable. The zero value is the library
// default, Sync.
type Durability uint32

const (
	// Sync: every append is fsynced before it returns (the default).
	Sync Durability = C.EVIDENT_DURABILITY_SYNC
	// GroupCommit: concurrent appenders share one fsync; each append
	// returns once its entry is durable.
	GroupCommit Durability = C.EVIDENT_DURABILITY_GROUP_COMMIT
	// Buffered: entries are durable only after Sync or Close.
	Buffered Durability = C.EVIDENT_DURABILITY_BUFFERED
)

// LockMode says how writers share a log. The zero value is the library
// default, Exclusive.
type LockMode uint32

const (
	// Exclusive: one writer holds the lock while the log is open.
	Exclusive LockMode = C.EVIDENT_LOCK_MODE_EXCLUSIVE
	// Shared: several processes append; each append takes the lock briefly.
	Shared LockMode = C.EVIDENT_LOCK_MODE_SHARED
)

// Order is the reading order of a query. The zero value is OldestFirst.
type Order uint32

const (
	// OldestFirst reads from the first entry to the last.
	OldestFirst Order = C.EVIDENT_ORDER_OLDEST_FIRST
	// NewestFirst reads backward from the end ("the last N entries" costs O(N)).
	NewestFirst Order = C.EVIDENT_ORDER_NEWEST_FIRST
)

// Head is a chain head: the number of entries (the seq of the last one, 0
// for a log without entries) and the hash of the last record, lowercase
// hex. Keep it outside the log to detect truncation later
// (VerifyOptions.ExpectedHead).
type Head struct {
	Seq  uint64
	Hash string
}

func headFromC(h *C.evident_head) Head {
	return Head{Seq: uint64(h.seq), Hash: C.GoString(&h.hash[0])}
}

// cstrings collects NUL-terminated strings (and raw byte strings) in one Go
// buffer handed to the C helpers with offsets into it: no C allocation, and
// the buffer is only read during the call.
type cstrings struct {
	b []byte
}

// add appends s and returns its offset. A string containing a NUL byte
// cannot be passed to C; the caller checks with hasNUL first.
func (c *cstrings) add(s string) C.int32_t {
	off := len(c.b)
	c.b = append(c.b, s...)
	c.b = append(c.b, 0)
	return C.int32_t(off)
}

// addOpt is add, or -1 (NULL) for "".
func (c *cstrings) addOpt(s string) C.int32_t {
	if s == "" {
		return -1
	}
	return c.add(s)
}

// addBytes appends raw bytes (a key) and returns their offset, -1 for nil.
func (c *cstrings) addBytes(p []byte) C.int32_t {
	if p == nil {
		return -1
	}
	off := len(c.b)
	c.b = append(c.b, p...)
	c.b = append(c.b, 0)
	return C.int32_t(off)
}

// ptr returns the buffer's address for the call (valid while c is alive).
func (c *cstrings) ptr() *C.char {
	if len(c.b) == 0 {
		c.b = append(c.b, 0)
	}
	return (*C.char)(unsafe.Pointer(&c.b[0]))
}

// wipe zeroes the buffer (it may hold a key).
func (c *cstrings) wipe() {
	clear(c.b)
}

func hasNUL(s string) bool { return strings.IndexByte(s, 0) >= 0 }

// goStringOpt is C.GoString that maps NULL to "".
func goStringOpt(p *C.char) string {
	if p == nil {
		return ""
	}
	return C.GoString(p)
}
