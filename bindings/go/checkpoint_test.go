package evident

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The spec's checkpoint vectors (spec/vectors/checkpoints/manifest.json).
func TestCheckpointVectors(t *testing.T) {
	dir := filepath.Join("..", "..", "spec", "vectors", "checkpoints")
	read := func(n string) string {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	var m struct {
		LogVkey     string           `json:"log_vkey"`
		WitnessVkey string           `json:"witness_vkey"`
		Vectors     []map[string]any `json:"vectors"`
	}
	if err := json.Unmarshal([]byte(read("manifest.json")), &m); err != nil {
		t.Fatal(err)
	}
	vkey := strings.TrimSpace(read(m.LogVkey))
	wkey := strings.TrimSpace(read(m.WitnessVkey))
	for _, v := range m.Vectors {
		expect, _ := v["expect"].(string)
		switch v["kind"] {
		case "verify":
			minW := 0
			if f, ok := v["min_witnesses"].(float64); ok {
				minW = int(f)
			}
			got := "bad_signature"
			r, err := CheckpointVerify(filepath.Join(dir, v["log"].(string)), read(v["checkpoint"].(string)), vkey,
				CheckpointVerifyOptions{WitnessKeys: []string{wkey}, MinWitnesses: minW})
			if err == nil {
				got = r.Outcome
			}
			if got != expect {
				t.Errorf("%v: got %s", v, got)
			}
		case "inclusion", "consistency":
			old := ""
			if o, ok := v["old"].(string); ok {
				old = read(o)
			}
			ok, _, err := CheckpointVerifyProof(read(v["proof"].(string)), vkey, old)
			if err != nil {
				ok = false
			}
			if ok != (expect == "ok") {
				t.Errorf("%v: got %v", v, ok)
			}
		case "witness":
			store := t.TempDir()
			for _, r := range v["requests"].([]any) {
				req := r.(map[string]any)
				res, err := WitnessAddCheckpoint(store, strings.TrimSpace(read("witness.skey")), []string{vkey}, read(req["request"].(string)))
				if err != nil {
					t.Fatal(err)
				}
				if float64(res.Status) != req["status"].(float64) {
					t.Errorf("%v: got %d %s", req, res.Status, res.Outcome)
				}
			}
		}
	}
}

func TestCheckpointRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if _, err := l.AppendJSON([]byte(`{"event_type":"E","action":"a"}`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	skey, vkey, err := CheckpointKeygen("example.com/go", false)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := CheckpointCreate(path, skey, CheckpointOptions{})
	if err != nil {
		t.Fatal(err)
	}
	proof, err := CheckpointProve(path, 3, cp)
	if err != nil {
		t.Fatal(err)
	}
	if ok, why, err := CheckpointVerifyProof(proof, vkey, ""); !ok || err != nil {
		t.Fatalf("%v %s %v", ok, why, err)
	}
	r, err := CheckpointVerify(path, cp, vkey, CheckpointVerifyOptions{})
	if err != nil || r.Outcome != "match" || !r.Valid {
		t.Fatalf("%+v %v", r, err)
	}
	if _, err := CheckpointCreate(path, "not a key", CheckpointOptions{}); err == nil {
		t.Fatal("a bad key was accepted")
	}
}

func TestCheckpointVerifyProofOrigin(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		if _, err := l.Append(Entry{EventType: "ACTION_EXECUTED", Action: "a"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	skey, vkey, err := CheckpointKeygen("example.com/go", false)
	if err != nil {
		t.Fatal(err)
	}
	mine, err := CheckpointCreate(path, skey, CheckpointOptions{})
	if err != nil {
		t.Fatal(err)
	}
	origin := strings.SplitN(mine, "\n", 2)[0]
	fork, err := CheckpointCreate(path, skey, CheckpointOptions{Origin: "example.com/fork", NoSidecar: true})
	if err != nil {
		t.Fatal(err)
	}
	proof, err := CheckpointProve(path, 2, fork)
	if err != nil {
		t.Fatal(err)
	}
	// Any origin without one (as before); only the named one with it.
	if ok, why, err := CheckpointVerifyProof(proof, vkey, ""); !ok || err != nil {
		t.Fatalf("%v %s %v", ok, why, err)
	}
	if ok, why, err := CheckpointVerifyProofOrigin(proof, vkey, "", "example.com/fork"); !ok || err != nil {
		t.Fatalf("%v %s %v", ok, why, err)
	}
	ok, why, err := CheckpointVerifyProofOrigin(proof, vkey, "", origin)
	if ok || err != nil || !strings.Contains(why, "example.com/fork") || !strings.Contains(why, origin) {
		t.Fatalf("a proof of another origin: %v %q %v", ok, why, err)
	}
}
