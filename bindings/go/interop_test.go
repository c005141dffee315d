package evident_test

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	evident "github.com/evident-audit/evident/bindings/go"
)

// Logs written by the evident CLI (EVIDENT_CLI, or target/release/evident)
// read and verified through the Go API, and the other way round.

func writeKeyFile(t *testing.T, dir string, key []byte) string {
	t.Helper()
	p := filepath.Join(dir, "key.hex")
	if err := os.WriteFile(p, []byte(hex.EncodeToString(key)), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadLogWrittenByCLI(t *testing.T) {
	cliPath(t)
	for _, name := range []string{"cli.jsonl", "cli.evl", "cli-keyed.jsonl"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, name)
			var keyArgs []string
			var key []byte
			if strings.Contains(name, "keyed") {
				key = keyA()
				keyArgs = []string{"--key-file", writeKeyFile(t, dir, key)}
			}
			for i := 1; i <= 3; i++ {
				args := append([]string{"append", path, "--event-type", "CLI", "--action", fmt.Sprintf("cli:%d", i),
					"--actor", "carl", "--host", "hx", "--session", "s", "--source", "cli",
					"--details", fmt.Sprintf(`{"i":%d,"lang":"cli"}`, i), "--success", "true",
					"--duration-ms", "2.5", "--note", "n", "--git-commit", "abc", "--error", "e", "--otr"}, keyArgs...)
				runCLI(t, args...)
			}
			cliHead := strings.TrimSpace(runCLI(t, append([]string{"head", path}, keyArgs...)...))

			r := mustVerify(t, path, evident.VerifyOptions{Key: key})
			if !r.Valid || r.Entries != 3 || !strings.Contains(cliHead, fmt.Sprintf("%d:%s", r.Head.Seq, r.Head.Hash)) {
				t.Fatalf("verify %+v; CLI head %q", r, cliHead)
			}
			es := mustRead(t, path, evident.QueryOptions{})
			for i, e := range es {
				if e.EventType != "CLI" || e.Action != fmt.Sprintf("cli:%d", i+1) || e.Actor != "carl" || e.Host != "hx" ||
					e.SessionID != "s" || e.Source != "cli" || !e.OTR || e.Success == nil || !*e.Success ||
					e.DurationMs == nil || *e.DurationMs != 2.5 || e.Note != "n" || e.GitCommit != "abc" || e.Error != "e" {
					t.Fatalf("entry %d: %+v", i+1, e)
				}
				wantDetails(t, e, map[string]any{"i": float64(i + 1), "lang": "cli"})
			}
			// The Go writer continues the CLI's chain.
			l := mustOpen(t, path, evident.Options{Key: key, Create: evident.OpenExisting})
			mustAppend(t, l, evident.Entry{EventType: "GO", Action: "after-cli"})
			l.Close()
			if r := mustVerify(t, path, evident.VerifyOptions{Key: key}); !r.Valid || r.Entries != 4 {
				t.Fatalf("%+v", r)
			}
			runCLI(t, append([]string{"verify", path}, keyArgs...)...)
		})
	}
}

// cliEntry is one line of `evident cat --json`.
type cliEntry struct {
	Seq        uint64          `json:"seq"`
	TS         string          `json:"ts"`
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

func TestCLIReadsLogWrittenByGo(t *testing.T) {
	cliPath(t)
	for _, name := range []string{"go.jsonl", "go.evl"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), name)
			l := mustOpen(t, path, evident.Options{})
			e := fullEntry()
			mustAppend(t, l, e)
			mustAppend(t, l, evident.Entry{EventType: "GO", Action: "second", Time: time.Date(2024, 1, 2, 3, 4, 5, 6000, time.UTC)})
			l.Close()
			out := runCLI(t, "verify", path)
			if !strings.Contains(out, "valid") {
				t.Fatalf("CLI verify: %s", out)
			}
			goEntries := mustRead(t, path, evident.QueryOptions{})
			sc := bufio.NewScanner(strings.NewReader(runCLI(t, "cat", "--json", path)))
			n := 0
			for sc.Scan() {
				var c cliEntry
				if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
					t.Fatalf("%v: %s", err, sc.Text())
				}
				g := goEntries[n]
				n++
				if c.Seq != g.Seq || c.Hash != g.Hash || c.Prev != g.Prev || c.EventType != g.EventType ||
					c.Action != g.Action || c.Actor != g.Actor || c.Host != g.Host || c.SessionID != g.SessionID ||
					c.Source != g.Source || c.OTR != g.OTR || !reflect.DeepEqual(c.Success, g.Success) ||
					!reflect.DeepEqual(c.DurationMs, g.DurationMs) || c.Error != g.Error || c.Note != g.Note ||
					c.GitCommit != g.GitCommit || string(c.Details) != string(g.Details.(json.RawMessage)) ||
					c.TS != g.Time.Format("2006-01-02T15:04:05.000000Z") {
					t.Errorf("CLI %+v\n Go %+v", c, g)
				}
			}
			if n != 2 {
				t.Fatalf("CLI listed %d entries", n)
			}
		})
	}
}

