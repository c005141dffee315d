package evident_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	evident "github.com/evident-audit/evident/bindings/go"
)

var hexRe = regexp.MustCompile(`^[0-9a-f]+$`)

func TestVersion(t *testing.T) {
	if v := evident.Version(); !regexp.MustCompile(`^\d+\.\d+\.\d+`).MatchString(v) {
		t.Fatalf("Version() = %q", v)
	}
	abi := evident.ABIVersion()
	if abi>>16 != evident.HeaderABIVersion>>16 || abi < evident.HeaderABIVersion {
		t.Fatalf("library ABI %#x is not compatible with header ABI %#x", abi, evident.HeaderABIVersion)
	}
}

// fullEntry sets every field an entry can have.
func fullEntry() evident.Entry {
	return evident.Entry{
		EventType:  "ACTION_EXECUTED",
		Action:     "load_trace",
		Actor:      "alice",
		Host:       "bench-3",
		SessionID:  "s-42",
		Source:     "scope-ui",
		OTR:        true,
		Success:    evident.Ptr(false),
		DurationMs: evident.Ptr(12.5),
		Error:      "file not found: ch1.bin",
		Note:       "retried once — ünïcode ✓",
		GitCommit:  "0123456789abcdef",
		Details:    map[string]any{"file": "ch1.bin", "channels": []int{1, 2}, "nested": map[string]any{"ok": true}},
	}
}

