// Command main writes OpenParallax-format audit files with Go's own
// encoding/json, for evident's tests (tests/openparallax_legacy.rs) and
// spec vectors. It follows OpenParallax's documented algorithm
// (docs/audit/verification.md): each entry's hash is the hex SHA-256 of
// the entry with "hash" set to "", serialised as JSON with the keys sorted
// at every level; previous_hash is the previous entry's hash ("" first).
// The entry's JSON field names and omitempty options are those of
// OpenParallax's LogEntry type. Written for evident; not OpenParallax code.
//
// Usage: go run tests/openparallax_go/main.go OUTDIR
//
//	go run tests/openparallax_go/main.go random FILE SEED N   (N random entries)
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

type entry struct {
	ID           string `json:"id"`
	EventType    int    `json:"event_type"`
	Timestamp    int64  `json:"timestamp"`
	SessionID    string `json:"session_id,omitempty"`
	ActionType   string `json:"action_type,omitempty"`
	DetailsJSON  string `json:"details_json,omitempty"`
	PreviousHash string `json:"previous_hash"`
	Hash         string `json:"hash"`
	OTR          bool   `json:"otr"`
	Source       string `json:"source,omitempty"`
}

// sorted writes v (decoded from JSON into any) with object keys sorted.
func sorted(b *strings.Builder, v any) {
	switch t := v.(type) {
	case map[string]any:
		names := make([]string, 0, len(t))
		for k := range t {
			names = append(names, k)
		}
		sort.Strings(names)
		b.WriteByte('{')
		for i, k := range names {
			if i > 0 {
				b.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			b.Write(kb)
			b.WriteByte(':')
			sorted(b, t[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, x := range t {
			if i > 0 {
				b.WriteByte(',')
			}
			sorted(b, x)
		}
		b.WriteByte(']')
	default:
		vb, err := json.Marshal(t)
		if err != nil {
			panic(err)
		}
		b.Write(vb)
	}
}

func hashOf(e entry) string {
	e.Hash = ""
	raw, err := json.Marshal(e)
	if err != nil {
		panic(err)
	}
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		panic(err)
	}
	var b strings.Builder
	sorted(&b, generic)
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

func write(path string, es []entry) {
	var out strings.Builder
	prev := ""
	for _, e := range es {
		e.PreviousHash = prev
		e.Hash = hashOf(e)
		line, err := json.Marshal(e)
		if err != nil {
			panic(err)
		}
		out.Write(line)
		out.WriteByte('\n')
		prev = e.Hash
	}
	if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
		panic(err)
	}
	fmt.Println(path, len(es), prev)
}

// randomEntries makes n entries with strings drawn from characters Go's
// encoding escapes in every way (and invalid UTF-8), and integers from the
// whole int64 range, for differential checks of a verifier.
func randomEntries(n int, seed int64) []entry {
	r := rand.New(rand.NewSource(seed))
	pool := []string{"a", "Z", "0", " ", "<", ">", "&", "\"", "\\", "/", "\b", "\f", "\n", "\r", "\t",
		"\x00", "\x01", "\x1f", "\x7f", "\u0080", "\u00a0", "é", "\u2028", "\u2029", "\ufeff", "\ufffd",
		"日", "😀", "\xff", "\xe2\x82", "\xed\xa0\x80", "{", "}", "[", "]", ":", ","}
	str := func() string {
		if r.Intn(4) == 0 {
			return ""
		}
		var b strings.Builder
		for i := r.Intn(12); i >= 0; i-- {
			b.WriteString(pool[r.Intn(len(pool))])
		}
		return b.String()
	}
	num := func() int64 {
		switch r.Intn(4) {
		case 0:
			return int64(r.Intn(40)) - 5
		case 1:
			return r.Int63()
		case 2:
			return -r.Int63()
		}
		return 1711929600000 + r.Int63n(1<<40)
	}
	es := make([]entry, n)
	for i := range es {
		es[i] = entry{ID: str(), EventType: int(num()), Timestamp: num(), SessionID: str(),
			ActionType: str(), DetailsJSON: str(), OTR: r.Intn(2) == 0, Source: str()}
	}
	return es
}

func main() {
	if len(os.Args) == 5 && os.Args[1] == "random" {
		seed, _ := strconv.ParseInt(os.Args[3], 10, 64)
		n, _ := strconv.Atoi(os.Args[4])
		write(os.Args[2], randomEntries(n, seed))
		return
	}
	dir := os.Args[1]
	basic := []entry{
		{ID: "6f1f0d3a-6b0e-4c55-9d3e-0a4f7a1d2b01", EventType: 17, Timestamp: 1711929600000, SessionID: "sess-001", Source: "engine"},
		{ID: "6f1f0d3a-6b0e-4c55-9d3e-0a4f7a1d2b02", EventType: 1, Timestamp: 1711929600123, SessionID: "sess-001", ActionType: "run_command",
			DetailsJSON: `{"command":"ls -la","working_dir":"/workspace"}`, Source: "pipeline"},
		{ID: "6f1f0d3a-6b0e-4c55-9d3e-0a4f7a1d2b03", EventType: 4, Timestamp: 1711929600456, SessionID: "sess-001", ActionType: "run_command",
			DetailsJSON: `{"command":"rm -rf /","reason":"denied by policy"}`},
		{ID: "6f1f0d3a-6b0e-4c55-9d3e-0a4f7a1d2b04", EventType: 5, Timestamp: 1711929601000, SessionID: "sess-002", ActionType: "read_file", OTR: true},
		{ID: "6f1f0d3a-6b0e-4c55-9d3e-0a4f7a1d2b05", EventType: 19, Timestamp: 1711929602000, Source: "config",
			DetailsJSON: "not json at all"},
		{ID: "6f1f0d3a-6b0e-4c55-9d3e-0a4f7a1d2b06", EventType: 18, Timestamp: 1711929603000, SessionID: "sess-001"},
	}
	write(filepath.Join(dir, "basic.jsonl"), basic)

	tricky := []entry{
		{ID: "u-1", EventType: 1, Timestamp: 1711929600000, SessionID: "sess-ü",
			ActionType: "write_file", DetailsJSON: `{"path":"/tmp/<a>&b","text":"héllo wörld ✓ 日本語 😀","html":"<script>alert(1)</script>"}`},
		{ID: "u-2", EventType: 2, Timestamp: 1711929600001, ActionType: "a&b<c>d",
			DetailsJSON: "{\"ls\":\"\u2028\u2029\",\"ctl\":\"\\u0001\\b\\f\\n\\r\\t\",\"q\":\"\\\"\\\\/\"}"},
		{ID: "u-3\u007f\u0001\b\f\n\r\t\"\\", EventType: 3, Timestamp: 1711929600002, Source: "\u2028src\u2029"},
		{ID: "u-4", EventType: 99, Timestamp: 9007199254740993, SessionID: "big"},
		{ID: "u-5", EventType: -2, Timestamp: -1, DetailsJSON: `{"n":1.50,"e":1e400,"deep":[[[{"z":1,"a":2}]]]}`},
		{ID: "u-6", EventType: 0, Timestamp: 0},
	}
	write(filepath.Join(dir, "tricky.jsonl"), tricky)

	big := strings.Repeat("0123456789abcdef<&>", 3<<16) // about 3.7 MB
	huge := []entry{
		{ID: "h-1", EventType: 5, Timestamp: 1711929600000, DetailsJSON: `{"blob":"` + big + `"}`},
		{ID: "h-2", EventType: 6, Timestamp: 1711929600001, ActionType: "after"},
	}
	write(filepath.Join(dir, "huge.jsonl"), huge)
}
