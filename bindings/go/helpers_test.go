package evident_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	evident "github.com/evident-audit/evident/bindings/go"
)

// keyA and keyB are the keys of spec/vectors (README there).
func keyA() []byte {
	k := make([]byte, 32)
	for i := range k {
		k[i] = byte(i)
	}
	return k
}

func keyB() []byte {
	k := make([]byte, 32)
	for i := range k {
		k[i] = byte(0x20 + i)
	}
	return k
}

func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func vectorsDir(t testing.TB) string { return filepath.Join(repoRoot(t), "spec", "vectors") }

// mustOpen opens a log and closes it at the end of the test.
func mustOpen(t testing.TB, path string, opts evident.Options) *evident.Log {
	t.Helper()
	l, err := evident.Open(path, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func mustAppend(t testing.TB, l *evident.Log, e evident.Entry) evident.Head {
	t.Helper()
	h, err := l.Append(e)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return h
}

func mustVerify(t testing.TB, path string, opts evident.VerifyOptions) evident.Result {
	t.Helper()
	r, err := evident.Verify(path, opts)
	if err != nil {
		t.Fatalf("Verify(%s): %v", path, err)
	}
	return r
}

func mustRead(t testing.TB, path string, q evident.QueryOptions) []evident.Entry {
	t.Helper()
	es, err := evident.ReadEntries(path, q)
	if err != nil {
		t.Fatalf("ReadEntries(%s): %v", path, err)
	}
	return es
}

// wantErr checks that err matches sentinel (and no other sentinel), is an
// *evident.Error with that status and carries a message.
func wantErr(t testing.TB, err error, sentinel error, status evident.Status) *evident.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", sentinel)
	}
	if !errors.Is(err, sentinel) {
		t.Fatalf("errors.Is(%q, %v) is false", err, sentinel)
	}
	var e *evident.Error
	if !errors.As(err, &e) {
		t.Fatalf("%v (%T) is not an *evident.Error", err, err)
	}
	if e.Status != status {
		t.Fatalf("status %v, want %v (%v)", e.Status, status, err)
	}
	if e.Message == "" || !strings.Contains(err.Error(), e.Message) {
		t.Fatalf("error without the library's message: %q", err.Error())
	}
	for _, other := range allSentinels {
		if other != sentinel && errors.Is(err, other) &&
			!(sentinel == evident.ErrInvalidUTF8 && other == evident.ErrInvalidArgument) {
			t.Fatalf("%q also matches %v", err, other)
		}
	}
	return e
}

var allSentinels = []error{
	evident.ErrIO, evident.ErrMalformed, evident.ErrCorrupt, evident.ErrWrongKey,
	evident.ErrLocked, evident.ErrInvalidArgument, evident.ErrTooLarge, evident.ErrPoisoned,
	evident.ErrUnsupported, evident.ErrClosed, evident.ErrNullArgument, evident.ErrInvalidUTF8,
	evident.ErrInternal,
}

func copyFile(t testing.TB, src, dst string) []byte {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

// requirePeers: with EVIDENT_GO_REQUIRE_PEERS=1 a missing CLI or Python is
// a failure instead of a skip (for CI, where both are built).
func skipOrFail(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("EVIDENT_GO_REQUIRE_PEERS") == "1" {
		t.Fatal(msg + " (EVIDENT_GO_REQUIRE_PEERS=1)")
	}
	t.Skip(msg)
}

// cliPath finds the evident CLI: $EVIDENT_CLI, else target/release/evident,
// else target/debug/evident.
func cliPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("EVIDENT_CLI"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("EVIDENT_CLI=%s: %v", p, err)
		}
		return p
	}
	for _, p := range []string{"target/release/evident", "target/debug/evident"} {
		full := filepath.Join(repoRoot(t), p)
		if _, err := os.Stat(full); err == nil {
			return full
		}
	}
	skipOrFail(t, "evident CLI not found: set EVIDENT_CLI or run `cargo build --release --bin evident` at the repository root")
	return ""
}

func runCLI(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(cliPath(t), args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("evident %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// pythonPath finds a Python with the evident package: $EVIDENT_PYTHON, else
// target/py-venv/bin/python (where scripts/test.sh installs it).
func pythonPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("EVIDENT_PYTHON")
	explicit := p != ""
	if !explicit {
		p = filepath.Join(repoRoot(t), "target", "py-venv", "bin", "python")
		if _, err := os.Stat(p); err != nil {
			skipOrFail(t, "no Python with the evident package: set EVIDENT_PYTHON or install bindings/python into target/py-venv (scripts/test.sh does)")
		}
	}
	out, err := exec.Command(p, "-c", "import evident").CombinedOutput()
	if err != nil {
		if explicit {
			t.Fatalf("EVIDENT_PYTHON=%s cannot import evident: %v\n%s", p, err, out)
		}
		skipOrFail(t, "target/py-venv has no evident package: "+strings.TrimSpace(string(out)))
	}
	return p
}

func runPython(t *testing.T, script string, args ...string) string {
	t.Helper()
	cmd := exec.Command(pythonPath(t), append([]string{"-c", script}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s\nscript:\n%s", err, out, script)
	}
	return string(out)
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }
