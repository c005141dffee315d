package evident

// PostgreSQL: Ship copies a log into a database, DBQuery reads entries
// back, DBVerify checks the stored chains and DBCrossCheck compares a file
// with its copy (the C ABI's evident_ship, evident_db_query,
// evident_db_verify and evident_db_cross_check; the logic is the
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
    else if (which == 1) st = evident_db_query(a, b, res);
    else if (which == 2) st = evident_db_verify(a, b, res);
    else st = evident_db_cross_check(a, b, res);
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
	// HashesChecked is false for a keyed log shipped without its key
	// (links and seqs checked only; check the database copy with the key).
	HashesChecked bool `json:"hashes_checked"`
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

type dbViolationJSON struct {
	Kind    string  `json:"kind"`
	Seq     *uint64 `json:"seq"`
	Line    uint64  `json:"line"`
	Offset  uint64  `json:"offset"`
	Message string  `json:"message"`
}

type dbVerifyJSON struct {
	Valid           bool              `json:"valid"`
	NotALog         bool              `json:"not_a_log"`
	Entries         uint64            `json:"entries"`
	HeadSeq         uint64            `json:"head_seq"`
	HeadHash        *string           `json:"head_hash"`
	LogID           *string           `json:"log_id"`
	KeyID           *string           `json:"key_id"`
	Framing         *string           `json:"framing"`
	Alg             *string           `json:"alg"`
	Bytes           uint64            `json:"bytes"`
	Violations      []dbViolationJSON `json:"violations"`
	ViolationsTotal uint64            `json:"violations_total"`
	InFlightTail    *uint64           `json:"in_flight_tail"`
}

// byName is the value among all whose String() is name (the zero value
// when none is).
func byName[T interface {
	comparable
	String() string
}](name *string, all ...T) T {
	var zero T
	if name == nil {
		return zero
	}
	for _, v := range all {
		if v.String() == *name {
			return v
		}
	}
	return zero
}

// DBVerifyOptions tunes DBVerify.
type DBVerifyOptions struct {
	// KeyHex is the HMAC key (hex) of keyed logs.
	KeyHex string `json:"key_hex,omitempty"`
	// All keeps every violation, not only the first.
	All bool `json:"all"`
}

// DBVerify checks every chain stored in the database at url (or the one
// its ?log_id= names) with the library's verifier, streaming: one Result
// per log, in log id order, as Verify gives for a file (offsets and lines
// are those of the JSONL file the stored records make). A damaged chain is
// a Result with Valid false, not an error.
func DBVerify(url string, opts DBVerifyOptions) ([]Result, error) {
	text, err := json.Marshal(opts)
	if err != nil {
		return nil, goError(StatusInvalidArgument, "evident: "+err.Error())
	}
	var raw []dbVerifyJSON
	if err := pgCall(2, url, string(text), "", false, &raw); err != nil {
		return nil, err
	}
	kinds := []ViolationKind{KindHashMismatch, KindChainBreak, KindSeqGap, KindMalformed,
		KindTornTail, KindWrongKey, KindWrongLogID, KindHeadMismatch, KindUnsupported}
	out := make([]Result, 0, len(raw))
	for _, r := range raw {
		res := Result{
			Valid: r.Valid, NotALog: r.NotALog, Entries: r.Entries,
			Head:  Head{Seq: r.HeadSeq, Hash: deref(r.HeadHash)},
			LogID: deref(r.LogID), KeyID: deref(r.KeyID),
			Framing: byName(r.Framing, JSONL, Binary),
			Alg:     byName(r.Alg, SHA256, HMACSHA256, HMACSHA512),
			Bytes:   r.Bytes, ViolationsTotal: r.ViolationsTotal, InFlightTail: deref(r.InFlightTail),
		}
		for _, v := range r.Violations {
			res.Violations = append(res.Violations, Violation{
				Kind: byName(&v.Kind, kinds...), Seq: deref(v.Seq), HasSeq: v.Seq != nil,
				Line: v.Line, Offset: v.Offset, Message: v.Message,
			})
		}
		out = append(out, res)
	}
	return out, nil
}

// CrossCheck is how a local log and its database copy compare.
type CrossCheck struct {
	LogID string `json:"log_id"`
	// Same is the number of records present in both and identical.
	Same uint64 `json:"same"`
	// FirstDifference is the first seq whose records differ (nil: none).
	FirstDifference *uint64 `json:"first_difference"`
	// OnlyLocal counts records not shipped yet, OnlyDB records only in the
	// database.
	OnlyLocal uint64 `json:"only_local"`
	OnlyDB    uint64 `json:"only_db"`
}

// DBCrossCheck compares the log at path with its copy in the database at
// url, record by record (body and hash).
func DBCrossCheck(path, url string) (CrossCheck, error) {
	var cc CrossCheck
	return cc, pgCall(3, path, url, "", false, &cc)
}
