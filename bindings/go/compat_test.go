package evident_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	evident "github.com/evident-audit/evident/bindings/go"
)

// Expected texts: TraceKit's own _compute_hmac, _export_json and _export_csv
// (seed 001) run by Python on the same entries, key b"go-compat-key".
const wantTraceKitJSON = `{
  "version": "1.0",
  "hash_algorithm": "sha256",
  "entries": [
    {
      "timestamp": "2026-01-08T10:30:00.000000Z",
      "action": "load_trace",
      "details": {
        "file": "capture.wfm",
        "big": 18446744073709551617,
        "a": {
          "y": [
            1,
            2.5
          ],
          "x": "\u00e9"
        }
      },
      "user": "alice",
      "host": "lab",
      "previous_hash": "GENESIS",
      "hmac": "6b38f92ca846d743b88758ed283cb627fd30f979d97fe6c379ee0169c7a8611b"
    },
    {
      "timestamp": "2026-01-08T11:00:00.000000Z",
      "action": "measure",
      "details": {
        "value": 0.1
      },
      "user": "alice",
      "host": "lab",
      "previous_hash": "6b38f92ca846d743b88758ed283cb627fd30f979d97fe6c379ee0169c7a8611b",
      "hmac": "96bc1cc37e44e173b72150f41391b27843bc83f727fed0213ee7599b13de0f06"
    }
  ]
}`

const wantTraceKitCSV = "timestamp,action,user,host,previous_hash,hmac,detail_a,detail_big,detail_file,detail_value\r\n" +
	"2026-01-08T10:30:00.000000Z,load_trace,alice,lab,GENESIS,6b38f92ca846d743b88758ed283cb627fd30f979d97fe6c379ee0169c7a8611b," +
	`"{""y"": [1, 2.5], ""x"": ""\u00e9""}",18446744073709551617,"""capture.wfm""",` + "\r\n" +
	"2026-01-08T11:00:00.000000Z,measure,alice,lab,6b38f92ca846d743b88758ed283cb627fd30f979d97fe6c379ee0169c7a8611b," +
	"96bc1cc37e44e173b72150f41391b27843bc83f727fed0213ee7599b13de0f06,,,,0.1\r\n"

func traceKitEntries() []evident.TraceKitEntry {
	return []evident.TraceKitEntry{
		{Timestamp: "2026-01-08T10:30:00.000000Z", Action: "load_trace", User: "alice", Host: "lab",
			Details: json.RawMessage(`{"file":"capture.wfm","big":18446744073709551617,"a":{"y":[1,2.5],"x":"é"}}`)},
		{Timestamp: "2026-01-08T11:00:00.000000Z", Action: "measure", User: "alice", Host: "lab",
			Details: map[string]any{"value": 0.1}},
	}
}

func TestTraceKitExportIsTraceKitsText(t *testing.T) {
	key := []byte("go-compat-key")
	got, err := evident.TraceKitExport(traceKitEntries(), "sha256", key, "json")
	check(t, err)
	if got != wantTraceKitJSON {
		t.Fatalf("json export:\n%s\nwant:\n%s", got, wantTraceKitJSON)
	}
	got, err = evident.TraceKitExport(traceKitEntries(), "sha256", key, "csv")
	check(t, err)
	if got != wantTraceKitCSV {
		t.Fatalf("csv export:\n%q\nwant:\n%q", got, wantTraceKitCSV)
	}
	// given hashes are kept: a changed entry keeps its old HMAC (and fails
	// TraceKit's check) instead of being signed again
	es := traceKitEntries()
	es[0].PreviousHash, es[0].HMAC = "GENESIS", "00"
	got, err = evident.TraceKitExport(es, "sha512", key, "json")
	check(t, err)
	var doc struct {
		Alg     string `json:"hash_algorithm"`
		Entries []struct {
			Prev string `json:"previous_hash"`
			HMAC string `json:"hmac"`
		} `json:"entries"`
	}
	check(t, json.Unmarshal([]byte(got), &doc))
	if doc.Alg != "sha512" || doc.Entries[0].HMAC != "00" || doc.Entries[1].Prev != "00" || len(doc.Entries[1].HMAC) != 128 {
		t.Fatalf("%+v", doc)
	}
	if got, err := evident.TraceKitExport(nil, "sha256", nil, "csv"); err != nil || got != "" {
		t.Fatalf("empty csv: %q %v", got, err)
	}
	for _, c := range [][2]string{{"md5", "json"}, {"sha256", "xml"}} {
		_, err := evident.TraceKitExport(traceKitEntries(), c[0], key, c[1])
		wantErr(t, err, evident.ErrInvalidArgument, evident.StatusInvalidArgument)
	}
}

