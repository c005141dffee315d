package evident

// PostgreSQL: Ship copies a log into a database, DBQuery reads entries
// back (the C ABI's evident_ship and evident_db_query; the logic is the
// library's). Errors wrap ErrDatabase or ErrRefused and never show the
// URL's password.

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#include <stdlib.h>
#include "shim.h"

static evident_status evgo_pg_call(int which, const char *a, const char *b,
                                   const char *c, char **res, char **msg) {
    evident_status st;
    if (which == 0) st = evident_ship(a, b, c, res);
    else st = evident_db_query(a, b, res);
    *msg = evgo_take_error(st);
    return st;
}
*/
import "C"

import (
	"encoding/json"
	"time"
	"unsafe"
)

// ShipOptions tunes Ship. Zero values are the defaults.
type ShipOptions struct {
	// Batch is the number of records per transaction (default 20,000).
	Batch int `json:"batch,omitempty"`
	// KeyHex is the HMAC key (hex) of a keyed log: hashes are checked
	// before shipping.
	KeyHex string `json:"key_hex,omitempty"`
	// RetryFor is how long to keep reconnecting (nil: 30 s).
	RetryFor *time.Duration `json:"-"`
}

// ShipReport is what Ship did for one log.
type ShipReport struct {
	LogID string `json:"log_id"`
	// Shipped is the number of records inserted now (the genesis counts).
	Shipped uint64 `json:"shipped"`
	// Already is the number of records the database already held.
	Already uint64 `json:"already"`
	// HeadSeq is the database's head seq for the log afterwards.
	HeadSeq uint64 `json:"head_seq"`
}

func pgCall(which C.int, a, b, c string, hasC bool, v any) error {
	for _, s := range []string{a, b, c} {
		if hasNUL(s) {
			return goError(StatusInvalidArgument, "evident: argument contains a NUL byte")
		}
	}
	ca, cb := C.CString(a), C.CString(b)
	defer C.free(unsafe.Pointer(ca))
	defer C.free(unsafe.Pointer(cb))
	var cc *C.char
	if hasC {
		cc = C.CString(c)
		defer C.free(unsafe.Pointer(cc))
	}
	var res, msg *C.char
	st := C.evgo_pg_call(which, ca, cb, cc, &res, &msg)
	if err := statusError(st, msg); err != nil {
		C.evident_string_free(res)
		return err
	}
	return decodeJSON(takeString(res), v)
}

// Ship copies the records of the log at path that the PostgreSQL database
// at url (postgres://…) lacks into it: resumable and idempotent. A local
// log that does not continue the database's chain is refused (ErrRefused)
// and the refusal recorded.
func Ship(path, url string, opts ShipOptions) ([]ShipReport, error) {
	o := map[string]any{}
	if opts.Batch > 0 {
		o["batch"] = opts.Batch
	}
	if opts.KeyHex != "" {
		o["key_hex"] = opts.KeyHex
	}
	if opts.RetryFor != nil {
		o["retry_for_ms"] = opts.RetryFor.Milliseconds()
	}
	text, err := json.Marshal(o)
	if err != nil {
		return nil, goError(StatusInvalidArgument, "evident: "+err.Error())
	}
	var reps []ShipReport
	return reps, pgCall(0, path, url, string(text), true, &reps)
}

// DBEntry is an entry read from the database, with the log it belongs to.
type DBEntry struct {
	Entry
	LogID string
}

type dbEntryJSON struct {
	LogID      string          `json:"log_id"`
	Seq        uint64          `json:"seq"`
	Ts         string          `json:"ts"`
	EventType  string          `json:"event_type"`
	Action     string          `json:"action"`
	Actor      string          `json:"actor"`
	Host       string          `json:"host"`
	SessionID  string          `json:"session_id"`
	Source     string          `json:"source"`
	OTR        bool            `json:"otr"`
	Success    *bool           `json:"success"`
	DurationMs *float64        `json:"duration_ms"`
	Error      string          `json:"error"`
	Note       string          `json:"note"`
	GitCommit  string          `json:"git_commit"`
	Details    json.RawMessage `json:"details"`
	Prev       string          `json:"prev"`
	Hash       string          `json:"hash"`
}

// DBQuery returns the entries in the database at url matching q (the
// file query's filters; SeqMin and SeqMax are not supported), across logs,
// or in one log (logID) or from one host ("" for any).
func DBQuery(url string, q QueryOptions, logID, host string) ([]DBEntry, error) {
	o := map[string]any{"newest_first": q.Order == NewestFirst}
	for k, v := range map[string]string{
		"log_id": logID, "host": host, "session_id": q.SessionID, "event_type": q.EventType,
		"action": q.Action, "actor": q.Actor, "source": q.Source,
	} {
		if v != "" {
			o[k] = v
		}
	}
	if !q.Since.IsZero() {
		o["since"] = timeText(q.Since)
	}
	if !q.Until.IsZero() {
		o["until"] = timeText(q.Until)
	}
	if q.Limit > 0 {
		o["limit"] = q.Limit
	}
	if q.SeqMin != 0 || q.SeqMax != 0 {
		return nil, goError(StatusInvalidArgument, "evident: SeqMin/SeqMax are not supported in database queries")
	}
	text, err := json.Marshal(o)
	if err != nil {
		return nil, goError(StatusInvalidArgument, "evident: "+err.Error())
	}
	var raw []dbEntryJSON
	if err := pgCall(1, url, string(text), "", false, &raw); err != nil {
		return nil, err
	}
	out := make([]DBEntry, 0, len(raw))
	for _, r := range raw {
		ts, err := time.Parse(time.RFC3339Nano, r.Ts)
		if err != nil {
			return nil, goError(StatusMalformed, "evident: entry time "+r.Ts+": "+err.Error())
		}
		out = append(out, DBEntry{LogID: r.LogID, Entry: Entry{
			Seq: r.Seq, Time: ts.UTC(), EventType: r.EventType, Action: r.Action, Actor: r.Actor,
			Host: r.Host, SessionID: r.SessionID, Source: r.Source, OTR: r.OTR, Success: r.Success,
			DurationMs: r.DurationMs, Error: r.Error, Note: r.Note, GitCommit: r.GitCommit,
			Details: r.Details, Prev: r.Prev, Hash: r.Hash,
		}})
	}
	return out, nil
}
