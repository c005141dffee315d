package evident_test

import (
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"

	evident "github.com/evident-audit/evident/bindings/go"
)

func TestAppendBatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.jsonl")
	l := mustOpen(t, path, evident.Options{Durability: evident.Sync})
	mustAppend(t, l, evident.Entry{EventType: "FIRST"})
	batch := []evident.Entry{
		fullEntry(),
		{EventType: "E", Action: "a<b>&c", Details: map[string]any{"z": 1, "a": []any{1, 2.5}}},
		{EventType: "E", Details: json.RawMessage(`{"b": 1, "a": 2}`)},
		{EventType: "E\x00nul"},
	}
	heads, err := l.AppendBatch(batch)
	if err != nil {
		t.Fatal(err)
	}
	if len(heads) != 4 || heads[0].Seq != 2 || heads[3].Seq != 5 {
		t.Fatalf("heads %+v", heads)
	}
	h, _ := l.Head()
	if h != heads[3] {
		t.Fatalf("head %+v, last batch head %+v", h, heads[3])
	}
	if hs, err := l.AppendBatch(nil); err != nil || len(hs) != 0 {
		t.Fatalf("empty batch: %v %v", hs, err)
	}

	// One invalid entry rejects the whole batch; nothing is written.
	bad := []evident.Entry{{EventType: "ok"}, {EventType: "x", DurationMs: evident.Ptr(math.Inf(1))}}
	_, err = l.AppendBatch(bad)
	e := wantErr(t, err, evident.ErrInvalidArgument, evident.StatusInvalidArgument)
	if !strings.Contains(e.Message, "entry 1") {
		t.Fatalf("message %q does not name the entry", e.Message)
	}
	bad[1] = evident.Entry{EventType: "x", Details: json.RawMessage(`{oops`)}
	_, err = l.AppendBatch(bad)
	wantErr(t, err, evident.ErrInvalidArgument, evident.StatusInvalidArgument)
	if h2, _ := l.Head(); h2 != h {
		t.Fatalf("head moved after a rejected batch: %+v", h2)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.AppendBatch(batch); err == nil {
		t.Fatal("AppendBatch after Close succeeded")
	}
	got := mustRead(t, path, evident.QueryOptions{})
	if len(got) != 5 {
		t.Fatalf("%d entries", len(got))
	}
	if got[2].Action != "a<b>&c" || !strings.HasPrefix(got[4].EventType, "E") {
		t.Fatalf("entries %+v", got[2:])
	}
	for i, e := range got[1:] {
		if e.Hash != heads[i].Hash {
			t.Fatalf("entry %d hash %s, head %s", e.Seq, e.Hash, heads[i].Hash)
		}
	}
	if r := mustVerify(t, path, evident.VerifyOptions{}); !r.Valid {
		t.Fatalf("verify: %+v", r)
	}
}
