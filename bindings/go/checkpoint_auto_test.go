package evident

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// Automatic checkpoints from Go: Options.Checkpoint signs every N entries
// and at Close, into <log>.checkpoints and as checkpoint records in the
// log; each verifies with the public key alone, and a log cut after its
// last checkpoint is reported truncated.
func TestAutoCheckpoints(t *testing.T) {
	skey, vkey, err := CheckpointKeygen("example.com/go-test", false)
	if err != nil {
		t.Fatal(err)
	}
	for _, inLog := range []bool{false, true} {
		for _, d := range []Durability{Sync, Buffered} {
			path := filepath.Join(t.TempDir(), "a.jsonl")
			l, err := Open(path, Options{
				Durability: d,
				Checkpoint: &AutoCheckpoint{SigningKey: skey, EveryEntries: 5, InLog: inLog},
			})
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 12; i++ {
				if _, err := l.Append(Entry{EventType: "E", Action: "a"}); err != nil {
					t.Fatal(err)
				}
			}
			if msg, err := l.CheckpointError(); err != nil || msg != "" {
				t.Fatalf("CheckpointError = %q, %v", msg, err)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			cps, err := CheckpointList(path)
			if err != nil {
				t.Fatal(err)
			}
			var sizes []uint64
			for _, c := range cps {
				sizes = append(sizes, c.Size)
				r, err := CheckpointVerify(path, c.Checkpoint, vkey, CheckpointVerifyOptions{})
				if err != nil || r.Outcome != "match" || !r.Valid {
					t.Fatalf("verify %d: %+v %v", c.Size, r, err)
				}
			}
			want := []uint64{6, 11, 13}
			if inLog {
				want = []uint64{6, 12, 15}
			}
			if !reflect.DeepEqual(sizes, want) {
				t.Fatalf("inLog=%v durability=%v: sizes %v, want %v", inLog, d, sizes, want)
			}
			r, err := CheckpointVerifyInLog(path, vkey)
			if err != nil || !r.Valid {
				t.Fatalf("in log: %+v %v", r, err)
			}
			if inLog != (r.Checkpoints == 3) {
				t.Fatalf("in log: %d checkpoint records", r.Checkpoints)
			}
			// Delete the last three records: the last checkpoint catches it.
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			lines := bytes.SplitAfter(b, []byte("\n"))
			lines = lines[:len(lines)-1] // after the final LF
			if err := os.WriteFile(path, bytes.Join(lines[:len(lines)-3], nil), 0o644); err != nil {
				t.Fatal(err)
			}
			rep, err := CheckpointVerify(path, cps[len(cps)-1].Checkpoint, vkey, CheckpointVerifyOptions{})
			if err != nil || rep.Outcome != "truncated" || rep.Valid {
				t.Fatalf("truncated: %+v %v", rep, err)
			}
		}
	}
	if _, err := Open(filepath.Join(t.TempDir(), "b.jsonl"), Options{Checkpoint: &AutoCheckpoint{SigningKey: "nope"}}); err == nil {
		t.Fatal("a bad signing key was accepted")
	}
}
