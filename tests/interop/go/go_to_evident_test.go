package interop

import (
	"crypto/rand"
	"fmt"
	"strings"
	"testing"

	fnote "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"
	"golang.org/x/mod/sumdb/note"
)

// flip changes one byte of the base64 signature on the last line that
// starts with prefix (a different base64 digit: another signature).
func flipSig(t *testing.T, signed, prefix string) string {
	t.Helper()
	lines := strings.Split(signed, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], prefix) {
			l := []byte(lines[i])
			k := len(l) - 10
			if l[k] == 'A' {
				l[k] = 'B'
			} else {
				l[k] = 'A'
			}
			lines[i] = string(l)
			return strings.Join(lines, "\n")
		}
	}
	t.Fatalf("no line %q in %q", prefix, signed)
	return ""
}

// Direction 2: what the reference implementations write, evident reads.
func TestGoWritesEvidentVerifies(t *testing.T) {
	f := newFixture(t)
	n := len(f.bodies)

	skey, vkey, err := note.GenerateKey(rand.Reader, "go.example/log")
	if err != nil {
		t.Fatal(err)
	}
	logS, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	wskey, wvkey, err := note.GenerateKey(rand.Reader, "go.example/witness")
	if err != nil {
		t.Fatal(err)
	}
	witS, err := fnote.NewSignerForCosignatureV1(wskey)
	if err != nil {
		t.Fatal(err)
	}
	witVkey, err := fnote.VKeyToCosignatureV1(wvkey)
	if err != nil {
		t.Fatal(err)
	}

	// A reference tree of the log's leaves (transparency-dev/merkle testonly).
	tree := testonly.New(rfc6962.DefaultHasher)
	tree.AppendData(f.bodies...)

	sign := func(size int, signers ...note.Signer) string {
		b, err := note.Sign(&note.Note{Text: cpText(f.origin, size, tree.HashAt(uint64(size)))}, signers...)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	verify := func(cp string, extra ...string) (int, string) {
		p := write(t, f.dir, "go.cp", cp)
		code, out, errs := run(t, nil, append([]string{"verify", f.log, "--checkpoint", p, "--pubkey", vkey}, extra...)...)
		return code, out + errs
	}

	full := sign(n, logS)
	if code, out := verify(full); code != 0 {
		t.Fatalf("evident rejects a reference-signed checkpoint: %d\n%s", code, out)
	}
	if code, out := verify(flipSig(t, full, "— go.example/log ")); code == 0 {
		t.Fatalf("evident accepts a reference checkpoint with a changed signature byte\n%s", out)
	}
	changedRoot := strings.Replace(full, b64(tree.HashAt(uint64(n))), b64(tree.HashAt(uint64(n-1))), 1)
	if code, out := verify(changedRoot); code == 0 {
		t.Fatalf("evident accepts a reference checkpoint with another root\n%s", out)
	}

	// A checkpoint whose origin is the key's name (C2SP's recommendation):
	// evident expects evident/<log id> unless --origin names it.
	named, err := note.Sign(&note.Note{Text: cpText("go.example/log", n, tree.HashAt(uint64(n)))}, logS)
	if err != nil {
		t.Fatal(err)
	}
	if code, out := verify(string(named)); code == 0 || !strings.Contains(out, "origin") {
		t.Fatalf("evident accepts another origin without --origin: %d\n%s", code, out)
	}
	if code, out := verify(string(named), "--origin", "go.example/log"); code != 0 {
		t.Fatalf("evident rejects the origin named with --origin: %d\n%s", code, out)
	}

	// Cosigned by a reference cosignature/v1 signer.
	cosigned := sign(n, logS, witS)
	if code, out := verify(cosigned, "--witness-key", witVkey, "--min-witnesses", "1"); code != 0 {
		t.Fatalf("evident rejects a reference cosignature: %d\n%s", code, out)
	}
	if code, out := verify(flipSig(t, cosigned, "— go.example/witness "), "--witness-key", witVkey, "--min-witnesses", "1"); code == 0 {
		t.Fatalf("evident accepts a changed reference cosignature\n%s", out)
	}
	if code, out := verify(cosigned, "--min-witnesses", "1"); code == 0 {
		t.Fatalf("evident counts an unknown witness\n%s", out)
	}

	// Inclusion proofs from the reference tree, in tlog-proof@v1 form.
	for _, i := range []int{0, 1, smallSize, n - 1} {
		hashes, err := tree.InclusionProof(uint64(i), uint64(n))
		if err != nil {
			t.Fatal(err)
		}
		var s strings.Builder
		fmt.Fprintf(&s, "c2sp.org/tlog-proof@v1\nextra %s\nindex %d\n", b64(f.bodies[i]), i)
		for _, h := range hashes {
			s.WriteString(b64(h) + "\n")
		}
		s.WriteString("\n" + full)
		p := write(t, f.dir, "go.proof", s.String())
		if code, out, errs := run(t, nil, "verify-proof", p, "--pubkey", vkey, "--log", f.log); code != 0 {
			t.Fatalf("evident rejects the reference inclusion proof of %d: %d\n%s%s", i, code, out, errs)
		}
		if len(hashes) > 0 {
			bad := strings.Replace(s.String(), b64(hashes[0]), b64(tree.LeafHash(uint64((i+2)%n))), 1)
			p := write(t, f.dir, "go.proof", bad)
			if code, out, _ := run(t, nil, "verify-proof", p, "--pubkey", vkey, "--log", f.log); code != 1 {
				t.Fatalf("evident does not refuse a changed inclusion proof of %d (exit %d)\n%s", i, code, out)
			}
		}
	}

	// The same proof under a checkpoint with another origin: the reference
	// (log.ParseCheckpoint) needs the origin; evident's verify-proof takes
	// the log's with --log, or the one named with --origin.
	{
		hashes, _ := tree.InclusionProof(1, uint64(n))
		other := "go.example/another-log"
		b, err := note.Sign(&note.Note{Text: cpText(other, n, tree.HashAt(uint64(n)))}, logS)
		if err != nil {
			t.Fatal(err)
		}
		var s strings.Builder
		fmt.Fprintf(&s, "c2sp.org/tlog-proof@v1\nextra %s\nindex 1\n", b64(f.bodies[1]))
		for _, h := range hashes {
			s.WriteString(b64(h) + "\n")
		}
		s.WriteString("\n" + string(b))
		p := write(t, f.dir, "go.proof.origin", s.String())
		if code, out, errs := run(t, nil, "verify-proof", p, "--pubkey", vkey, "--log", f.log); code == 0 || !strings.Contains(errs+out, "origin") {
			t.Fatalf("evident verify-proof --log accepts another origin: %d\n%s%s", code, out, errs)
		}
		if code, out, errs := run(t, nil, "verify-proof", p, "--pubkey", vkey, "--origin", f.origin); code == 0 {
			t.Fatalf("evident verify-proof --origin accepts another origin: %d\n%s%s", code, out, errs)
		}
		if code, out, errs := run(t, nil, "verify-proof", p, "--pubkey", vkey, "--origin", other); code != 0 {
			t.Fatalf("evident verify-proof --origin %s: %d\n%s%s", other, code, out, errs)
		}
	}

	// A consistency proof from the reference tree, as a tlog-witness request;
	// evident's verify-proof and witness accept it.
	hashes, err := tree.ConsistencyProof(smallSize, uint64(n))
	if err != nil {
		t.Fatal(err)
	}
	var s strings.Builder
	fmt.Fprintf(&s, "old %d\n", smallSize)
	for _, h := range hashes {
		s.WriteString(b64(h) + "\n")
	}
	s.WriteString("\n" + full)
	old := write(t, f.dir, "go.old", sign(smallSize, logS))
	req := write(t, f.dir, "go.req", s.String())
	if code, out, errs := run(t, nil, "verify-proof", req, "--old", old, "--pubkey", vkey); code != 0 {
		t.Fatalf("evident rejects the reference consistency proof: %d\n%s%s", code, out, errs)
	}
	bad := write(t, f.dir, "go.req.bad", strings.Replace(s.String(), b64(hashes[0]), b64(tree.LeafHash(0)), 1))
	if code, out, _ := run(t, nil, "verify-proof", bad, "--old", old, "--pubkey", vkey); code == 0 {
		t.Fatalf("evident accepts a changed consistency proof\n%s", out)
	}
	store := f.dir + "/go-wstore"
	first := write(t, f.dir, "go.req0", "old 0\n\n"+read(t, old))
	mustRun(t, nil, "witness", "--store", store, "--key", f.witKey, "--log-key", vkey, first)
	if code, out, errs := run(t, nil, "witness", "--store", store, "--key", f.witKey, "--log-key", vkey, bad); code == 0 {
		t.Fatalf("evident's witness cosigns a changed proof\n%s%s", out, errs)
	}
	out := mustRun(t, nil, "witness", "--store", store, "--key", f.witKey, "--log-key", vkey, req)
	if !strings.HasPrefix(out, "— witness.example/w1 ") {
		t.Fatalf("witness answer %q", out)
	}

	// evident's witness with the reference's own witness key (note.GenerateKey:
	// an Ed25519 key, type 0x01, which NewSignerForCosignatureV1 takes): its
	// cosignature verifies with the reference cosignature/v1 verifier.
	goKey := write(t, f.dir, "go-witness.key", wskey+"\n")
	store2 := f.dir + "/go-wstore2"
	mustRun(t, nil, "witness", "--store", store2, "--key", goKey, "--log-key", vkey, first)
	line := mustRun(t, nil, "witness", "--store", store2, "--key", goKey, "--log-key", vkey, req)
	if !strings.HasPrefix(line, "— go.example/witness ") {
		t.Fatalf("witness answer with the reference key %q", line)
	}
	witV, err := fnote.NewVerifierForCosignatureV1(witVkey)
	if err != nil {
		t.Fatal(err)
	}
	cosignedByEvident := full + strings.TrimRight(line, "\n") + "\n"
	if _, err := note.Open([]byte(cosignedByEvident), note.VerifierList(witV)); err != nil {
		t.Fatalf("the reference rejects evident's cosignature made with a reference key: %v\n%s", err, cosignedByEvident)
	}
}
