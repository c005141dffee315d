package evident

// Signed checkpoints, Merkle proofs and a witness (spec/checkpoints.md):
// the C ABI's evident_checkpoint_* and evident_witness_add_checkpoint.
// Keys, checkpoints and proofs are their C2SP text forms; the logic is the
// library's.

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#include <stdlib.h>
#include <stdint.h>
#include "shim.h"

// One C call per function that also copies the failure message (the
// library keeps it per OS thread; a goroutine may move between calls).
static evident_status evgo_cp_keygen(const char *name, int32_t witness,
                                     char **skey, char **vkey, char **msg) {
    evident_status st = evident_checkpoint_keygen(name, witness, skey, vkey);
    *msg = evgo_take_error(st);
    return st;
}
static evident_status evgo_cp_call(int which, const char *a, const char *b,
                                   const char *c, const char *d, uint64_t n,
                                   char **res, char **msg) {
    evident_status st;
    switch (which) {
    case 0: st = evident_checkpoint_create(a, b, c, res); break;
    case 1: st = evident_checkpoint_verify(a, b, c, d, res); break;
    case 2: st = evident_checkpoint_prove(a, n, b, res); break;
    case 3: st = evident_checkpoint_prove_consistency(a, b, c, res); break;
    case 5: st = evident_checkpoint_verify_in_log(a, b, c, res); break;
    case 6: st = evident_checkpoint_list(a, res); break;
    default: st = evident_witness_add_checkpoint(a, b, c, d, res); break;
    }
    *msg = evgo_take_error(st);
    return st;
}
static evident_status evgo_cp_verify_proof(const char *proof, const char *vkey,
                                           const char *old, const char *origin,
                                           int32_t *valid, char **reason, char **msg) {
    evident_status st =
        evident_checkpoint_verify_proof_origin(proof, vkey, old, origin, valid, reason);
    *msg = evgo_take_error(st);
    return st;
}
static evident_status evgo_cp_error(evident_log *log, char **res, char **msg) {
    evident_status st = evident_log_checkpoint_error(log, res);
    *msg = evgo_take_error(st);
    return st;
}
*/
import "C"

import (
	"encoding/json"
	"runtime"
	"time"
	"unsafe"
)

// AutoCheckpoint makes a writer sign checkpoints by itself
// (Options.Checkpoint; spec/checkpoints.md section 2.1): with the private
// key text SigningKey, after every EveryEntries entries (0: not by count),
// at the first append once Every has passed since the last checkpoint
// (0: not by time) and at Close, into <log>.checkpoints; with InLog each
// one is also written as a checkpoint record in the log. The log is synced
// first (in Buffered mode a due checkpoint is a sync point), so a
// checkpoint never claims more than is durable. A failure to sign does not
// fail the append (see Log.CheckpointError); at Close it is returned after
// the log is closed.
type AutoCheckpoint struct {
	SigningKey   string
	EveryEntries uint64
	Every        time.Duration
	InLog        bool
}

func (c *AutoCheckpoint) apply(s *cstrings, a *C.evgo_open_args) error {
	if c == nil {
		return nil
	}
	if c.SigningKey == "" || hasNUL(c.SigningKey) {
		return goError(StatusInvalidArgument, "evident: AutoCheckpoint.SigningKey must be a private key text")
	}
	if c.Every < 0 {
		return goError(StatusInvalidArgument, "evident: AutoCheckpoint.Every must not be negative")
	}
	a.cp_skey = s.add(c.SigningKey)
	a.cp_every_entries = C.uint64_t(c.EveryEntries)
	a.cp_every_ms = C.uint64_t((c.Every + time.Millisecond - 1) / time.Millisecond)
	a.cp_in_log = C.bool(c.InLog)
	return nil
}

// CheckpointError returns the last failure to sign an automatic
// checkpoint ("" when the last attempt succeeded or none failed).
func (l *Log) CheckpointError() (string, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.h == nil {
		return "", l.closedError()
	}
	var res, msg *C.char
	st := C.evgo_cp_error(l.h, &res, &msg)
	runtime.KeepAlive(l)
	if err := statusError(st, msg); err != nil {
		return "", err
	}
	if res == nil {
		return "", nil
	}
	return takeString(res), nil
}

