package evident

// TraceKit compatibility (seeds 000 and 001): TraceKit's audit-log export
// (AuditTrail.export_audit_log) and its get_entries filter, through the C
// ABI's evident_tracekit_export(_file) and evident_tracekit_filter (the logic is
// the library's, shared with the Python compat module).

/*
#include "shim.h"

// One C call per function that also copies the failure message (the
// library keeps it per OS thread; a goroutine may move between calls).
static evident_status evgo_tracekit_export(const char *alg, const uint8_t *key, size_t key_len,
                                           const char *entries, const char *format, char **out,
                                           char **msg) {
    evident_status st = evident_tracekit_export(alg, key, key_len, entries, format, out);
    *msg = evgo_take_error(st);
    return st;
}

static evident_status evgo_tracekit_export_file(const char *alg, const uint8_t *key,
                                                size_t key_len, const char *entries,
                                                const char *format, const char *path,
                                                char **msg) {
    evident_status st = evident_tracekit_export_file(alg, key, key_len, entries, format, path);
    *msg = evgo_take_error(st);
    return st;
}

static evident_status evgo_tracekit_filter(const char *entries, const char *since,
                                           const char *action, char **out, char **msg) {
    evident_status st = evident_tracekit_filter(entries, since, action, out);
    *msg = evgo_take_error(st);
    return st;
}
*/
import "C"

import (
	"time"
	"unsafe"
)

// TraceKitEntry is one entry of a TraceKit audit trail (TraceKit's
// AuditEntry). Details is any JSON value; pass a json.RawMessage to keep
// the order of its members and its integers exactly as written (a Go map
// is encoded with sorted keys). PreviousHash and HMAC left empty are
// computed by TraceKitExport (HMAC over
// timestamp|action|json.dumps(details, sort_keys=True)|user|host|previous_hash,
// the first previous_hash "GENESIS"); given, they are written as they are.
type TraceKitEntry struct {
	Timestamp    string `json:"timestamp"`
	Action       string `json:"action"`
	Details      any    `json:"details"`
	User         string `json:"user"`
	Host         string `json:"host"`
	PreviousHash string `json:"previous_hash,omitempty"`
	HMAC         string `json:"hmac,omitempty"`
}

// TraceKitExport returns the text of TraceKit's export_audit_log file for
// entries: format "json" ({"version": "1.0", "hash_algorithm", "entries"},
// as Python's json.dump(..., indent=2), details in their order) or "csv"
// (TraceKit's columns, Python's csv line ends "\r\n"; "" for no entries).
// algorithm is "sha256" or "sha512"; the key may have any length.
func TraceKitExport(entries []TraceKitEntry, algorithm string, key []byte, format string) (string, error) {
	b, kp, err := traceKitArgs(entries, key, "algorithm", algorithm, "format", format)
	if err != nil {
		return "", err
	}
	return textC(func(out, msg **C.char) C.evident_status {
		return C.evgo_tracekit_export(cstr(algorithm), kp, C.size_t(len(key)), cstr(b),
			cstr(format), out, msg)
	})
}

// traceKitArgs checks the string arguments (name, value pairs) and entries
// and gives the entries' JSON text and the key's pointer (nil when empty).
func traceKitArgs(entries []TraceKitEntry, key []byte, strs ...string) (string, *C.uint8_t, error) {
	if err := checkStrings(strs...); err != nil {
		return "", nil, err
	}
	if err := checkValue("entries", entries); err != nil {
		return "", nil, err
	}
	if entries == nil {
		entries = []TraceKitEntry{}
	}
	b, err := encodeJSON(entries)
	if err != nil {
		return "", nil, err
	}
	var kp *C.uint8_t
	if len(key) > 0 {
		kp = (*C.uint8_t)(unsafe.Pointer(&key[0]))
	}
	return string(b), kp, nil
}

// TraceKitExportFile writes TraceKitExport's text to the file at path
// (created or truncated; the directory must exist). The file holds the
// exact text, including a NUL character a field holds, which the string
// TraceKitExport returns through the C ABI cannot carry.
func TraceKitExportFile(entries []TraceKitEntry, algorithm string, key []byte, format, path string) error {
	b, kp, err := traceKitArgs(entries, key, "algorithm", algorithm, "format", format, "path", path)
	if err != nil {
		return err
	}
	return callC(func(msg **C.char) C.evident_status {
		return C.evgo_tracekit_export_file(cstr(algorithm), kp, C.size_t(len(key)), cstr(b),
			cstr(format), cstr(path), msg)
	})
}

// TraceKitFilter is TraceKit's AuditTrail.get_entries(since=, action_type=):
// the indices, oldest first, of the entries whose time is at or after since
// (nil: any time) and whose action is actionType ("": any). Times are
// compared as instants; a timestamp that is not RFC 3339 is compared as
// text, as TraceKit does.
func TraceKitFilter(entries []TraceKitEntry, since *time.Time, actionType string) ([]int, error) {
	if err := checkString("actionType", actionType); err != nil {
		return nil, err
	}
	type slim struct {
		Timestamp string `json:"timestamp"`
		Action    string `json:"action"`
	}
	list := make([]slim, len(entries))
	for i, e := range entries {
		if err := checkStrings("timestamp", e.Timestamp, "action", e.Action); err != nil {
			return nil, err
		}
		list[i] = slim{e.Timestamp, e.Action}
	}
	b, err := encodeJSON(list)
	if err != nil {
		return nil, err
	}
	var sinceC *C.char
	if since != nil {
		sinceC = cstr(timeText(*since))
	}
	text, err := textC(func(out, msg **C.char) C.evident_status {
		return C.evgo_tracekit_filter(cstr(string(b)), sinceC, cstrOpt(actionType), out, msg)
	})
	return decodeAs(text, err, []int{})
}
