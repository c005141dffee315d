// A Go program using the evident module from OUTSIDE the repository, linked
// against the installed libevident through pkg-config
// (scripts/test-install.sh). Usage: consumer DIR.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	evident "github.com/evident-audit/evident/bindings/go"
)

func main() {
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(dir string) error {
	path := filepath.Join(dir, "go.jsonl")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l, err := evident.OpenContext(ctx, path, evident.Options{Durability: evident.GroupCommit})
	if err != nil {
		return err
	}
	var head evident.Head
	for i := 0; i < 5; i++ {
		if head, err = l.AppendContext(ctx, evident.Entry{EventType: "GO", Action: "outside",
			Details: map[string]any{"i": i}}); err != nil {
			return err
		}
	}
	if err := l.Close(); err != nil {
		return err
	}
	res, err := evident.VerifyContext(ctx, path, evident.VerifyOptions{ExpectedHead: &head})
	if err != nil {
		return err
	}
	if !res.Valid || res.Entries != 5 {
		return fmt.Errorf("verify: %+v", res)
	}
	fmt.Println("ok", res.Entries, evident.Version())
	return nil
}
