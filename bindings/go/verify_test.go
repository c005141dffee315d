package evident_test

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	evident "github.com/evident-audit/evident/bindings/go"
)

// parseExpect reads a spec/vectors/*.expect file (format in the README there).
func parseExpect(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, ": ")
		if !ok {
			t.Fatalf("%s: bad line %q", path, line)
		}
		if _, dup := m[k]; dup {
			t.Fatalf("%s: key %q twice", path, k)
		}
		m[k] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

func parseHead(t *testing.T, s string) evident.Head {
	t.Helper()
	seq, hash, ok := strings.Cut(s, ":")
	n, err := strconv.ParseUint(seq, 10, 64)
	if !ok || err != nil {
		t.Fatalf("bad head %q", s)
	}
	return evident.Head{Seq: n, Hash: hash}
}

// TestSpecVectors verifies every spec vector through the Go API and checks
// the expected result, then opens a copy as a writer and checks `open`.
func TestSpecVectors(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(vectorsDir(t), "*.expect"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no vectors: %v", err)
	}
	sort.Strings(files)
	kinds := map[string]bool{}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".expect")
		m := parseExpect(t, file)
		t.Run(name, func(t *testing.T) {
			log := filepath.Join(vectorsDir(t), m["log"])
			var opts evident.VerifyOptions
			if k, ok := m["key"]; ok {
				key, err := hex.DecodeString(k)
				if err != nil {
					t.Fatal(err)
				}
				opts.Key = key
			}
			if h, ok := m["expected-head"]; ok {
				head := parseHead(t, h)
				opts.ExpectedHead = &head
			}
			opts.ExpectedLogID = m["expected-log-id"]
			for _, run := range []struct {
				threads int
				all     bool
			}{{1, false}, {0, false}, {1, true}, {3, true}} {
				o := opts
				o.Threads, o.All = run.threads, run.all
				r := mustVerify(t, log, o)
				check := func(what, want, got string) {
					if want != got {
						t.Errorf("threads %d all %v: %s: expected %s, got %s", run.threads, run.all, what, want, got)
					}
				}
				valid := "invalid"
				if r.Valid {
					valid = "valid"
				}
				check("expect", m["expect"], valid)
				if m["expect"] == "invalid" {
					v := r.First()
					if v == nil {
						t.Fatalf("invalid without a violation: %+v", r)
					}
					kinds[v.Kind.String()] = true
					seq := "none"
					if v.HasSeq {
						seq = strconv.FormatUint(v.Seq, 10)
					}
					check("kind", m["kind"], v.Kind.String())
					check("seq", m["seq"], seq)
					check("line", m["line"], strconv.FormatUint(v.Line, 10))
					check("offset", m["offset"], strconv.FormatUint(v.Offset, 10))
					if v.Message == "" {
						t.Error("violation without a message")
					}
				} else if r.First() != nil {
					t.Errorf("valid with violations %+v", r.Violations)
				}
				if n, ok := m["violations"]; ok {
					check("violations", n, strconv.FormatUint(r.ViolationsTotal, 10))
					if run.all {
						check("violations listed", n, strconv.Itoa(len(r.Violations)))
					} else if len(r.Violations) > 1 {
						t.Errorf("%d violations kept without All", len(r.Violations))
					}
				}
				if n, ok := m["entries"]; ok {
					check("entries", n, strconv.FormatUint(r.Entries, 10))
				}
				notALog := "no"
				if r.NotALog {
					notALog = "yes"
				}
				wantNotALog := m["not-a-log"]
				if wantNotALog == "" {
					wantNotALog = "no"
				}
				check("not-a-log", wantNotALog, notALog)
				if h, ok := m["head"]; ok {
					hash := r.Head.Hash
					if hash == "" {
						hash = "none"
					}
					check("head", h, strconv.FormatUint(r.Head.Seq, 10)+":"+hash)
				}
			}
			if want, ok := m["open"]; ok {
				checkOpen(t, m, log, opts.Key, want)
			}
		})
	}
	// The vectors must have exercised every violation kind.
	for _, k := range []evident.ViolationKind{evident.KindHashMismatch, evident.KindChainBreak, evident.KindSeqGap,
		evident.KindMalformed, evident.KindTornTail, evident.KindWrongKey, evident.KindWrongLogID,
		evident.KindHeadMismatch, evident.KindUnsupported} {
		if !kinds[k.String()] {
			t.Errorf("no vector produced %s", k)
		}
	}
}

