// Interop of evident's checkpoints, signed notes, cosignatures and Merkle
// proofs with the reference Go implementations (golang.org/x/mod/sumdb/note,
// github.com/transparency-dev/formats, github.com/transparency-dev/merkle).
// Run: EVIDENT_CLI=/path/to/evident go test -count=1 ./...
package interop

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
)

// fixture: a log written by the evident CLI, its keys and checkpoints.
type fixture struct {
	dir     string
	log     string
	logID   string
	origin  string
	bodies  [][]byte // leaf data, computed here from the JSONL lines
	logKey  string   // path of the private key (evident keygen)
	logPub  string   // vkey text from log.key.pub
	witKey  string
	witPub  string
	cpSmall string // checkpoint of size smallSize
	cpFull  string // checkpoint of the whole log
}

const entries = 12 // plus the genesis: 13 records
const smallSize = 5

func cli(t *testing.T) string {
	t.Helper()
	p := os.Getenv("EVIDENT_CLI")
	if p == "" {
		t.Skip("EVIDENT_CLI is not set (the path of the evident binary)")
	}
	return p
}

// run runs the CLI and returns its exit status, stdout and stderr.
func run(t *testing.T, stdin []byte, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(cli(t), args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if err != nil {
		if x, ok := err.(*exec.ExitError); ok {
			return x.ExitCode(), o.String(), e.String()
		}
		t.Fatalf("evident %v: %v", args, err)
	}
	return 0, o.String(), e.String()
}

func mustRun(t *testing.T, stdin []byte, args ...string) string {
	t.Helper()
	code, out, errs := run(t, stdin, args...)
	if code != 0 {
		t.Fatalf("evident %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func write(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	cli(t)
	d := t.TempDir()
	f := &fixture{dir: d, log: filepath.Join(d, "audit.jsonl")}
	var in strings.Builder
	for i := 1; i <= entries; i++ {
		fmt.Fprintf(&in, `{"event_type":"ACTION_EXECUTED","action":"step_%d","actor":"alice","details":{"i":%d,"unit":"µs","s":"a\"b"}}`+"\n", i, i)
	}
	mustRun(t, []byte(in.String()), "append", f.log, "--json", "-")
	f.logKey = filepath.Join(d, "log.key")
	mustRun(t, nil, "keygen", "--name", "example.com/audit", "-o", f.logKey)
	f.logPub = strings.TrimSpace(read(t, f.logKey+".pub"))
	f.witKey = filepath.Join(d, "w.key")
	mustRun(t, nil, "keygen", "--name", "witness.example/w1", "--witness", "-o", f.witKey)
	f.witPub = strings.TrimSpace(read(t, f.witKey+".pub"))
	f.cpSmall = filepath.Join(d, "cp5")
	mustRun(t, nil, "checkpoint", f.log, "--key", f.logKey, "--size", strconv.Itoa(smallSize), "-o", f.cpSmall)
	f.cpFull = filepath.Join(d, "cp")
	mustRun(t, nil, "checkpoint", f.log, "--key", f.logKey, "-o", f.cpFull)

	// The leaves as spec/checkpoints.md § 1 defines them, computed without
	// evident: each JSONL line without its "hash" member.
	for _, line := range strings.Split(strings.TrimSuffix(read(t, f.log), "\n"), "\n") {
		i := strings.LastIndex(line, `,"hash":"`)
		if i < 0 {
			t.Fatalf("no hash member in %q", line)
		}
		f.bodies = append(f.bodies, []byte(line[:i]+"}"))
	}
	if len(f.bodies) != entries+1 {
		t.Fatalf("%d records, want %d", len(f.bodies), entries+1)
	}
	var g struct {
		LogID string `json:"log_id"`
	}
	if err := json.Unmarshal(f.bodies[0], &g); err != nil || g.LogID == "" {
		t.Fatalf("genesis: %v %q", err, f.bodies[0])
	}
	f.logID = g.LogID
	f.origin = "evident/" + g.LogID
	return f
}

func leafHash(b []byte) []byte { return rfc6962.DefaultHasher.HashLeaf(b) }

// root is the RFC 6962 root of the first n bodies, by transparency-dev's
// compact range.
func (f *fixture) root(t *testing.T, n int) []byte {
	t.Helper()
	rf := compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	r := rf.NewEmptyRange(0)
	for _, b := range f.bodies[:n] {
		if err := r.Append(leafHash(b), nil); err != nil {
			t.Fatal(err)
		}
	}
	h, err := r.GetRootHash(nil)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func unb64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("base64 %q: %v", s, err)
	}
	return b
}

// cpText is a checkpoint body: origin, size, base64 root.
func cpText(origin string, size int, root []byte) string {
	return fmt.Sprintf("%s\n%d\n%s\n", origin, size, b64(root))
}