func TestTraceKitFilterIsGetEntries(t *testing.T) {
	es := []evident.TraceKitEntry{
		{Timestamp: "2026-01-08T10:00:00.000000Z", Action: "load"},
		{Timestamp: "2026-01-08T11:00:00.000000Z", Action: "analyze"},
		{Timestamp: "2026-01-08T12:00:00.000000Z", Action: "load"},
	}
	at := func(h, m int, loc *time.Location) *time.Time {
		t := time.Date(2026, 1, 8, h, m, 0, 0, loc)
		return &t
	}
	cet := time.FixedZone("CET", 3600)
	for _, c := range []struct {
		since  *time.Time
		action string
		want   []int
	}{
		{nil, "", []int{0, 1, 2}},
		{nil, "load", []int{0, 2}},
		{nil, "missing", []int{}},
		{at(11, 0, time.UTC), "", []int{1, 2}},
		{at(11, 30, time.UTC), "load", []int{2}},
		{at(12, 30, cet), "", []int{2}}, // 11:30 UTC
	} {
		got, err := evident.TraceKitFilter(es, c.since, c.action)
		check(t, err)
		if !reflect.DeepEqual(got, c.want) {
			t.Fatalf("since %v action %q: %v, want %v", c.since, c.action, got, c.want)
		}
	}
	if got, err := evident.TraceKitFilter(nil, nil, ""); err != nil || len(got) != 0 {
		t.Fatalf("no entries: %v %v", got, err)
	}
	_, err := evident.TraceKitFilter(es, nil, "a\x00b")
	wantErr(t, err, evident.ErrInvalidArgument, evident.StatusInvalidArgument)
}

func TestTraceKitExportFileKeepsNUL(t *testing.T) {
	key := []byte("go-compat-key")
	dir := t.TempDir()
	// The same text as TraceKitExport, written to a file.
	p := filepath.Join(dir, "audit.json")
	check(t, evident.TraceKitExportFile(traceKitEntries(), "sha256", key, "json", p))
	b, err := os.ReadFile(p)
	check(t, err)
	if string(b) != wantTraceKitJSON {
		t.Fatalf("file:\n%s\nwant:\n%s", b, wantTraceKitJSON)
	}
	// A NUL in a field is in the file as it is (TraceKit's csv module
	// writes it so).
	es := []evident.TraceKitEntry{{Timestamp: "2026-01-08T10:30:00.000000Z", Action: "a\x00c",
		User: "alice", Host: "lab", Details: map[string]any{}}}
	p = filepath.Join(dir, "zero_byte.csv")
	check(t, evident.TraceKitExportFile(es, "sha256", key, "csv", p))
	b, err = os.ReadFile(p)
	check(t, err)
	if !strings.Contains(string(b), "\r\n2026-01-08T10:30:00.000000Z,a\x00c,alice,lab,GENESIS,") {
		t.Fatalf("csv: %q", b)
	}
	if err := evident.TraceKitExportFile(es, "sha256", key, "xml", p); err == nil {
		t.Fatal("format xml accepted")
	}
	if err := evident.TraceKitExportFile(es, "sha256", key, "csv", filepath.Join(dir, "no", "x.csv")); err == nil ||
		!strings.Contains(err.Error(), "x.csv") {
		t.Fatalf("missing directory: %v", err)
	}
}