// checkOpen opens a copy of the log as a writer (spec § 10.3): "ok" opens and
// changes nothing, "moves-tail" moves exactly the bytes from offset on into
// one sidecar, "refuses" fails and leaves the file unchanged.
func checkOpen(t *testing.T, m map[string]string, log string, key []byte, want string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), filepath.Base(log))
	orig := copyFile(t, log, path)
	l, err := evident.Open(path, evident.Options{Key: key, Create: evident.OpenExisting})
	if want == "refuses" {
		if err == nil {
			l.Close()
			t.Fatal("open succeeded, expected a refusal")
		}
		var e *evident.Error
		if !errorsAs(err, &e) || e.Message == "" {
			t.Fatalf("refusal is not an *evident.Error with a message: %v", err)
		}
		if now, _ := os.ReadFile(path); !bytes.Equal(now, orig) {
			t.Fatal("a refused open changed the file")
		}
		return
	}
	if err != nil {
		t.Fatalf("open failed (%v), expected %s", err, want)
	}
	h, err := l.Head()
	if err != nil {
		t.Fatal(err)
	}
	if hs, ok := m["head"]; ok && h != parseHead(t, hs) {
		t.Errorf("open resumed at %v, want %s", h, hs)
	}
	rec, err := l.Recovery()
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	now, _ := os.ReadFile(path)
	if want == "ok" {
		if len(rec.TornTails) != 0 || !bytes.Equal(now, orig) {
			t.Fatalf("open moved %+v, expected nothing", rec.TornTails)
		}
		return
	}
	off, _ := strconv.ParseUint(m["offset"], 10, 64)
	if len(rec.TornTails) != 1 || rec.TornTails[0].Offset != off || rec.TornTails[0].Len != uint64(len(orig))-off {
		t.Fatalf("open moved %+v, expected the %d bytes from offset %d", rec.TornTails, uint64(len(orig))-off, off)
	}
	side, err := os.ReadFile(rec.TornTails[0].Sidecar)
	if err != nil || !bytes.Equal(side, orig[off:]) || !bytes.Equal(now, orig[:off]) {
		t.Fatalf("sidecar / log content wrong after moving the tail (%v)", err)
	}
}

