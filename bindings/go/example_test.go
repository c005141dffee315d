package evident_test

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	evident "github.com/evident-audit/evident/bindings/go"
)

// The example of README.md.
func Example() {
	dir, _ := os.MkdirTemp("", "evident-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "audit.jsonl")

	l, err := evident.Open(path, evident.Options{Durability: evident.GroupCommit})
	if err != nil {
		panic(err)
	}
	l.Append(evident.Entry{EventType: "ACTION_EXECUTED", Action: "load_trace",
		Details: map[string]any{"file": "scope.bin"}})
	slog.New(evident.NewSlogHandler(l, nil)).Info("export", "session_id", "s1", "rows", 42)
	l.Close()

	res, _ := evident.Verify(path, evident.VerifyOptions{})
	fmt.Println("valid:", res.Valid, "entries:", res.Entries)
	for e, err := range evident.Entries(path, evident.QueryOptions{}) {
		if err != nil {
			panic(err)
		}
		fmt.Printf("%d %s %s %q %s\n", e.Seq, e.EventType, e.Action, e.SessionID, e.Details)
	}
	// Output:
	// valid: true entries: 2
	// 1 ACTION_EXECUTED load_trace "" {"file":"scope.bin"}
	// 2 INFO export "s1" {"rows":42}
}

func ExampleOpen_errors() {
	dir, _ := os.MkdirTemp("", "evident-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "audit.evl")

	first, _ := evident.Open(path, evident.Options{})
	defer first.Close()
	_, err := evident.Open(path, evident.Options{})
	var e *evident.Error
	fmt.Println(errors.Is(err, evident.ErrLocked), errors.As(err, &e), e.Status)
	// Output: true true EVIDENT_STATUS_LOCKED
}
