package interop

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/transparency-dev/formats/log"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

// goAccepts is the reference's verdict on a checkpoint for the fixture's
// log: the note opens, the log signed it, it parses with the expected
// origin, the size is within the log and the root is the log's root at
// that size, and at least minW of the witness keys cosigned.
func (f *fixture) goAccepts(t *testing.T, raw []byte, logVkey string, witVkeys []string, minW int) (bool, string) {
	t.Helper()
	logV, err := note.NewVerifier(logVkey)
	if err != nil {
		t.Fatal(err)
	}
	var ws []note.Verifier
	for _, k := range witVkeys {
		w, err := fnote.NewVerifierForCosignatureV1(k)
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
	}
	cp, _, nt, err := log.ParseCheckpoint(raw, f.origin, logV, ws...)
	if err != nil {
		return false, err.Error()
	}
	if cp.Size > uint64(len(f.bodies)) || !bytes.Equal(cp.Hash, f.root(t, int(cp.Size))) {
		return false, "size/root is not the log's"
	}
	cosigs := 0
	for _, s := range nt.Sigs {
		for _, w := range ws {
			if s.Name == w.Name() && s.Hash == w.KeyHash() {
				cosigs++
			}
		}
	}
	if cosigs < minW {
		return false, fmt.Sprintf("%d of %d cosignatures", cosigs, minW)
	}
	return true, ""
}

func (f *fixture) evidentAccepts(t *testing.T, raw []byte, logVkey string, witVkeys []string, minW int) (bool, string) {
	t.Helper()
	p := write(t, f.dir, "forged.cp", string(raw))
	args := []string{"verify", f.log, "--checkpoint", p, "--pubkey", logVkey}
	for _, w := range witVkeys {
		args = append(args, "--witness-key", w)
	}
	if minW > 0 {
		args = append(args, "--min-witnesses", fmt.Sprint(minW))
	}
	code, out, errs := run(t, nil, args...)
	return code == 0, out + errs
}

// sigLine is a signature line by name with key id and signature bytes.
func sigLine(name string, id uint32, sig []byte) string {
	b := binary.BigEndian.AppendUint32(nil, id)
	return "— " + name + " " + base64.StdEncoding.EncodeToString(append(b, sig...)) + "\n"
}

type signerFunc struct {
	name string
	hash uint32
	sign func([]byte) ([]byte, error)
}

func (s signerFunc) Name() string                  { return s.name }
func (s signerFunc) KeyHash() uint32               { return s.hash }
func (s signerFunc) Sign(m []byte) ([]byte, error) { return s.sign(m) }

