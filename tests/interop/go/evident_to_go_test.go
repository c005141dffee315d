package interop

import (
	"bytes"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/transparency-dev/formats/log"
	fnote "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

// parseProofHead splits a proof file (tlog-proof@v1 or a tlog-witness
// request) into its header lines and the signed checkpoint after the first
// blank line.
func parseProofHead(t *testing.T, text string) ([]string, string) {
	t.Helper()
	head, cp, ok := strings.Cut(text, "\n\n")
	if !ok {
		t.Fatalf("no blank line in %q", text)
	}
	return strings.Split(head, "\n"), cp
}

// Direction 1: what the evident CLI writes, the reference implementations
// read and verify.
func TestEvidentWritesGoVerifies(t *testing.T) {
	f := newFixture(t)
	n := len(f.bodies)

	// The .pub file holds exactly the vkey format note.NewVerifier takes.
	logV, err := note.NewVerifier(f.logPub)
	if err != nil {
		t.Fatalf("note.NewVerifier(%q): %v", f.logPub, err)
	}
	if logV.Name() != "example.com/audit" {
		t.Fatalf("name %q", logV.Name())
	}
	// The private key file is the skey format note.NewSigner takes, and
	// signs byte for byte as evident does (Ed25519 is deterministic).
	logS, err := note.NewSigner(strings.TrimSpace(read(t, f.logKey)))
	if err != nil {
		t.Fatalf("note.NewSigner: %v", err)
	}
	if logS.KeyHash() != logV.KeyHash() {
		t.Fatalf("key hash %08x vs %08x", logS.KeyHash(), logV.KeyHash())
	}

	for _, c := range []struct {
		file string
		size int
	}{{f.cpSmall, smallSize}, {f.cpFull, n}} {
		raw := []byte(read(t, c.file))
		cp, ext, nt, err := log.ParseCheckpoint(raw, f.origin, logV)
		if err != nil {
			t.Fatalf("log.ParseCheckpoint(%s): %v\n%s", c.file, err, raw)
		}
		if cp.Size != uint64(c.size) || !bytes.Equal(cp.Hash, f.root(t, c.size)) || len(ext) != 0 {
			t.Fatalf("checkpoint %s: size %d root %x ext %q; want size %d root %x",
				c.file, cp.Size, cp.Hash, ext, c.size, f.root(t, c.size))
		}
		if len(nt.Sigs) != 1 || len(nt.UnverifiedSigs) != 0 {
			t.Fatalf("sigs %+v unverified %+v", nt.Sigs, nt.UnverifiedSigs)
		}
		again, err := note.Sign(&note.Note{Text: nt.Text}, logS)
		if err != nil || !bytes.Equal(again, raw) {
			t.Fatalf("note.Sign with evident's private key differs:\n%s\n%s (%v)", again, raw, err)
		}
	}

	// Inclusion proofs (tlog-proof@v1) of every record.
	root := f.root(t, n)
	for i := 0; i < n; i++ {
		p := filepath.Join(f.dir, "p"+strconv.Itoa(i))
		mustRun(t, nil, "prove", f.log, "--seq", strconv.Itoa(i), "--checkpoint", f.cpFull, "-o", p)
		lines, cpRaw := parseProofHead(t, read(t, p))
		if lines[0] != "c2sp.org/tlog-proof@v1" {
			t.Fatalf("first line %q", lines[0])
		}
		extra, ok := strings.CutPrefix(lines[1], "extra ")
		if !ok || !bytes.Equal(unb64(t, extra), f.bodies[i]) {
			t.Fatalf("proof %d: extra is not the record's body: %q", i, lines[1])
		}
		if lines[2] != "index "+strconv.Itoa(i) {
			t.Fatalf("proof %d: %q", i, lines[2])
		}
		var hashes [][]byte
		for _, l := range lines[3:] {
			hashes = append(hashes, unb64(t, l))
		}
		cp, _, _, err := log.ParseCheckpoint([]byte(cpRaw), f.origin, logV)
		if err != nil {
			t.Fatalf("proof %d checkpoint: %v", i, err)
		}
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(i), cp.Size, leafHash(f.bodies[i]), hashes, cp.Hash); err != nil {
			t.Fatalf("proof.VerifyInclusion(%d): %v", i, err)
		}
		if !bytes.Equal(cp.Hash, root) {
			t.Fatalf("proof %d: root differs", i)
		}
		// And the reference rejects it for another leaf.
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(i), cp.Size, leafHash(f.bodies[(i+1)%n]), hashes, cp.Hash); err == nil {
			t.Fatalf("proof %d verifies for another body", i)
		}
	}

	// Consistency proof (a tlog-witness add-checkpoint request).
	req := filepath.Join(f.dir, "req")
	mustRun(t, nil, "prove", f.log, "--consistency", f.cpSmall, f.cpFull, "-o", req)
	lines, cpRaw := parseProofHead(t, read(t, req))
	if lines[0] != "old "+strconv.Itoa(smallSize) {
		t.Fatalf("request first line %q", lines[0])
	}
	var hashes [][]byte
	for _, l := range lines[1:] {
		hashes = append(hashes, unb64(t, l))
	}
	if _, _, _, err := log.ParseCheckpoint([]byte(cpRaw), f.origin, logV); err != nil {
		t.Fatal(err)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, smallSize, uint64(n), hashes, f.root(t, smallSize), root); err != nil {
		t.Fatalf("proof.VerifyConsistency: %v", err)
	}

	// The witness cosigns (cosignature/v1); the reference verifies it.
	store := filepath.Join(f.dir, "wstore")
	first := write(t, f.dir, "req0", "old 0\n\n"+read(t, f.cpSmall))
	mustRun(t, nil, "witness", "--store", store, "--key", f.witKey, "--log-key", f.logPub, first)
	cosigned := filepath.Join(f.dir, "cp-w")
	before := time.Now().Unix()
	mustRun(t, nil, "witness", "--store", store, "--key", f.witKey, "--log-key", f.logPub, req, "--cosigned", cosigned)
	witV, err := fnote.NewVerifierForCosignatureV1(f.witPub)
	if err != nil {
		t.Fatalf("NewVerifierForCosignatureV1(%q): %v", f.witPub, err)
	}
	// NewVerifierForCosignatureV1 does not check the vkey's key id: check
	// that evident's is the one the reference computes.
	if want := strings.Split(f.witPub, "+")[1]; strconv.FormatUint(uint64(witV.KeyHash())|1<<32, 16)[1:] != want {
		t.Fatalf("witness key id %08x, vkey says %s", witV.KeyHash(), want)
	}
	_, _, nt, err := log.ParseCheckpoint([]byte(read(t, cosigned)), f.origin, logV, witV)
	if err != nil {
		t.Fatalf("cosigned checkpoint: %v", err)
	}
	if len(nt.Sigs) != 2 || nt.Sigs[1].Name != "witness.example/w1" {
		t.Fatalf("sigs %+v", nt.Sigs)
	}
	ts, err := fnote.CoSigV1Timestamp(nt.Sigs[1])
	if err != nil || ts.Unix() < before-5 || ts.Unix() > time.Now().Unix()+5 {
		t.Fatalf("cosignature time %v (%v)", ts, err)
	}
	// The reference witness verifier alone (no log key) accepts the note.
	if _, err := note.Open([]byte(read(t, cosigned)), note.VerifierList(witV)); err != nil {
		t.Fatalf("note.Open with the witness key: %v", err)
	}
}
