// Command go_writer appends entries to an evident log through the Go
// bindings, for the Python tests (tests/test_interop.py) that read logs
// written by other languages.
//
// Usage: go_writer PATH N [shared] [KEYHEX]
//
// It appends N entries (event type GO, action go:I, details {"i": I,
// "lang": "go"}) and prints the final head as SEQ:HASH.
package main

import (
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"time"

	evident "github.com/evident-audit/evident/bindings/go"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: go_writer PATH N [shared] [KEYHEX]")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil {
		fail(err)
	}
	var opts evident.Options
	for _, a := range os.Args[3:] {
		if a == "shared" {
			opts.Lock = evident.Shared
			opts.LockTimeout = 60 * time.Second
		} else if opts.Key, err = hex.DecodeString(a); err != nil {
			fail(err)
		}
	}
	l, err := evident.Open(os.Args[1], opts)
	if err != nil {
		fail(err)
	}
	var h evident.Head
	for i := 0; i < n; i++ {
		h, err = l.Append(evident.Entry{
			EventType:  "GO",
			Action:     fmt.Sprintf("go:%d", i),
			SessionID:  "go-session",
			Source:     "go",
			Success:    evident.Ptr(i%2 == 0),
			DurationMs: evident.Ptr(1.5),
			Details:    map[string]any{"i": i, "lang": "go"},
		})
		if err != nil {
			fail(err)
		}
	}
	if err := l.Close(); err != nil {
		fail(err)
	}
	fmt.Printf("%d:%s\n", h.Seq, h.Hash)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "go_writer:", err)
	os.Exit(1)
}