func TestAppendAndReadEveryField(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts evident.Options
		alg  evident.Alg
		hex  int
	}{
		{"a.jsonl", evident.Options{}, evident.SHA256, 64},
		{"a.evl", evident.Options{}, evident.SHA256, 64},
		{"k.jsonl", evident.Options{Key: keyA()}, evident.HMACSHA256, 64},
		{"k.evl", evident.Options{Key: keyA(), Alg: evident.HMACSHA512}, evident.HMACSHA512, 128},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tc.name)
			tc.opts.Actor, tc.opts.Host = "default-actor", "default-host"
			l := mustOpen(t, path, tc.opts)
			if l.Alg() != tc.alg {
				t.Errorf("Alg() = %v, want %v", l.Alg(), tc.alg)
			}
			wantFraming := evident.JSONL
			if strings.HasSuffix(tc.name, ".evl") {
				wantFraming = evident.Binary
			}
			if l.Framing() != wantFraming {
				t.Errorf("Framing() = %v, want %v", l.Framing(), wantFraming)
			}
			if len(l.LogID()) != 32 || !hexRe.MatchString(l.LogID()) {
				t.Errorf("LogID() = %q", l.LogID())
			}
			if (tc.opts.Key != nil) != (l.KeyID() != "") {
				t.Errorf("KeyID() = %q with key %v", l.KeyID(), tc.opts.Key != nil)
			}
			if l.Path() != path {
				t.Errorf("Path() = %q", l.Path())
			}
			before := time.Now().UTC().Truncate(time.Microsecond)
			h1 := mustAppend(t, l, fullEntry())
			h2 := mustAppend(t, l, evident.Entry{EventType: "E", Action: "minimal"})
			imported := time.Date(2024, 5, 1, 12, 0, 0, 123456000, time.UTC)
			h3 := mustAppend(t, l, evident.Entry{EventType: "E", Action: "import", Time: imported})
			after := time.Now().UTC()
			if h1.Seq != 1 || h2.Seq != 2 || h3.Seq != 3 {
				t.Fatalf("heads %v %v %v", h1, h2, h3)
			}
			for _, h := range []evident.Head{h1, h2, h3} {
				if len(h.Hash) != tc.hex || !hexRe.MatchString(h.Hash) {
					t.Fatalf("head hash %q", h.Hash)
				}
			}
			if h, err := l.Head(); err != nil || h != h3 {
				t.Fatalf("Head() = %v, %v; want %v", h, err, h3)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}

			es := mustRead(t, path, evident.QueryOptions{})
			if len(es) != 3 {
				t.Fatalf("read %d entries", len(es))
			}
			got := es[0]
			want := fullEntry()
			if got.Seq != 1 || got.Hash != h1.Hash || len(got.Prev) != tc.hex {
				t.Errorf("seq/hash/prev: %d %q %q", got.Seq, got.Hash, got.Prev)
			}
			if got.Time.Before(before) || got.Time.After(after) {
				t.Errorf("Time %v not within [%v, %v]", got.Time, before, after)
			}
			if got.EventType != want.EventType || got.Action != want.Action || got.Actor != want.Actor ||
				got.Host != want.Host || got.SessionID != want.SessionID || got.Source != want.Source ||
				got.OTR != want.OTR || got.Error != want.Error || got.Note != want.Note || got.GitCommit != want.GitCommit {
				t.Errorf("fields differ:\n got %+v\nwant %+v", got, want)
			}
			if got.Success == nil || *got.Success != false || got.DurationMs == nil || *got.DurationMs != 12.5 {
				t.Errorf("success/duration: %v %v", got.Success, got.DurationMs)
			}
			var d map[string]any
			if err := got.DecodeDetails(&d); err != nil {
				t.Fatal(err)
			}
			wantD := map[string]any{"file": "ch1.bin", "channels": []any{1.0, 2.0}, "nested": map[string]any{"ok": true}}
			if !reflect.DeepEqual(d, wantD) {
				t.Errorf("details %v, want %v", d, wantD)
			}
			if _, ok := got.Details.(json.RawMessage); !ok {
				t.Errorf("Details read back is %T, want json.RawMessage", got.Details)
			}

			min := es[1]
			if min.Actor != "default-actor" || min.Host != "default-host" || min.OTR || min.Success != nil ||
				min.DurationMs != nil || min.Error != "" || min.Note != "" || min.GitCommit != "" ||
				string(min.Details.(json.RawMessage)) != "{}" {
				t.Errorf("minimal entry read back as %+v", min)
			}
			if min.Prev != h1.Hash || min.Hash != h2.Hash {
				t.Errorf("chain: prev %q hash %q, want %q %q", min.Prev, min.Hash, h1.Hash, h2.Hash)
			}
			if !es[2].Time.Equal(imported) {
				t.Errorf("imported Time %v, want %v", es[2].Time, imported)
			}

			vo := evident.VerifyOptions{ExpectedHead: &h3}
			if tc.opts.Key != nil {
				vo.Key = tc.opts.Key
			}
			r := mustVerify(t, path, vo)
			if !r.Valid || r.Entries != 3 || r.Head != h3 || r.Alg != tc.alg || r.Framing != wantFraming ||
				r.LogID != l.LogID() || r.KeyID != l.KeyID() || r.First() != nil || r.ViolationsTotal != 0 {
				t.Errorf("verify: %+v", r)
			}
			if st, _ := os.Stat(path); r.Bytes != uint64(st.Size()) {
				t.Errorf("Bytes %d, file size %d", r.Bytes, st.Size())
			}
		})
	}
}

