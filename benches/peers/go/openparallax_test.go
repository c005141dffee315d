//go:build openparallax

package peers

// The real OpenParallax audit package, next to the model in opx.go. Needs
// the module, which the Go module proxy refused on the machine where the
// results in docs/peers.md were taken; where it is served:
//
//	GOFLAGS=-mod=mod go get github.com/openparallax/openparallax/audit@latest
//	go test -tags openparallax -run '^$' -bench . -benchtime 2s
//
// (go get adds the requirement to go.mod; don't commit that: the main
// benchmark module stays free of it.) Its logger has no durable mode (no
// fsync in Log or Close), so it is compared with the OS-buffered modes.

import (
	"testing"

	"github.com/openparallax/openparallax/audit"
)

type realOpx struct {
	l *audit.Logger
	e audit.Entry
}

func (a *realOpx) append() error { return a.l.Log(a.e) }
func (a *realOpx) close() error  { return a.l.Close() }

func realEntry() audit.Entry {
	return audit.Entry{EventType: audit.ActionExecuted, ActionType: action,
		SessionID: session, Details: detailsJSON}
}

func init() {
	impls = append(impls, impl{"openparallax-real/os-buffered", func(b *testing.B, p string) appender {
		l, err := audit.NewLogger(p)
		if err != nil {
			b.Fatal(err)
		}
		return &realOpx{l: l, e: realEntry()}
	}})
	extraVerifiers = append(extraVerifiers, struct {
		name   string
		write  func(path string, n int) error
		verify func(path string) error
	}{
		name: "openparallax-real",
		write: func(path string, n int) error {
			l, err := audit.NewLogger(path)
			if err != nil {
				return err
			}
			defer l.Close()
			e := realEntry()
			for i := 0; i < n; i++ {
				if err := l.Log(e); err != nil {
					return err
				}
			}
			return nil
		},
		verify: audit.VerifyIntegrity,
	})
}
