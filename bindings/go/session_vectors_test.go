package evident_test

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	evident "github.com/evident-audit/evident/bindings/go"
)

// TestSessionVectors reads every session vector (spec/vectors/session/*.evs
// with its .expect file, spec/session.md § 11) through the Go API.
func TestSessionVectors(t *testing.T) {
	dir := filepath.Join(vectorsDir(t), "session")
	files, err := filepath.Glob(filepath.Join(dir, "*.evs"))
	if err != nil || len(files) < 6 {
		t.Fatalf("session vectors not found in %s (%v)", dir, err)
	}
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	for _, f := range files {
		stem := strings.TrimSuffix(filepath.Base(f), ".evs")
		t.Run(stem, func(t *testing.T) {
			raw, err := os.ReadFile(strings.TrimSuffix(f, ".evs") + ".expect")
			if err != nil {
				t.Fatal(err)
			}
			var want map[string]any
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), filepath.Base(f))
			if err := os.WriteFile(path, src, 0o644); err != nil {
				t.Fatal(err)
			}
			var k []byte
			if strings.HasPrefix(stem, "keyed") || stem == "compacted" {
				k = key
			}
			vs, err := evident.SessionVersions(path, k)
			if err != nil {
				t.Fatal(err)
			}
			got := []any{}
			for _, v := range vs {
				got = append(got, float64(v.Version))
			}
			if !reflect.DeepEqual(got, want["versions"]) {
				t.Errorf("versions %v, want %v", got, want["versions"])
			}
			rep, err := evident.VerifySession(path, k)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK != want["verify_ok"] {
				t.Errorf("verify ok %v, want %v (%v)", rep.OK, want["verify_ok"], rep.Problems)
			}
			var torn any
			if rep.TornTailAt != nil {
				torn = float64(*rep.TornTailAt)
			}
			if torn != want["torn_tail_at"] {
				t.Errorf("torn_tail_at %v, want %v", torn, want["torn_tail_at"])
			}
			s, err := evident.LoadSession(path, &evident.LoadSessionOptions{Key: k})
			switch want["load"] {
			case "ok":
			case "error:corrupt":
				if !errors.Is(err, evident.ErrCorrupt) {
					t.Fatalf("load: %v, want evident.ErrCorrupt", err)
				}
				return
			case "error:not_found":
				if !errors.Is(err, evident.ErrNotFound) {
					t.Fatalf("load: %v, want evident.ErrNotFound", err)
				}
				return
			default:
				t.Fatalf("unknown expectation %v", want["load"])
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if info, err := s.Info(); err != nil || float64(info.Version) != want["version"] {
				t.Errorf("version %v (%v), want %v", info.Version, err, want["version"])
			}
			js, err := s.JSON()
			if err != nil {
				t.Fatal(err)
			}
			var content map[string]any
			if err := json.Unmarshal(js, &content); err != nil {
				t.Fatal(err)
			}
			delete(content, "path")
			for _, tr := range content["traces"].([]any) {
				m := tr.(map[string]any)
				trace, err := s.GetTrace(m["name"].(string))
				if err != nil {
					t.Fatal(err)
				}
				if err := trace.Verify(); err != nil {
					t.Fatal(err)
				}
				b, err := trace.Bytes()
				if err != nil {
					t.Fatal(err)
				}
				m["samples"] = hex.EncodeToString(b)
				trace.Close()
				delete(m, "mapped")
				delete(m, "compressed")
			}
			// the order of each entry's parameters (ParameterOrder; nil: none)
			if wp, ok := want["history_parameters"]; ok {
				hs, err := s.History()
				if err != nil {
					t.Fatal(err)
				}
				got := []any{}
				for _, h := range hs {
					names := []any{}
					for _, n := range h.ParameterOrder {
						names = append(names, n)
					}
					got = append(got, names)
				}
				if !reflect.DeepEqual(got, wp) {
					t.Errorf("history_parameters %v, want %v", got, wp)
				}
			}
			if !reflect.DeepEqual(content, want["content"]) {
				a, _ := json.Marshal(content)
				b, _ := json.Marshal(want["content"])
				t.Errorf("content differs:\n got %s\nwant %s", a, b)
			}
		})
	}
}