// Go (one shared-mode handle kept open) and CLI processes append in turns:
// one chain.
func TestGoAndCLIAlternateShared(t *testing.T) {
	cliPath(t)
	path := filepath.Join(t.TempDir(), "shared.jsonl")
	l := mustOpen(t, path, evident.Options{Lock: evident.Shared, LockTimeout: 30 * time.Second})
	for i := 0; i < 3; i++ {
		mustAppend(t, l, evident.Entry{EventType: "X", Action: "go"})
		runCLI(t, "append", path, "--shared", "--lock-timeout", "30", "--event-type", "X", "--action", "cli")
	}
	mustAppend(t, l, evident.Entry{EventType: "X", Action: "go"})
	h, _ := l.Head()
	l.Close()
	r := mustVerify(t, path, evident.VerifyOptions{ExpectedHead: &h})
	if !r.Valid || r.Entries != 7 || h.Seq != 7 {
		t.Fatalf("%+v head %v", r, h)
	}
	for i, e := range mustRead(t, path, evident.QueryOptions{}) {
		if want := []string{"go", "cli"}[i%2]; e.Action != want {
			t.Fatalf("entry %d by %s, want %s", e.Seq, e.Action, want)
		}
	}
}

// Logs written by the Python package (EVIDENT_PYTHON, or target/py-venv).

const pyWrite = `
import json, sys, datetime
import evident
path, key = sys.argv[1], (bytes.fromhex(sys.argv[2]) if len(sys.argv) > 2 else None)
with evident.AuditLog(path, key=key, actor="pat", host="pyhost") as log:
    for i in range(3):
        log.log("PY", f"py:{i}", session_id="py-session", source="python",
                details={"i": i, "lang": "python", "nested": {"ok": True}},
                success=(i % 2 == 0), duration_ms=0.5, note="n", git_commit="def", error="e", otr=True)
    log.log("PY", "imported", ts=datetime.datetime(2024, 5, 1, 12, 0, 0, 7, tzinfo=datetime.timezone.utc))
    h = log.head()
print(f"{h.seq}:{h.hash}")
`

func TestReadLogWrittenByPython(t *testing.T) {
	pythonPath(t)
	for _, name := range []string{"py.jsonl", "py.evl", "py-keyed.jsonl"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), name)
			args := []string{path}
			var key []byte
			if strings.Contains(name, "keyed") {
				key = keyB()
				args = append(args, hex.EncodeToString(key))
			}
			head := strings.TrimSpace(runPython(t, pyWrite, args...))
			r := mustVerify(t, path, evident.VerifyOptions{Key: key})
			if !r.Valid || r.Entries != 4 || fmt.Sprintf("%d:%s", r.Head.Seq, r.Head.Hash) != head {
				t.Fatalf("verify %+v, Python head %s", r, head)
			}
			es := mustRead(t, path, evident.QueryOptions{})
			for i, e := range es[:3] {
				if e.EventType != "PY" || e.Action != fmt.Sprintf("py:%d", i) || e.Actor != "pat" || e.Host != "pyhost" ||
					e.SessionID != "py-session" || e.Source != "python" || !e.OTR || e.Success == nil ||
					*e.Success != (i%2 == 0) || e.DurationMs == nil || *e.DurationMs != 0.5 || e.Note != "n" ||
					e.GitCommit != "def" || e.Error != "e" {
					t.Fatalf("entry %d: %+v", i, e)
				}
				wantDetails(t, e, map[string]any{"i": float64(i), "lang": "python", "nested": map[string]any{"ok": true}})
			}
			if want := time.Date(2024, 5, 1, 12, 0, 0, 7000, time.UTC); !es[3].Time.Equal(want) {
				t.Errorf("imported ts %v, want %v", es[3].Time, want)
			}
		})
	}
}