// Direction 3: forgeries and malformed notes. evident must reject every
// checkpoint the reference rejects. Where evident is stricter than the
// reference, the case says so (known, documented disagreements).
func TestForgeriesRejectedLikeTheReference(t *testing.T) {
	f := newFixture(t)
	n := len(f.bodies)
	logS, err := note.NewSigner(strings.TrimSpace(read(t, f.logKey)))
	if err != nil {
		t.Fatal(err)
	}
	witS, err := fnote.NewSignerForCosignatureV1(strings.TrimSpace(read(t, f.witKey)))
	if err != nil {
		t.Fatal(err)
	}
	sign := func(text string, signers ...note.Signer) string {
		b, err := note.Sign(&note.Note{Text: text}, signers...)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	good := cpText(f.origin, n, f.root(t, n))
	valid := sign(good, logS)
	text, sigs, _ := strings.Cut(valid, "\n\n")
	text += "\n"

	// Another key with the same name as the log's.
	oskey, _, _ := note.GenerateKey(rand.Reader, "example.com/audit")
	otherS, _ := note.NewSigner(oskey)
	// An unrelated key.
	uskey, _, _ := note.GenerateKey(rand.Reader, "unrelated.example/k")
	unrelS, _ := note.NewSigner(uskey)
	unrelated := strings.SplitN(sign(good, unrelS), "\n\n", 2)[1]
	// A key-id collision: a signature line with the log's name and key id
	// made by another key (what a key found by a 2^32 search would sign).
	collide := signerFunc{"example.com/audit", logS.KeyHash(), otherS.Sign}

	type tc struct {
		name     string
		note     string
		wit      []string
		minW     int
		stricter bool // evident rejects what the reference accepts (known)
	}
	cases := []tc{
		{name: "valid", note: valid},
		{name: "signed by another key of the same name", note: sign(good, otherS)},
		{name: "key id collision", note: sign(good, collide)},
		// The reference verifies only the first line of a (name, key id) and
		// skips the others; evident rejects a note with any failing one.
		{name: "key id collision after the valid signature", note: valid + strings.SplitN(sign(good, collide), "\n\n", 2)[1], stricter: true},
		{name: "key id collision before the valid signature", note: text + "\n" + strings.SplitN(sign(good, collide), "\n\n", 2)[1] + sigs},
		{name: "unknown signature first (reordered)", note: text + "\n" + unrelated + sigs},
		{name: "log signature duplicated", note: valid + sigs},
		{name: "log signature duplicated, the copy corrupted", note: valid + flipSig(t, sigs, "— "), stricter: true},
		{name: "wrong origin", note: sign(cpText("evident/ffffffffffffffffffffffffffffffff", n, f.root(t, n)), logS)},
		{name: "size smaller than the root's", note: sign(cpText(f.origin, n-1, f.root(t, n)), logS)},
		{name: "size past the log", note: sign(cpText(f.origin, n+1, f.root(t, n)), logS)},
		{name: "smaller size with its root", note: sign(cpText(f.origin, n-1, f.root(t, n-1)), logS)},
		{name: "root of another size", note: sign(cpText(f.origin, n, f.root(t, n-1)), logS)},
		{name: "extra unsigned line in the text", note: text + "unsigned extension\n\n" + sigs},
		{name: "extra unsigned line after the signatures", note: valid + "unsigned\n"},
		{name: "signed extension line", note: sign(good+"extension line\n", logS)},
		{name: "size with a leading zero", note: sign(fmt.Sprintf("%s\n0%d\n%s\n", f.origin, n, b64(f.root(t, n))), logS), stricter: true},
		{name: "root of 31 bytes", note: sign(fmt.Sprintf("%s\n%d\n%s\n", f.origin, n, b64(f.root(t, n)[:31])), logS)},
		{name: "CRLF line ends", note: strings.ReplaceAll(valid, "\n", "\r\n")},
		{name: "no final newline", note: strings.TrimSuffix(valid, "\n")},
		{name: "unknown signature of only a key id", note: valid + sigLine("unrelated.example/k", 1, nil)},
		{name: "log signature of only a key id", note: text + "\n" + sigLine("example.com/audit", logS.KeyHash(), nil)},
		{name: "101 signatures", note: valid + strings.Repeat(unrelated, 100)},
		{name: "100 signatures", note: valid + strings.Repeat(unrelated, 99)},
		{name: "empty signature block", note: text + "\n"},
		{name: "two blank lines before the signatures", note: text + "\n\n" + sigs},
		// Witnesses.
		{name: "cosigned", note: sign(good, logS, witS), wit: []string{f.witPub}, minW: 1},
		{name: "cosignature corrupted", note: flipSig(t, sign(good, logS, witS), "— witness.example/w1"), wit: []string{f.witPub}, minW: 1},
		{name: "cosignature copied from another checkpoint", note: valid + strings.SplitN(sign(cpText(f.origin, n-1, f.root(t, n-1)), witS), "\n\n", 2)[1], wit: []string{f.witPub}, minW: 1},
		{name: "cosignature missing", note: valid, wit: []string{f.witPub}, minW: 1},
		{name: "the log's key given as a witness key", note: valid, wit: []string{f.logPub}, minW: 1},
		{name: "one witness cosigning twice counts once", note: sign(good, logS, witS) + strings.SplitN(sign(good, witS), "\n\n", 2)[1], wit: []string{f.witPub}, minW: 2},
	}
	for _, c := range cases {
		goOK, goWhy := f.goAccepts(t, []byte(c.note), f.logPub, c.wit, c.minW)
		evOK, evWhy := f.evidentAccepts(t, []byte(c.note), f.logPub, c.wit, c.minW)
		switch {
		case evOK && !goOK:
			t.Errorf("%s: SECURITY: evident accepts what the reference rejects (%s)\nevident: %s", c.name, goWhy, evWhy)
		case goOK && !evOK && !c.stricter:
			t.Errorf("%s: evident rejects what the reference accepts\nevident: %s", c.name, evWhy)
		case c.stricter && !(goOK && !evOK):
			t.Errorf("%s: listed as evident-stricter, but reference %v, evident %v", c.name, goOK, evOK)
		default:
			t.Logf("%-50s reference %-5v evident %-5v", c.name, goOK, evOK)
		}
	}
}
