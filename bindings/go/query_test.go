package evident_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	evident "github.com/evident-audit/evident/bindings/go"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// queryLog writes 12 entries: seq i has ts t0+i minutes, session s<i%3>,
// event type T<i%2>, actor u<i%4>, source src<i%2>, action act<i%3>.
func queryLog(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "q.jsonl")
	l := mustOpen(t, path, evident.Options{})
	for i := 1; i <= 12; i++ {
		mustAppend(t, l, evident.Entry{
			Time:      t0.Add(time.Duration(i) * time.Minute),
			SessionID: "s" + itoa(i%3),
			EventType: "T" + itoa(i%2),
			Actor:     "u" + itoa(i%4),
			Source:    "src" + itoa(i%2),
			Action:    "act" + itoa(i%3),
		})
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func itoa(i int) string { return string(rune('0' + i)) }

func seqs(es []evident.Entry) []uint64 {
	var out []uint64
	for _, e := range es {
		out = append(out, e.Seq)
	}
	return out
}

func TestQueryFilters(t *testing.T) {
	path := queryLog(t)
	for name, c := range map[string]struct {
		q    evident.QueryOptions
		want []uint64
	}{
		"all":            {evident.QueryOptions{}, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}},
		"session":        {evident.QueryOptions{SessionID: "s1"}, []uint64{1, 4, 7, 10}},
		"event type":     {evident.QueryOptions{EventType: "T0"}, []uint64{2, 4, 6, 8, 10, 12}},
		"action":         {evident.QueryOptions{Action: "act2"}, []uint64{2, 5, 8, 11}},
		"actor":          {evident.QueryOptions{Actor: "u3"}, []uint64{3, 7, 11}},
		"source":         {evident.QueryOptions{Source: "src1"}, []uint64{1, 3, 5, 7, 9, 11}},
		"since":          {evident.QueryOptions{Since: t0.Add(10 * time.Minute)}, []uint64{10, 11, 12}},
		"until":          {evident.QueryOptions{Until: t0.Add(3 * time.Minute)}, []uint64{1, 2}},
		"since+until":    {evident.QueryOptions{Since: t0.Add(4 * time.Minute), Until: t0.Add(6*time.Minute + time.Second)}, []uint64{4, 5, 6}},
		"seq range":      {evident.QueryOptions{SeqMin: 5, SeqMax: 7}, []uint64{5, 6, 7}},
		"seq max":        {evident.QueryOptions{SeqMax: 2}, []uint64{1, 2}},
		"newest first":   {evident.QueryOptions{Order: evident.NewestFirst, Limit: 3}, []uint64{12, 11, 10}},
		"limit":          {evident.QueryOptions{Limit: 2}, []uint64{1, 2}},
		"combined":       {evident.QueryOptions{SessionID: "s1", EventType: "T0", Order: evident.NewestFirst}, []uint64{10, 4}},
		"newest seq min": {evident.QueryOptions{Order: evident.NewestFirst, SeqMin: 10}, []uint64{12, 11, 10}},
		"nothing":        {evident.QueryOptions{SessionID: "nope"}, nil},
		"local time":     {evident.QueryOptions{Since: t0.Add(11 * time.Minute).In(time.FixedZone("X", 3600))}, []uint64{11, 12}},
	} {
		got := seqs(mustRead(t, path, c.q))
		if !equalSeqs(got, c.want) {
			t.Errorf("%s: got %v, want %v", name, got, c.want)
		}
		// The range-over-func form yields the same entries.
		var viaSeq []uint64
		for e, err := range evident.Entries(path, c.q) {
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			viaSeq = append(viaSeq, e.Seq)
		}
		if !equalSeqs(viaSeq, c.want) {
			t.Errorf("%s via Entries: got %v, want %v", name, viaSeq, c.want)
		}
	}
	_, err := evident.ReadEntries(path, evident.QueryOptions{Order: 9})
	wantErr(t, err, evident.ErrInvalidArgument, evident.StatusInvalidArgument)
	_, err = evident.ReadEntries(path, evident.QueryOptions{Limit: -1})
	wantErr(t, err, evident.ErrInvalidArgument, evident.StatusInvalidArgument)
	_, err = evident.ReadEntries(path, evident.QueryOptions{Actor: "a\x00"})
	wantErr(t, err, evident.ErrInvalidArgument, evident.StatusInvalidArgument)
}

