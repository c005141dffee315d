package evident

// Reports and reproduction scripts: Report, ReportEntries, Reproduce (the
// C ABI's evident_report_write, evident_report_write_entries and
// evident_reproduce_write; the logic is the library's).

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#include <stdlib.h>
#include <string.h>
#include "shim.h"

// One C call per report function that also copies the failure message
// (the library keeps it per OS thread; a goroutine may move between calls).
static evident_status evgo_report_call(int which, const char *a, const char *o,
                                       const char *out, char **res, char **msg) {
    evident_status st;
    switch (which) {
    case 0: st = evident_report_write(a, o, out, res); break;
    case 1: st = evident_report_write_entries(a, o, out, res); break;
    default: st = evident_reproduce_write(a, o, out, res); break;
    }
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

// ReportOptions selects and formats a report. Format is "md" (default),
// "html" or "pdf"; By is "day" (default), "week" or "tool" (Markdown only).
type ReportOptions struct {
	Format    string     `json:"format,omitempty"`
	By        string     `json:"by,omitempty"`
	Since     *time.Time `json:"since,omitempty"`
	Until     *time.Time `json:"until,omitempty"`
	Source    string     `json:"source,omitempty"`
	EventType string     `json:"event_type,omitempty"`
	Title     string     `json:"title,omitempty"`
	NoCharts  bool       `json:"no_charts,omitempty"`
	// Logs to verify and show in a report of entries (ReportEntries).
	Logs []string `json:"logs,omitempty"`
	// KeyHex is the HMAC key (hex) of keyed logs, for verification.
	KeyHex string `json:"key_hex,omitempty"`
}

// ReportFile is one file written: its group (a day, an ISO week such as
// "2026-W48", a tool, or "all" for HTML and PDF) and path.
type ReportFile struct {
	Group string `json:"group"`
	Path  string `json:"path"`
}

// ReproduceOptions selects the operations and the language of a
// reproduction script. Format is "bash" (default; RTGS Lab Tools' layout,
// Program, AddTiming, AddErrorHandling and NoNote apply) or "python"
// (TraceKit's to_script() layout: one Alias.operation(name=value, ...) call
// per operation, importing Module, default "tracekit" falling back to
// "evident.compat.tracekit", as Alias, default "tk").
type ReproduceOptions struct {
	Format            string     `json:"format,omitempty"`
	Module            string     `json:"module,omitempty"`
	Alias             string     `json:"alias,omitempty"`
	Program           string     `json:"program,omitempty"`
	Title             string     `json:"title,omitempty"`
	Since             *time.Time `json:"since,omitempty"`
	Until             *time.Time `json:"until,omitempty"`
	IncludeTools      []string   `json:"include_tools,omitempty"`
	ExcludeOperations []string   `json:"exclude_operations,omitempty"`
	EventType         string     `json:"event_type,omitempty"`
	SkipFailed        bool       `json:"skip_failed,omitempty"`
	AddTiming         bool       `json:"add_timing,omitempty"`
	AddErrorHandling  bool       `json:"add_error_handling,omitempty"`
	NoNote            bool       `json:"no_note,omitempty"`
	// KeyHex is the HMAC key (hex) of keyed logs, to check their hashes
	// before their entries are used (their links and seqs always are).
	KeyHex string `json:"key_hex,omitempty"`
}

// ReproduceInfo describes a written script (dates are UTC days; empty when
// there was no operation).
type ReproduceInfo struct {
	ScriptPath     string  `json:"script_path"`
	OperationCount int     `json:"operation_count"`
	StartDate      *string `json:"start_date"`
	EndDate        *string `json:"end_date"`
	// Unverified lists the logs that do not verify ("path: problem"):
	// the script was written from their entries as they are, and says so
	// at its top. Empty when every log verifies.
	Unverified []string `json:"unverified"`
	// Unchecked lists the keyed logs given without their key ("path:
	// what"; not a failure): their links and seqs were checked, not their
	// hashes.
	Unchecked []string `json:"unchecked"`
}

func reportCall(which C.int, a []byte, opts any, out string, v any) error {
	o, err := json.Marshal(opts)
	if err != nil {
		return goError(StatusInvalidArgument, "evident: "+err.Error())
	}
	if hasNUL(out) {
		return goError(StatusInvalidArgument, "evident: path contains a NUL byte")
	}
	ca, co, cout := C.CString(string(a)), C.CString(string(o)), C.CString(out)
	defer C.free(unsafe.Pointer(ca))
	defer C.free(unsafe.Pointer(co))
	defer C.free(unsafe.Pointer(cout))
	var res, msg *C.char
	st := C.evgo_report_call(which, ca, co, cout, &res, &msg)
	if err := statusError(st, msg); err != nil {
		C.evident_string_free(res)
		return err
	}
	return decodeJSON(takeString(res), v)
}

// Report writes reports of the entries in inputs (logs, Markdown reports
// written by evident, directories) into out: Markdown files into the
// directory out; HTML into out when it ends in .html, else into
// out/audit_report.html; PDF likewise (.pdf, audit_report.pdf). Each log
// is verified and the result shown.
func Report(inputs []string, out string, opts ReportOptions) ([]ReportFile, error) {
	a, err := json.Marshal(inputs)
	if err != nil {
		return nil, goError(StatusInvalidArgument, "evident: "+err.Error())
	}
	var files []ReportFile
	return files, reportCall(0, a, opts, out, &files)
}

// ReportEntries is Report for entries given directly (Entry values as
// read with ReadEntries); opts.Logs are verified and shown.
func ReportEntries(entries []Entry, out string, opts ReportOptions) ([]ReportFile, error) {
	rows := make([]map[string]any, 0, len(entries))
	for _, e := range entries {
		row := map[string]any{
			"seq": e.Seq, "ts": timeText(e.Time), "event_type": e.EventType,
			"action": e.Action, "actor": e.Actor, "host": e.Host, "session_id": e.SessionID,
			"source": e.Source, "details": e.Details, "hash": e.Hash, "prev": e.Prev,
			"otr": e.OTR, "success": e.Success, "duration_ms": e.DurationMs,
		}
		if e.Details == nil {
			row["details"] = map[string]any{}
		}
		for k, v := range map[string]string{"error": e.Error, "note": e.Note, "git_commit": e.GitCommit} {
			if v != "" {
				row[k] = v
			}
		}
		rows = append(rows, row)
	}
	a, err := json.Marshal(rows)
	if err != nil {
		return nil, goError(StatusInvalidArgument, "evident: "+err.Error())
	}
	var files []ReportFile
	return files, reportCall(1, a, opts, out, &files)
}

// Reproduce writes a script (mode 0755; bash, or Python with Format
// "python") to out that re-runs the operations recorded in inputs in time
// order.
func Reproduce(inputs []string, out string, opts ReproduceOptions) (ReproduceInfo, error) {
	a, err := json.Marshal(inputs)
	if err != nil {
		return ReproduceInfo{}, goError(StatusInvalidArgument, "evident: "+err.Error())
	}
	var info ReproduceInfo
	return info, reportCall(2, a, opts, out, &info)
}