// InLogReport is the result of CheckpointVerifyInLog.
type InLogReport struct {
	Valid       bool     `json:"valid"`
	Checkpoints uint64   `json:"checkpoints"`
	LastSize    *uint64  `json:"last_size"`
	Failures    []string `json:"failures"`
	RecordsRead uint64   `json:"records_read"`
}

// CheckpointVerifyInLog checks the checkpoint records written into the log
// (spec/checkpoints.md section 2.2) with the public key text vkey.
func CheckpointVerifyInLog(log, vkey string) (InLogReport, error) {
	var r InLogReport
	out, err := cpCall(5, 0, log, vkey, "{}")
	if err != nil {
		return r, err
	}
	err = json.Unmarshal([]byte(out), &r)
	return r, err
}

// SidecarCheckpoint is one checkpoint of <log>.checkpoints.
type SidecarCheckpoint struct {
	Size       uint64 `json:"size"`
	Origin     string `json:"origin"`
	Checkpoint string `json:"checkpoint"`
}

// CheckpointList returns the checkpoints in <log>.checkpoints, in order.
func CheckpointList(log string) ([]SidecarCheckpoint, error) {
	var r []SidecarCheckpoint
	out, err := cpCall(6, 0, log)
	if err != nil {
		return nil, err
	}
	err = json.Unmarshal([]byte(out), &r)
	return r, err
}

// CheckpointOptions for CheckpointCreate.
type CheckpointOptions struct {
	Origin    string `json:"origin,omitempty"`
	Size      uint64 `json:"size,omitempty"`
	KeyHex    string `json:"key_hex,omitempty"`
	NoSidecar bool   `json:"no_sidecar,omitempty"`
}

// CheckpointVerifyOptions for CheckpointVerify.
type CheckpointVerifyOptions struct {
	Incremental  bool     `json:"incremental,omitempty"`
	WitnessKeys  []string `json:"witness_keys,omitempty"`
	MinWitnesses int      `json:"min_witnesses,omitempty"`
	// Origin the checkpoint must have (default: the log's, evident/<log id>).
	Origin string `json:"origin,omitempty"`
	KeyHex string `json:"key_hex,omitempty"`
}

// CheckpointReport is the result of checking a log against a checkpoint.
// Outcome is "match", "truncated", "root_mismatch", "damaged",
// "bad_signature" or "too_few_witnesses".
type CheckpointReport struct {
	Valid          bool     `json:"valid"`
	Outcome        string   `json:"outcome"`
	Message        string   `json:"message"`
	CheckpointSize uint64   `json:"checkpoint_size"`
	Origin         string   `json:"origin"`
	Witnesses      []string `json:"witnesses"`
	Mode           string   `json:"mode"`
	FallbackReason *string  `json:"fallback_reason"`
	RecordsRead    uint64   `json:"records_read"`
	LogSize        uint64   `json:"log_size"`
	LogRoot        *string  `json:"log_root"`
}

// WitnessResult is a witness's answer: the tlog-witness HTTP status, the
// outcome ("cosigned", "bad_request", "forbidden", "unknown_origin",
// "conflict", "inconsistent", "split_view") and, when cosigned, the
// cosignature lines and the cosigned checkpoint.
type WitnessResult struct {
	Status         int    `json:"status"`
	Outcome        string `json:"outcome"`
	Message        string `json:"message"`
	SignatureLines string `json:"signature_lines"`
	Cosigned       string `json:"cosigned"`
	Latest         uint64 `json:"latest"`
	Evidence       string `json:"evidence"`
}

func cstrs(ss ...string) ([]*C.char, error) {
	out := make([]*C.char, len(ss))
	for i, s := range ss {
		if hasNUL(s) {
			for _, p := range out[:i] {
				C.free(unsafe.Pointer(p))
			}
			return nil, goError(StatusInvalidArgument, "evident: argument contains a NUL byte")
		}
		out[i] = C.CString(s)
	}
	return out, nil
}

func freeAll(ps []*C.char) {
	for _, p := range ps {
		C.free(unsafe.Pointer(p))
	}
}

func cpCall(which C.int, n uint64, args ...string) (string, error) {
	for len(args) < 4 {
		args = append(args, "")
	}
	cs, err := cstrs(args...)
	if err != nil {
		return "", err
	}
	defer freeAll(cs)
	var res, msg *C.char
	st := C.evgo_cp_call(which, cs[0], cs[1], cs[2], cs[3], C.uint64_t(n), &res, &msg)
	if err := statusError(st, msg); err != nil {
		C.evident_string_free(res)
		return "", err
	}
	return takeString(res), nil
}