func equalSeqs(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestIterator(t *testing.T) {
	path := queryLog(t)
	it, err := evident.Query(path, evident.QueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for it.Next() {
		n++
		if e := it.Entry(); e.Seq != n || e.Hash == "" || !e.Time.Equal(t0.Add(time.Duration(n)*time.Minute)) {
			t.Fatalf("entry %d: %+v", n, e)
		}
		if n == 5 {
			break
		}
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	if err := it.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if it.Next() || it.Err() != nil {
		t.Fatal("Next after Close")
	}

	// Reading to the end: Next stays false, no error.
	it, _ = evident.Query(path, evident.QueryOptions{})
	defer it.Close()
	for it.Next() {
	}
	if it.Err() != nil || it.Next() {
		t.Fatal(it.Err())
	}

	// Breaking out of a range loop closes the iterator (the log can be
	// read again and nothing leaks; the race detector sees no problem).
	for e := range evident.Entries(path, evident.QueryOptions{}) {
		if e.Seq == 2 {
			break
		}
	}
}

func TestQueryErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := evident.Query(filepath.Join(dir, "missing.jsonl"), evident.QueryOptions{})
	e := wantErr(t, err, evident.ErrIO, evident.StatusIO)
	if !strings.Contains(e.Message, "missing.jsonl") {
		t.Errorf("%q", e.Message)
	}
	_, err = evident.ReadEntries(filepath.Join(vectorsDir(t), "not_a_log.log"), evident.QueryOptions{})
	wantErr(t, err, evident.ErrMalformed, evident.StatusMalformed)
	n := 0
	for _, err := range evident.Entries(filepath.Join(dir, "missing.jsonl"), evident.QueryOptions{}) {
		n++
		wantErr(t, err, evident.ErrIO, evident.StatusIO)
	}
	if n != 1 {
		t.Fatalf("%d items for a missing file", n)
	}

	// A damaged line in the middle: Next stops there with ErrMalformed
	// naming its line; Entries reports it and goes on with the next record.
	damaged := filepath.Join(vectorsDir(t), "malformed_line.jsonl")
	es, err := evident.ReadEntries(damaged, evident.QueryOptions{})
	e = wantErr(t, err, evident.ErrMalformed, evident.StatusMalformed)
	if len(es) == 0 || !strings.Contains(e.Message, "line") {
		t.Fatalf("%d entries before %q", len(es), e.Message)
	}
	var got []uint64
	var errs []error
	for e, err := range evident.Entries(damaged, evident.QueryOptions{}) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		got = append(got, e.Seq)
	}
	if len(errs) != 1 || !errors.Is(errs[0], evident.ErrMalformed) || len(got) <= len(es) {
		t.Fatalf("Entries over a damaged line: seqs %v, errors %v (ReadEntries stopped after %d)", got, errs, len(es))
	}
	t.Logf("ReadEntries: %v then %v; Entries: %v", seqs(es), err, got)
}

// Reading on past errors ends on every damaged vector log (no endless
// repetition of one error), and yields at most as many entries as verify
// counts entry records.
func TestEntriesEndsOnEveryVector(t *testing.T) {
	var logs []string
	for _, pat := range []string{"*.jsonl", "*.evl", "*.log"} {
		m, _ := filepath.Glob(filepath.Join(vectorsDir(t), pat))
		logs = append(logs, m...)
	}
	for _, log := range logs {
		items, entries := 0, 0
		for _, err := range evident.Entries(log, evident.QueryOptions{}) {
			items++
			if err == nil {
				entries++
			} else if !errors.Is(err, evident.ErrMalformed) && !errors.Is(err, evident.ErrUnsupported) {
				t.Errorf("%s: %v", filepath.Base(log), err)
			}
			if items > 1000 {
				t.Fatalf("%s: more than 1000 items", filepath.Base(log))
			}
		}
		r, err := evident.Verify(log, evident.VerifyOptions{})
		if err == nil && uint64(entries) > r.Entries {
			t.Errorf("%s: query yielded %d entries, verify read %d", filepath.Base(log), entries, r.Entries)
		}
	}
}
