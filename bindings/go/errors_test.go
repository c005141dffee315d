package evident_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	evident "github.com/evident-audit/evident/bindings/go"
)

// An I/O error unwraps to a *fs.PathError with the OS error code, so the
// standard checks work on evident's errors.
func TestIOErrorsUnwrapToPathError(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.jsonl")
	calls := map[string]func() error{
		"Verify": func() error { _, err := evident.Verify(missing, evident.VerifyOptions{}); return err },
		"Open in a missing directory": func() error {
			_, err := evident.Open(filepath.Join(dir, "no-dir", "a.jsonl"), evident.Options{})
			return err
		},
	}
	for name, call := range calls {
		err := call()
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		if !errors.Is(err, fs.ErrNotExist) || !errors.Is(err, syscall.ENOENT) {
			t.Fatalf("%s: errors.Is(err, fs.ErrNotExist) is false for %#v", name, err)
		}
		if !errors.Is(err, evident.ErrIO) {
			t.Fatalf("%s: not ErrIO: %v", name, err)
		}
		var pe *fs.PathError
		if !errors.As(err, &pe) {
			t.Fatalf("%s: errors.As(*fs.PathError) is false for %#v", name, err)
		}
		if pe.Err != syscall.ENOENT || !strings.HasSuffix(pe.Path, ".jsonl") || pe.Op == "" {
			t.Fatalf("%s: PathError %#v", name, pe)
		}
		var ee *evident.Error
		if !errors.As(err, &ee) || ee.Errno != syscall.ENOENT || ee.Path != pe.Path {
			t.Fatalf("%s: evident.Error %#v", name, ee)
		}
		if strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), dir) {
			t.Fatalf("%s: message %q", name, err.Error())
		}
	}
	if _, err := evident.Verify(missing, evident.VerifyOptions{}); true {
		var pe *fs.PathError
		errors.As(err, &pe)
		if pe.Path != missing || pe.Op != "open" {
			t.Fatalf("Verify: PathError %#v, want open %s", pe, missing)
		}
	}
	// A directory: EISDIR.
	_, err := evident.Verify(dir, evident.VerifyOptions{})
	if !errors.Is(err, syscall.EISDIR) {
		t.Fatalf("Verify(dir): %#v", err)
	}
	// A file where a directory is expected: ENOTDIR.
	f := filepath.Join(dir, "file")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = evident.Open(filepath.Join(f, "a.jsonl"), evident.Options{})
	if !errors.Is(err, syscall.ENOTDIR) || errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open under a file: %#v", err)
	}
	// Errors that are not I/O errors unwrap to nothing.
	_, err = evident.Open(f, evident.Options{Framing: 99})
	var ee *evident.Error
	if err == nil || !errors.As(err, &ee) || ee.Errno != 0 || errors.Unwrap(err) != nil {
		t.Fatalf("non-I/O error: %#v", err)
	}
}