func TestDetailsForms(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.jsonl")
	l := mustOpen(t, path, evident.Options{})
	type S struct {
		Name string `json:"name"`
		N    int    `json:"n,omitempty"`
	}
	cases := []struct {
		in   any
		want string
	}{
		{nil, `{}`},
		{json.RawMessage(nil), `{}`},
		{json.RawMessage(` [1, 2, {"b":1,"a":2}] `), `[1,2,{"a":2,"b":1}]`},
		{map[string]any{"x": 1}, `{"x":1}`},
		{S{Name: "n"}, `{"name":"n"}`},
		{"just a string", `"just a string"`},
		{42, `42`},
		{map[string]string{"html": "<a&b>"}, `{"html":"<a&b>"}`},
		// spec § 5.4: nil is "no details" ({}); the JSON value null is kept.
		{json.RawMessage(`null`), `null`},
		{(*S)(nil), `null`},
	}
	for _, c := range cases {
		mustAppend(t, l, evident.Entry{Action: "d", Details: c.in})
	}
	es := mustRead(t, path, evident.QueryOptions{})
	for i, c := range cases {
		if got := string(es[i].Details.(json.RawMessage)); got != c.want {
			t.Errorf("details %#v stored as %s, want %s", c.in, got, c.want)
		}
	}

	_, err := l.Append(evident.Entry{Details: json.RawMessage(`{"a":`)})
	wantErr(t, err, evident.ErrInvalidArgument, evident.StatusInvalidArgument)
	// spec § 5.5: a record nests at most 128 levels (details 127).
	deep := strings.Repeat("[", 128) + strings.Repeat("]", 128)
	_, err = l.Append(evident.Entry{Details: json.RawMessage(deep)})
	wantErr(t, err, evident.ErrInvalidArgument, evident.StatusInvalidArgument)
	_, err = l.Append(evident.Entry{Details: map[string]any{"c": make(chan int)}})
	wantErr(t, err, evident.ErrInvalidArgument, evident.StatusInvalidArgument)
	_, err = l.Append(evident.Entry{DurationMs: evident.Ptr(1.0 / zero())})
	wantErr(t, err, evident.ErrInvalidArgument, evident.StatusInvalidArgument)
	if h, _ := l.Head(); h.Seq != uint64(len(cases)) {
		t.Fatalf("a failed append changed the head: %v", h)
	}
	// The JSON form (strings with U+0000) keeps null too.
	if _, err := l.Append(evident.Entry{Action: "nul\x00", Details: json.RawMessage(`null`)}); err != nil {
		t.Fatal(err)
	}
	last := mustRead(t, path, evident.QueryOptions{})
	if got := string(last[len(last)-1].Details.(json.RawMessage)); got != `null` {
		t.Errorf("null details through the JSON form stored as %s", got)
	}
}

func zero() float64 { return 0 }

func TestAppendJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	l := mustOpen(t, path, evident.Options{})
	h, err := l.AppendJSON([]byte(`{"event_type":"E","action":"from_json","actor":"bob","session_id":"s",
		"success":true,"duration_ms":3,"note":"n","details":{"k":[1]},"ts":"2024-05-01T00:00:00Z"}`))
	if err != nil || h.Seq != 1 {
		t.Fatalf("AppendJSON: %v %v", h, err)
	}
	for _, bad := range []string{`{"action":`, `[1]`, `{"unknown_field":1}`, `{"ts":"yesterday"}`, `{"action":5}`} {
		_, err := l.AppendJSON([]byte(bad))
		e := wantErr(t, err, evident.ErrInvalidArgument, evident.StatusInvalidArgument)
		t.Logf("%s -> %s", bad, e.Message)
	}
	_, err = l.AppendJSON([]byte("{}\x00{\"x\":1}"))
	wantErr(t, err, evident.ErrInvalidArgument, evident.StatusInvalidArgument)
	_, err = l.AppendJSON([]byte("{\"action\":\"\xff\"}"))
	if err == nil {
		t.Fatal("invalid UTF-8 in JSON accepted")
	}
	l.Close()
	es := mustRead(t, path, evident.QueryOptions{})
	if len(es) != 1 {
		t.Fatalf("%d entries", len(es))
	}
	e := es[0]
	if e.Action != "from_json" || e.Actor != "bob" || e.SessionID != "s" || *e.Success != true ||
		*e.DurationMs != 3 || e.Note != "n" || !e.Time.Equal(time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)) ||
		string(e.Details.(json.RawMessage)) != `{"k":[1]}` {
		t.Fatalf("read back %+v", e)
	}
}

// A string with U+0000 cannot travel as a C string: Append sends the entry
// as JSON instead, so nothing is cut off in the log.
func TestAppendFieldWithNUL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nul.jsonl")
	l := mustOpen(t, path, evident.Options{})
	h := mustAppend(t, l, evident.Entry{EventType: "E", Action: "a\x00b", Note: "n\x00", Details: map[string]any{"k": "v\x00w"},
		Success: evident.Ptr(true), Actor: "x"})
	if h.Seq != 1 {
		t.Fatal(h)
	}
	_, err := l.Append(evident.Entry{Action: "\x00", Note: "\xff"})
	wantErr(t, err, evident.ErrInvalidUTF8, evident.StatusInvalidUTF8)
	l.Close()
	raw, _ := os.ReadFile(path)
	for _, want := range []string{`"action":"a\u0000b"`, `"note":"n\u0000"`, `"k":"v\u0000w"`, `"success":true`, `"actor":"x"`} {
		if !bytes.Contains(raw, []byte(want)) {
			t.Errorf("log lacks %s:\n%s", want, raw)
		}
	}
	if r := mustVerify(t, path, evident.VerifyOptions{}); !r.Valid || r.Entries != 1 {
		t.Fatalf("%+v", r)
	}
}

func TestInvalidUTF8(t *testing.T) {
	l := mustOpen(t, filepath.Join(t.TempDir(), "u.jsonl"), evident.Options{})
	_, err := l.Append(evident.Entry{Action: "bad \xff byte"})
	wantErr(t, err, evident.ErrInvalidUTF8, evident.StatusInvalidUTF8)
	if !strings.Contains(err.Error(), "UTF-8") {
		t.Errorf("message %q", err)
	}
	if h, _ := l.Head(); h.Seq != 0 {
		t.Fatal("entry appended")
	}
}

func TestTooLarge(t *testing.T) {
	l := mustOpen(t, filepath.Join(t.TempDir(), "big.jsonl"), evident.Options{Durability: evident.Buffered})
	big := strings.Repeat("x", 16*1024*1024+1)
	_, err := l.Append(evident.Entry{Action: "big", Details: map[string]string{"blob": big}})
	wantErr(t, err, evident.ErrTooLarge, evident.StatusTooLarge)
	if h, err := l.Append(evident.Entry{Action: "small"}); err != nil || h.Seq != 1 {
		t.Fatalf("append after a refused one: %v %v", h, err)
	}
}

func TestBufferedSyncAndHead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.evl")
	l := mustOpen(t, path, evident.Options{Durability: evident.Buffered, BufferSize: 1 << 20})
	for i := 0; i < 5; i++ {
		mustAppend(t, l, evident.Entry{Action: "a" + strconv.Itoa(i)})
	}
	h, err := l.Head()
	if err != nil || h.Seq != 5 {
		t.Fatalf("Head() = %v, %v", h, err)
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	// After Sync every entry is in the file, while the log is still open.
	if es := mustRead(t, path, evident.QueryOptions{}); len(es) != 5 || es[4].Hash != h.Hash {
		t.Fatalf("after Sync read %d entries", len(es))
	}
	if r := mustVerify(t, path, evident.VerifyOptions{ExpectedHead: &h}); !r.Valid {
		t.Fatalf("%+v", r)
	}
}

func TestCloseTwiceAndUseAfterClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.jsonl")
	l, err := evident.Open(path, evident.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, l, evident.Entry{Action: "x"})
	id := l.LogID()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, err = l.Append(evident.Entry{Action: "y"})
	e := wantErr(t, err, evident.ErrClosed, evident.StatusClosed)
	if !strings.Contains(e.Message, path) {
		t.Errorf("message %q does not name the log", e.Message)
	}
	_, err = l.AppendJSON([]byte(`{}`))
	wantErr(t, err, evident.ErrClosed, evident.StatusClosed)
	wantErr(t, l.Sync(), evident.ErrClosed, evident.StatusClosed)
	_, err = l.Head()
	wantErr(t, err, evident.ErrClosed, evident.StatusClosed)
	_, err = l.Recovery()
	wantErr(t, err, evident.ErrClosed, evident.StatusClosed)
	if l.LogID() != id || l.Path() != path {
		t.Error("accessors changed after Close")
	}
	// Close released the lock.
	l2 := mustOpen(t, path, evident.Options{})
	if h, _ := l2.Head(); h.Seq != 1 {
		t.Fatal(h)
	}
}

func TestRecoveryMovesTornTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.jsonl")
	l := mustOpen(t, path, evident.Options{})
	rec, err := l.Recovery()
	if err != nil || !rec.Created || len(rec.TornTails) != 0 {
		t.Fatalf("new log: %+v %v", rec, err)
	}
	var last evident.Head
	for i := 0; i < 3; i++ {
		last = mustAppend(t, l, evident.Entry{Action: "a"})
	}
	l.Close()
	st, _ := os.Stat(path)
	size := st.Size()
	torn := []byte(`{"v":1,"seq":4,"prev":"` + last.Hash[:10])
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.Write(torn)
	f.Close()

	r := mustVerify(t, path, evident.VerifyOptions{})
	if r.Valid || !r.OnlyTornTail || r.First().Kind != evident.KindTornTail || r.First().Offset != uint64(size) ||
		r.First().HasSeq || r.Entries != 3 || r.Head != last {
		t.Fatalf("verify of a torn tail: %+v", r)
	}
	if r.First().Kind.String() != "torn_tail" || !strings.Contains(r.First().String(), "torn_tail at seq none, line 5") {
		t.Errorf("violation text %q", r.First().String())
	}
	// Without watching the tail for a writer (a negative InFlightWait): the same report.
	if r2 := mustVerify(t, path, evident.VerifyOptions{InFlightWait: -1}); r2.Valid || !r2.OnlyTornTail ||
		r2.InFlightTail != 0 || r2.First().Offset != uint64(size) || r2.Entries != 3 {
		t.Fatalf("verify of a torn tail without a wait: %+v", r2)
	}
	// A wait far longer than a writer's pause: the record it completes is in flight.
	for round := 0; ; round++ {
		done := make(chan struct{})
		go func() {
			defer close(done)
			time.Sleep(200 * time.Millisecond)
			f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			f.Write([]byte("x"))
			f.Close()
		}()
		r3 := mustVerify(t, path, evident.VerifyOptions{InFlightWait: 5 * time.Second})
		<-done
		if err := os.Truncate(path, size+int64(len(torn))); err != nil {
			t.Fatal(err)
		}
		if r3.Valid && r3.InFlightTail == uint64(len(torn)) && r3.Entries == 3 {
			break
		}
		if round == 9 { // a loaded machine may run the writer before verify looks
			t.Fatalf("verify while the file grows: %+v", r3)
		}
	}

	l2 := mustOpen(t, path, evident.Options{Create: evident.OpenExisting})
	rec, err = l2.Recovery()
	if err != nil || rec.Created || len(rec.TornTails) != 1 {
		t.Fatalf("recovery %+v %v", rec, err)
	}
	tt := rec.TornTails[0]
	if tt.Offset != uint64(size) || tt.Len != uint64(len(torn)) {
		t.Fatalf("torn tail %+v, want offset %d len %d", tt, size, len(torn))
	}
	if b, err := os.ReadFile(tt.Sidecar); err != nil || !bytes.Equal(b, torn) {
		t.Fatalf("sidecar %s: %q %v", tt.Sidecar, b, err)
	}
	if h, _ := l2.Head(); h != last {
		t.Fatalf("resumed at %v, want %v", h, last)
	}
	mustAppend(t, l2, evident.Entry{Action: "after"})
	l2.Close()
	if r := mustVerify(t, path, evident.VerifyOptions{}); !r.Valid || r.Entries != 4 {
		t.Fatalf("%+v", r)
	}
}

