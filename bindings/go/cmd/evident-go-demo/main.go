// Command evident-go-demo shows the Go binding end to end: several
// goroutines write an audit log (half through the API, half through
// log/slog) in group-commit mode, then the log is verified and its last
// entries are printed.
//
//	go run ./cmd/evident-go-demo [-n 100] [-goroutines 8] [-key HEX] audit.jsonl
package main

import (
	"encoding/hex"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"sync"

	evident "github.com/evident-audit/evident/bindings/go"
)

func main() {
	n := flag.Int("n", 100, "entries per goroutine")
	goroutines := flag.Int("goroutines", 8, "concurrent writers")
	keyHex := flag.String("key", "", "HMAC key, hex (at least 16 bytes)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: evident-go-demo [flags] LOG")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *n, *goroutines, *keyHex); err != nil {
		fmt.Fprintln(os.Stderr, "evident-go-demo:", err)
		os.Exit(1)
	}
}

func run(path string, n, goroutines int, keyHex string) error {
	key, err := hex.DecodeString(keyHex)
	if err != nil {
		return fmt.Errorf("-key: %w", err)
	}
	if len(key) == 0 {
		key = nil
	}
	l, err := evident.Open(path, evident.Options{Key: key, Durability: evident.GroupCommit})
	if err != nil {
		return err
	}
	defer l.Close()
	logger := slog.New(evident.NewSlogHandler(l, &evident.SlogOptions{
		Source:  "evident-go-demo",
		OnError: func(err error) { fmt.Fprintln(os.Stderr, "audit:", err) },
	}))

	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			session := fmt.Sprintf("worker-%d", g)
			for i := 0; i < n; i++ {
				if i%2 == 0 {
					logger.Info("measure", "session_id", session, "channel", i%4, "ok", true)
					continue
				}
				_, err := l.Append(evident.Entry{EventType: "ACTION_EXECUTED", Action: "load_trace",
					SessionID: session, Source: "evident-go-demo", Success: evident.Ptr(true),
					Details: map[string]any{"file": fmt.Sprintf("trace-%d.bin", i)}})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return err
	}
	head, err := l.Head()
	if err != nil {
		return err
	}
	if err := l.Close(); err != nil {
		return err
	}

	res, err := evident.Verify(path, evident.VerifyOptions{Key: key, ExpectedHead: &head})
	if err != nil {
		return err
	}
	if !res.Valid {
		return fmt.Errorf("%s is invalid: %s", path, res.First())
	}
	fmt.Printf("%s: valid, %d entries, head %d:%s\n", path, res.Entries, res.Head.Seq, res.Head.Hash)
	for e, err := range evident.Entries(path, evident.QueryOptions{Order: evident.NewestFirst, Limit: 3}) {
		if err != nil {
			return err
		}
		fmt.Printf("  #%d %s %s %s/%s %s\n", e.Seq, e.Time.Format("15:04:05.000000"), e.SessionID,
			e.EventType, e.Action, e.Details)
	}
	return nil
}