// CheckpointKeygen makes a key pair (a cosignature key when witness):
// the private and the public key texts.
func CheckpointKeygen(name string, witness bool) (skey, vkey string, err error) {
	cs, err := cstrs(name)
	if err != nil {
		return "", "", err
	}
	defer freeAll(cs)
	w := C.int32_t(0)
	if witness {
		w = 1
	}
	var s, v, msg *C.char
	st := C.evgo_cp_keygen(cs[0], w, &s, &v, &msg)
	if err := statusError(st, msg); err != nil {
		return "", "", err
	}
	return takeString(s), takeString(v), nil
}

// CheckpointCreate signs a checkpoint of the log with the private key text
// skey (also appended to <log>.checkpoints unless opts.NoSidecar).
func CheckpointCreate(log, skey string, opts CheckpointOptions) (string, error) {
	o, err := json.Marshal(opts)
	if err != nil {
		return "", goError(StatusInvalidArgument, "evident: "+err.Error())
	}
	return cpCall(0, 0, log, skey, string(o))
}

// CheckpointVerify checks the log against the signed checkpoint text cp
// and the log's public key text vkey.
func CheckpointVerify(log, cp, vkey string, opts CheckpointVerifyOptions) (CheckpointReport, error) {
	var r CheckpointReport
	o, err := json.Marshal(opts)
	if err != nil {
		return r, goError(StatusInvalidArgument, "evident: "+err.Error())
	}
	text, err := cpCall(1, 0, log, cp, vkey, string(o))
	if err != nil {
		return r, err
	}
	return r, decodeJSON(text, &r)
}

// CheckpointProve returns the inclusion proof (c2sp.org/tlog-proof@v1) of
// entry seq against the checkpoint text cp.
func CheckpointProve(log string, seq uint64, cp string) (string, error) {
	return cpCall(2, seq, log, cp)
}

// CheckpointProveConsistency returns the consistency proof (a tlog-witness
// request) from checkpoint text old to new.
func CheckpointProveConsistency(log, old, new string) (string, error) {
	return cpCall(3, 0, log, old, new)
}

// CheckpointVerifyProof verifies an inclusion proof (old empty) or a
// consistency proof from checkpoint text old; reason says why not. The
// proof's checkpoint may have any origin: CheckpointVerifyProofOrigin
// also checks it.
func CheckpointVerifyProof(proof, vkey, old string) (ok bool, reason string, err error) {
	return CheckpointVerifyProofOrigin(proof, vkey, old, "")
}

// CheckpointVerifyProofOrigin is CheckpointVerifyProof, also requiring
// the proof's checkpoint to have the origin origin (a log's is
// "evident/<log id>" unless it was signed with another; "" accepts any).
func CheckpointVerifyProofOrigin(proof, vkey, old, origin string) (ok bool, reason string, err error) {
	cs, err := cstrs(proof, vkey, old, origin)
	if err != nil {
		return false, "", err
	}
	defer freeAll(cs)
	oldp, originp := cs[2], cs[3]
	if old == "" {
		oldp = nil
	}
	if origin == "" {
		originp = nil
	}
	var valid C.int32_t
	var why, msg *C.char
	st := C.evgo_cp_verify_proof(cs[0], cs[1], oldp, originp, &valid, &why, &msg)
	if err := statusError(st, msg); err != nil {
		return false, "", err
	}
	if why != nil {
		reason = takeString(why)
	}
	return valid == 1, reason, nil
}

// WitnessAddCheckpoint has the witness over store (private key text skey,
// trusting the log public key texts logKeys) handle a tlog-witness request.
func WitnessAddCheckpoint(store, skey string, logKeys []string, request string) (WitnessResult, error) {
	var r WitnessResult
	k, err := json.Marshal(logKeys)
	if err != nil {
		return r, goError(StatusInvalidArgument, "evident: "+err.Error())
	}
	text, err := cpCall(4, 0, store, skey, string(k), request)
	if err != nil {
		return r, err
	}
	return r, decodeJSON(text, &r)
}