func TestVerifyOptions(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "v.jsonl")
	l := mustOpen(t, path, evident.Options{Key: keyA()})
	var heads []evident.Head
	for i := 0; i < 5; i++ {
		heads = append(heads, mustAppend(t, l, evident.Entry{Action: "a", Details: map[string]int{"i": i}}))
	}
	id := l.LogID()
	l.Close()

	r := mustVerify(t, path, evident.VerifyOptions{Key: keyA(), ExpectedHead: &heads[2], ExpectedLogID: id})
	if !r.Valid || r.Entries != 5 || r.Head != heads[4] || r.KeyID == "" || r.Alg != evident.HMACSHA256 {
		t.Fatalf("%+v", r)
	}
	r = mustVerify(t, path, evident.VerifyOptions{Key: keyA(), ExpectedLogID: strings.Repeat("0", 32)})
	if r.Valid || r.First().Kind != evident.KindWrongLogID {
		t.Fatalf("%+v", r)
	}
	wrong := evident.Head{Seq: 3, Hash: heads[1].Hash}
	r = mustVerify(t, path, evident.VerifyOptions{Key: keyA(), ExpectedHead: &wrong})
	if r.Valid || r.First().Kind != evident.KindHeadMismatch {
		t.Fatalf("%+v", r)
	}
	beyond := evident.Head{Seq: 9, Hash: heads[4].Hash}
	r = mustVerify(t, path, evident.VerifyOptions{Key: keyA(), ExpectedHead: &beyond})
	if r.Valid || r.First().Kind != evident.KindHeadMismatch {
		t.Fatalf("%+v", r)
	}
	_, err := evident.Verify(path, evident.VerifyOptions{Key: keyA(), ExpectedHead: &evident.Head{Seq: 1, Hash: "xyz"}})
	wantErr(t, err, evident.ErrInvalidArgument, evident.StatusInvalidArgument)
	_, err = evident.Verify(path, evident.VerifyOptions{Key: []byte("short")})
	wantErr(t, err, evident.ErrInvalidArgument, evident.StatusInvalidArgument)
	_, err = evident.Verify(path, evident.VerifyOptions{Threads: -1})
	wantErr(t, err, evident.ErrInvalidArgument, evident.StatusInvalidArgument)

	// Tamper with two entries: All lists both, in file order.
	raw, _ := os.ReadFile(path)
	lines := bytes.Split(raw, []byte("\n"))
	lines[2] = bytes.Replace(lines[2], []byte(`"i":1`), []byte(`"i":7`), 1)
	lines[4] = bytes.Replace(lines[4], []byte(`"i":3`), []byte(`"i":8`), 1)
	os.WriteFile(path, bytes.Join(lines, []byte("\n")), 0o644)
	r = mustVerify(t, path, evident.VerifyOptions{Key: keyA()})
	if r.Valid || len(r.Violations) != 1 || r.First().Kind != evident.KindHashMismatch || r.First().Seq != 2 ||
		r.First().Line != 3 || !r.First().HasSeq {
		t.Fatalf("%+v", r)
	}
	r = mustVerify(t, path, evident.VerifyOptions{Key: keyA(), All: true})
	if len(r.Violations) != 2 || r.ViolationsTotal != 2 || r.Violations[1].Seq != 4 || r.Violations[1].Line != 5 ||
		r.Violations[0].Offset >= r.Violations[1].Offset {
		t.Fatalf("%+v", r)
	}
	if !strings.Contains(r.Violations[0].String(), "hash_mismatch at seq 2, line 3") {
		t.Errorf("%s", r.Violations[0])
	}

	// Files that cannot be checked are errors, not results.
	_, err = evident.Verify(filepath.Join(dir, "missing.jsonl"), evident.VerifyOptions{})
	e := wantErr(t, err, evident.ErrIO, evident.StatusIO)
	if !strings.Contains(e.Message, "missing.jsonl") {
		t.Errorf("message %q does not name the file", e.Message)
	}
	_, err = evident.Verify(dir, evident.VerifyOptions{})
	if err == nil {
		t.Fatal("verified a directory")
	}
}

func TestVerifyProgress(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.evl")
	l := mustOpen(t, path, evident.Options{Durability: evident.Buffered})
	for i := 0; i < 2000; i++ {
		mustAppend(t, l, evident.Entry{Action: "a", Details: map[string]string{"pad": strings.Repeat("x", 100)}})
	}
	l.Close()
	st, _ := os.Stat(path)
	var calls int
	var last, total uint64
	r := mustVerify(t, path, evident.VerifyOptions{Progress: func(done, tot uint64) {
		calls++
		if done < last {
			t.Errorf("progress went back from %d to %d", last, done)
		}
		last, total = done, tot
	}})
	if !r.Valid || calls == 0 || total != uint64(st.Size()) || last != total {
		t.Fatalf("valid %v, %d calls, last %d/%d, size %d", r.Valid, calls, last, total, st.Size())
	}

	// A panic in the callback reaches the caller of Verify (after the
	// library has returned), and later verifies work.
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Fatalf("recovered %v, want boom", p)
			}
		}()
		evident.Verify(path, evident.VerifyOptions{Progress: func(_, _ uint64) { panic("boom") }})
		t.Fatal("no panic")
	}()
	if r := mustVerify(t, path, evident.VerifyOptions{}); !r.Valid {
		t.Fatal(r)
	}
}
