package evident

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReportAndReproduce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	l, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ok := true
	for i, day := range []int{1, 1, 9} {
		_, err := l.Append(Entry{EventType: "tool_operation", Action: "run", Source: "sensing-data",
			Time:    time.Date(2026, 3, day, 12, i, 0, 0, time.UTC),
			Success: &ok, GitCommit: "c0ffee",
			Details: map[string]any{"parameters": map[string]any{"project": "Winter Turf - v3"}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	l.Close()

	files, err := Report([]string{path}, filepath.Join(dir, "md"), ReportOptions{By: "day"})
	if err != nil || len(files) != 2 || files[0].Group != "2026-03-01" {
		t.Fatalf("%v %v", files, err)
	}
	md, _ := os.ReadFile(files[0].Path)
	if !strings.Contains(string(md), "- Total Operations: 2\n") {
		t.Fatal(string(md))
	}
	html, err := Report([]string{path}, filepath.Join(dir, "r.html"), ReportOptions{Format: "html"})
	if err != nil || len(html) != 1 {
		t.Fatal(html, err)
	}
	pdf, err := Report([]string{path}, filepath.Join(dir, "pdf"), ReportOptions{Format: "pdf", Title: "T"})
	if err != nil || len(pdf) != 1 || filepath.Base(pdf[0].Path) != "audit_report.pdf" {
		t.Fatal(pdf, err)
	}
	if b, _ := os.ReadFile(pdf[0].Path); !bytes.HasPrefix(b, []byte("%PDF-")) || !bytes.Contains(b, []byte("(Entries (3)) Tj")) {
		t.Fatalf("not the PDF report: %.200q", b)
	}
	entries, err := ReadEntries(path, QueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ReportEntries(entries, filepath.Join(dir, "e.html"), ReportOptions{Format: "html", Logs: []string{path}}); err != nil {
		t.Fatal(err)
	}
	info, err := Reproduce([]string{filepath.Join(dir, "md")}, filepath.Join(dir, "s.sh"), ReproduceOptions{Program: "rtgs"})
	if err != nil || info.OperationCount != 3 || *info.StartDate != "2026-03-01" {
		t.Fatalf("%+v %v", info, err)
	}
	sh, _ := os.ReadFile(info.ScriptPath)
	if !strings.Contains(string(sh), "rtgs sensing-data run \\\n  --project \"Winter Turf - v3\"") {
		t.Fatal(string(sh))
	}
	_, err = Report([]string{filepath.Join(dir, "missing")}, dir, ReportOptions{})
	if err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatal(err)
	}
	_, err = Report([]string{path}, dir, ReportOptions{Format: "docx"})
	if err == nil {
		t.Fatal("docx accepted")
	}
}

func TestReproducePython(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	l, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range []string{"load_trace", "os.system('x')"} {
		_, err := l.Append(Entry{EventType: "tool_operation", Action: op,
			Time:    time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
			Details: map[string]any{"path": "signal.wfm"}})
		if err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	info, err := Reproduce([]string{path}, filepath.Join(dir, "s.py"), ReproduceOptions{Format: "python"})
	if err != nil || info.OperationCount != 2 {
		t.Fatalf("%+v %v", info, err)
	}
	py, _ := os.ReadFile(info.ScriptPath)
	text := string(py)
	if !strings.HasPrefix(text, "#!/usr/bin/env python3\n\"\"\"TraceKit analysis script.\n") ||
		!strings.Contains(text, "# 12:00:00 - load_trace\ntk.load_trace(path=\"signal.wfm\")\n") ||
		!strings.Contains(text, "# (not a Python name) \"os.system('x')\"\n") {
		t.Fatal(text)
	}
	_, err = Reproduce([]string{path}, filepath.Join(dir, "s.py"), ReproduceOptions{Format: "python", Program: "rtgs"})
	if err == nil || !strings.Contains(err.Error(), "bash") {
		t.Fatal(err)
	}
}

// A script written from a log that does not verify names it in Unverified
// (it was written silently before).
func TestReproduceNamesALogThatDoesNotVerify(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	l, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(Entry{EventType: "tool_operation", Action: "run", Source: "tool",
		Details: map[string]any{"parameters": map[string]any{"project": "Winter"}}}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	info, err := Reproduce([]string{path}, filepath.Join(dir, "ok.sh"), ReproduceOptions{})
	if err != nil || len(info.Unverified) != 0 {
		t.Fatalf("%+v %v", info, err)
	}
	b, _ := os.ReadFile(path)
	if err := os.WriteFile(path, bytes.Replace(b, []byte("Winter"), []byte("Summer"), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	info, err = Reproduce([]string{path}, filepath.Join(dir, "bad.sh"), ReproduceOptions{})
	if err != nil || len(info.Unverified) != 1 || !strings.Contains(info.Unverified[0], "hash_mismatch") {
		t.Fatalf("%+v %v", info, err)
	}
	sh, _ := os.ReadFile(info.ScriptPath)
	if !strings.Contains(string(sh), "# WARNING: a log did not verify") {
		t.Fatal(string(sh))
	}
}