const pyRead = `
import json, sys
import evident
path, key = sys.argv[1], (bytes.fromhex(sys.argv[2]) if len(sys.argv) > 2 else None)
r = evident.verify(path, key=key)
out = {"valid": r.valid, "entries": r.entries, "head": f"{r.head.seq}:{r.head.hash}", "rows": []}
for e in evident.read_entries(path):
    out["rows"].append({"seq": e.seq, "ts": e.ts.isoformat(), "event_type": e.event_type, "action": e.action,
        "actor": e.actor, "host": e.host, "session_id": e.session_id, "source": e.source, "otr": e.otr,
        "success": e.success, "duration_ms": e.duration_ms, "error": e.error or "", "note": e.note or "",
        "git_commit": e.git_commit or "", "details": e.details, "prev": e.prev, "hash": e.hash})
print(json.dumps(out))
`

func TestPythonReadsLogWrittenByGo(t *testing.T) {
	pythonPath(t)
	path := filepath.Join(t.TempDir(), "go.evl")
	l := mustOpen(t, path, evident.Options{Key: keyA(), Alg: evident.HMACSHA512})
	mustAppend(t, l, fullEntry())
	h := mustAppend(t, l, evident.Entry{EventType: "GO", Action: "second"})
	l.Close()
	var got struct {
		Valid   bool
		Entries uint64
		Head    string
		Rows    []cliEntry
	}
	out := runPython(t, pyRead, path, hex.EncodeToString(keyA()))
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !got.Valid || got.Entries != 2 || got.Head != fmt.Sprintf("%d:%s", h.Seq, h.Hash) || len(got.Rows) != 2 {
		t.Fatalf("Python saw %+v", got)
	}
	goEntries := mustRead(t, path, evident.QueryOptions{})
	for i, c := range got.Rows {
		g := goEntries[i]
		var cd, gd any
		json.Unmarshal(c.Details, &cd)
		g.DecodeDetails(&gd)
		if c.Seq != g.Seq || c.Hash != g.Hash || c.Prev != g.Prev || c.EventType != g.EventType ||
			c.Action != g.Action || c.Actor != g.Actor || c.Host != g.Host || c.SessionID != g.SessionID ||
			c.Source != g.Source || c.OTR != g.OTR || !reflect.DeepEqual(c.Success, g.Success) ||
			!reflect.DeepEqual(c.DurationMs, g.DurationMs) || c.Error != g.Error || c.Note != g.Note ||
			c.GitCommit != g.GitCommit || !reflect.DeepEqual(cd, gd) {
			t.Errorf("Python %+v\n    Go %+v", c, g)
		}
		if ts, err := time.Parse(time.RFC3339Nano, c.TS); err != nil || !ts.Equal(g.Time) {
			t.Errorf("Python ts %q (%v), Go %v", c.TS, err, g.Time)
		}
	}
}

const pyAppendShared = `
import sys
import evident
with evident.AuditLog(sys.argv[1], lock="shared", lock_timeout=30) as log:
    log.log("X", "python")
`

// Go (one shared-mode handle kept open) and Python processes append in
// turns: one chain.
func TestGoAndPythonAlternateShared(t *testing.T) {
	pythonPath(t)
	path := filepath.Join(t.TempDir(), "shared.evl")
	l := mustOpen(t, path, evident.Options{Lock: evident.Shared, LockTimeout: 30 * time.Second})
	for i := 0; i < 3; i++ {
		mustAppend(t, l, evident.Entry{EventType: "X", Action: "go"})
		runPython(t, pyAppendShared, path)
	}
	l.Close()
	r := mustVerify(t, path, evident.VerifyOptions{})
	if !r.Valid || r.Entries != 6 {
		t.Fatalf("%+v", r)
	}
	for i, e := range mustRead(t, path, evident.QueryOptions{}) {
		if want := []string{"go", "python"}[i%2]; e.Action != want {
			t.Fatalf("entry %d by %s, want %s", e.Seq, e.Action, want)
		}
	}
}