func TestRecoveryReportsATruncation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.jsonl")
	l := mustOpen(t, path, evident.Options{})
	mustAppend(t, l, evident.Entry{Action: "a"})
	st, _ := os.Stat(path)
	cut := st.Size()
	mustAppend(t, l, evident.Entry{Action: "b"})
	l.Close()
	st, _ = os.Stat(path)
	durable := st.Size()
	if err := os.Truncate(path, cut); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, path, evident.Options{Create: evident.OpenExisting})
	rec, err := l.Recovery()
	want := evident.Truncated{DurableLen: uint64(durable), Len: uint64(cut)}
	if err != nil || rec.Truncated == nil || *rec.Truncated != want || len(rec.TornTails) != 0 {
		t.Fatalf("recovery %+v %v, want truncated %+v", rec, err, want)
	}
	l.Close()
	l = mustOpen(t, path, evident.Options{Create: evident.OpenExisting})
	if rec, err := l.Recovery(); err != nil || rec.Truncated != nil {
		t.Fatalf("reported twice: %+v %v", rec, err)
	}
	l.Close()
}

func TestOpenOptions(t *testing.T) {
	dir := t.TempDir()

	// An explicit framing wins over the file name.
	bin := filepath.Join(dir, "bin.jsonl")
	l := mustOpen(t, bin, evident.Options{Framing: evident.Binary})
	l.Close()
	if b, _ := os.ReadFile(bin); !bytes.HasPrefix(b, []byte{0x89, 'E', 'V', 'D', '\r', '\n', 0x1a, '\n'}) {
		t.Fatalf("not a binary log: % x", b[:8])
	}
	_, err := evident.Open(bin, evident.Options{Framing: evident.JSONL})
	if err == nil {
		t.Fatal("opened a binary log as JSONL")
	}
	t.Logf("framing mismatch: %v", err)

	// OpenExisting and CreateNew.
	missing := filepath.Join(dir, "missing.jsonl")
	_, err = evident.Open(missing, evident.Options{Create: evident.OpenExisting})
	wantErr(t, err, evident.ErrIO, evident.StatusIO)
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Fatal("OpenExisting created the log")
	}
	_, err = evident.Open(bin, evident.Options{Create: evident.CreateNew})
	wantErr(t, err, evident.ErrIO, evident.StatusIO)
	l = mustOpen(t, filepath.Join(dir, "new.jsonl"), evident.Options{Create: evident.CreateNew})
	if rec, _ := l.Recovery(); !rec.Created {
		t.Fatal("CreateNew did not create")
	}

	// Arguments the library refuses.
	for name, o := range map[string]evident.Options{
		"short key":          {Key: []byte("short")},
		"hmac without a key": {Alg: evident.HMACSHA256},
		"unknown durability": {Durability: 9},
		"unknown lock mode":  {Lock: 7},
		"unknown framing":    {Framing: 5},
		"unknown alg":        {Alg: 8},
		"negative timeout":   {LockTimeout: -time.Second},
		"unknown create":     {Create: 42},
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".jsonl")
		_, err := evident.Open(p, o)
		e := wantErr(t, err, evident.ErrInvalidArgument, evident.StatusInvalidArgument)
		t.Logf("%s: %s", name, e.Message)
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s: the log was created", name)
		}
	}
	_, err = evident.Open(filepath.Join(dir, "nul\x00.jsonl"), evident.Options{})
	wantErr(t, err, evident.ErrInvalidArgument, evident.StatusInvalidArgument)
}

func TestLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "l.jsonl")
	l := mustOpen(t, path, evident.Options{})
	_, err := evident.Open(path, evident.Options{})
	e := wantErr(t, err, evident.ErrLocked, evident.StatusLocked)
	t.Log(e.Message)
	if !strings.Contains(e.Message, strconv.Itoa(os.Getpid())) {
		t.Errorf("message %q does not name the holder's pid", e.Message)
	}
	_, err = evident.Open(path, evident.Options{LockTimeout: 20 * time.Millisecond})
	wantErr(t, err, evident.ErrLocked, evident.StatusLocked)
	l.Close()
	mustOpen(t, path, evident.Options{})
}

func TestSharedMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.jsonl")
	a := mustOpen(t, path, evident.Options{Lock: evident.Shared})
	b := mustOpen(t, path, evident.Options{Lock: evident.Shared, LockTimeout: 5 * time.Second})
	for i := 0; i < 4; i++ {
		mustAppend(t, a, evident.Entry{Action: "a"})
		mustAppend(t, b, evident.Entry{Action: "b"})
	}
	a.Close()
	b.Close()
	r := mustVerify(t, path, evident.VerifyOptions{})
	if !r.Valid || r.Entries != 8 {
		t.Fatalf("%+v", r)
	}
	es := mustRead(t, path, evident.QueryOptions{})
	for i, e := range es {
		if want := []string{"a", "b"}[i%2]; e.Action != want {
			t.Fatalf("entry %d is %q, want %q", i+1, e.Action, want)
		}
	}
}

func TestWrongKey(t *testing.T) {
	dir := t.TempDir()
	keyed := filepath.Join(dir, "k.jsonl")
	l := mustOpen(t, keyed, evident.Options{Key: keyA()})
	mustAppend(t, l, evident.Entry{Action: "a"})
	l.Close()
	keyless := filepath.Join(dir, "n.jsonl")
	mustOpen(t, keyless, evident.Options{}).Close()

	for name, c := range map[string]struct {
		path string
		key  []byte
	}{
		"other key":         {keyed, keyB()},
		"no key":            {keyed, nil},
		"key for a keyless": {keyless, keyA()},
	} {
		_, err := evident.Open(c.path, evident.Options{Key: c.key})
		e := wantErr(t, err, evident.ErrWrongKey, evident.StatusWrongKey)
		t.Logf("%s: %s", name, e.Message)
		r := mustVerify(t, c.path, evident.VerifyOptions{Key: c.key})
		if r.Valid || r.First().Kind != evident.KindWrongKey {
			t.Errorf("%s: verify %+v", name, r)
		}
	}
	if r := mustVerify(t, keyed, evident.VerifyOptions{Key: keyA()}); !r.Valid {
		t.Fatalf("%+v", r)
	}
}

func TestOpenDamagedLogs(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		vector   string
		sentinel error
		status   evident.Status
	}{
		{"last_hash_mismatch.jsonl", evident.ErrCorrupt, evident.StatusCorrupt},
		{"last_hash_mismatch.evl", evident.ErrCorrupt, evident.StatusCorrupt},
		{"not_a_log.log", evident.ErrMalformed, evident.StatusMalformed},
		{"empty.log", evident.ErrMalformed, evident.StatusMalformed},
		{"unsupported_version.jsonl", evident.ErrUnsupported, evident.StatusUnsupported},
		{"unsupported_binary_version.evl", evident.ErrUnsupported, evident.StatusUnsupported},
	} {
		p := filepath.Join(dir, c.vector)
		orig := copyFile(t, filepath.Join(vectorsDir(t), c.vector), p)
		_, err := evident.Open(p, evident.Options{})
		e := wantErr(t, err, c.sentinel, c.status)
		if !strings.Contains(e.Message, p) {
			t.Errorf("%s: message %q does not name the file", c.vector, e.Message)
		}
		if now, _ := os.ReadFile(p); !bytes.Equal(now, orig) {
			t.Errorf("%s: a refused open changed the file", c.vector)
		}
	}
}

func TestStatusNames(t *testing.T) {
	if s := evident.StatusLocked.String(); s != "EVIDENT_STATUS_LOCKED" {
		t.Fatal(s)
	}
	if s := evident.Status(9999).String(); s != "EVIDENT_STATUS_UNKNOWN" {
		t.Fatal(s)
	}
	for _, c := range []struct {
		st       evident.Status
		sentinel error
	}{
		{evident.StatusIO, evident.ErrIO}, {evident.StatusMalformed, evident.ErrMalformed},
		{evident.StatusCorrupt, evident.ErrCorrupt}, {evident.StatusWrongKey, evident.ErrWrongKey},
		{evident.StatusLocked, evident.ErrLocked}, {evident.StatusInvalidArgument, evident.ErrInvalidArgument},
		{evident.StatusTooLarge, evident.ErrTooLarge}, {evident.StatusPoisoned, evident.ErrPoisoned},
		{evident.StatusUnsupported, evident.ErrUnsupported}, {evident.StatusClosed, evident.ErrClosed},
		{evident.StatusNullArgument, evident.ErrNullArgument}, {evident.StatusInvalidUTF8, evident.ErrInvalidUTF8},
		{evident.StatusPanic, evident.ErrInternal},
	} {
		err := fmt.Errorf("wrapped: %w", &evident.Error{Status: c.st, Message: "m"})
		wantErr(t, err, c.sentinel, c.st)
		if e := (&evident.Error{Status: c.st}); e.Error() != c.sentinel.Error() {
			t.Errorf("message-less error %q, want %q", e.Error(), c.sentinel.Error())
		}
	}
}

// An existing empty file (os.CreateTemp) is refused by default and becomes a
// new log with AdoptEmpty, keeping its permission bits.
func TestAdoptEmpty(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "audit-*.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	path := f.Name()
	f.Close()
	if _, err := evident.Open(path, evident.Options{}); !errors.Is(err, evident.ErrMalformed) {
		t.Fatalf("empty file opened without AdoptEmpty: %v", err)
	}
	l, err := evident.Open(path, evident.Options{AdoptEmpty: true})
	if err != nil {
		t.Fatal(err)
	}
	if rec, err := l.Recovery(); err != nil || !rec.Created {
		t.Errorf("an adopted file is reported as created: %+v %v", rec, err)
	}
	if _, err := l.Append(evident.Entry{EventType: "T", Action: "a"}); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v (os.CreateTemp makes 0600)", st.Mode(), err)
	}
	r, err := evident.Verify(path, evident.VerifyOptions{})
	if err != nil || !r.Valid || r.Entries != 1 {
		t.Fatalf("verify: %+v %v", r, err)
	}
}

// Outside review, 7 December: invalid UTF-8 inside Details (a map, a
// struct) was replaced by U+FFFD by encoding/json and the changed value
// logged; it is refused as everywhere else. A real U+FFFD, and the text
// `\ufffd` itself, are kept.
func TestInvalidUTF8InDetails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.jsonl")
	l := mustOpen(t, path, evident.Options{})
	defer l.Close()
	type inner struct{ S string }
	for _, d := range []any{
		map[string]any{"k": "\xff"},
		map[string]any{"\xfe": 1},
		[]any{"ok", map[string]string{"x": "a\xc3"}},
		inner{S: "\xff"},
	} {
		_, err := l.Append(evident.Entry{EventType: "E", Details: d})
		wantErr(t, err, evident.ErrInvalidUTF8, evident.StatusInvalidUTF8)
		_, err = l.AppendBatch([]evident.Entry{{EventType: "E"}, {EventType: "E", Details: d}})
		wantErr(t, err, evident.ErrInvalidUTF8, evident.StatusInvalidUTF8)
	}
	if h, _ := l.Head(); h.Seq != 0 {
		t.Fatal("an entry was appended")
	}
	mustAppend(t, l, evident.Entry{EventType: "E", Details: map[string]any{"r": "\ufffd", "t": `\ufffd`}})
	es, err := evident.ReadEntries(path, evident.QueryOptions{})
	check(t, err)
	var d map[string]any
	check(t, es[0].DecodeDetails(&d))
	if d["r"] != "\ufffd" || d["t"] != `\ufffd` {
		t.Fatalf("%q", d)
	}
}
