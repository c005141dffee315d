package peers

// The slog path: a program that logs its audit events with log/slog, the
// attributes becoming the details. evident through its slog handler
// (details built from the attributes on every record) vs OpenParallax's
// logger given the same details, marshalled from a map on every record
// (its API takes the details as a JSON string). Same content as the other
// append benchmarks (about 200 bytes of details).
//
//	go test -tags evident_dev -run '^$' -bench Slog -benchtime 2s -count 3

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"

	evident "github.com/evident-audit/evident/bindings/go"
)

// detailsMap is detailsJSON as a map (what a program has at hand).
var detailsMap = func() map[string]any {
	var d map[string]any
	if err := json.Unmarshal([]byte(detailsJSON), &d); err != nil {
		panic(err)
	}
	return d
}()

type slogEvident struct {
	l      *evident.Log
	logger *slog.Logger
}

func (a *slogEvident) append() error {
	d := detailsMap
	a.logger.Info(action,
		"session_id", session,
		"instrument", d["instrument"],
		"sample", d["sample"],
		"file", d["file"],
		"injections", 3,
		"passed", true,
		"tags", []string{"gmp", "release", "batch-17"},
		"note", d["note"],
	)
	return nil
}
func (a *slogEvident) close() error { return a.l.Close() }

type opxMarshal struct{ opxLog }

func (a *opxMarshal) append() error {
	b, err := json.Marshal(map[string]any{
		"instrument": detailsMap["instrument"],
		"sample":     detailsMap["sample"],
		"file":       detailsMap["file"],
		"injections": 3,
		"passed":     true,
		"tags":       []string{"gmp", "release", "batch-17"},
		"note":       detailsMap["note"],
	})
	if err != nil {
		return err
	}
	e := a.e
	e.Details = string(b)
	return a.l.Log(e)
}

func openSlogEvident(b *testing.B, path string, d evident.Durability, bufferSize int) appender {
	l, err := evident.Open(path, evident.Options{Durability: d, BufferSize: bufferSize})
	if err != nil {
		b.Fatal(err)
	}
	h := evident.NewSlogHandler(l, &evident.SlogOptions{
		EventType: func(slog.Level) string { return eventType },
		OnError:   func(err error) { b.Error(err) },
	})
	return &slogEvident{l: l, logger: slog.New(h)}
}

func BenchmarkSlog(b *testing.B) {
	cases := []impl{
		{"openparallax/os-buffered-marshal", func(b *testing.B, p string) appender {
			return &opxMarshal{*openOpxLog(b, p, false).(*opxLog)}
		}},
		{"evident/slog-buffered-write-each", func(b *testing.B, p string) appender {
			return openSlogEvident(b, p, evident.Buffered, 1)
		}},
		{"evident/slog-buffered-64KiB", func(b *testing.B, p string) appender {
			return openSlogEvident(b, p, evident.Buffered, 0)
		}},
		{"evident/append-buffered-64KiB", func(b *testing.B, p string) appender {
			return openEvident(b, p, evident.Buffered, 0)
		}},
	}
	for _, g := range []int{1, 8} {
		for _, im := range cases {
			b.Run(fmt.Sprintf("g=%d/%s", g, im.name), func(b *testing.B) {
				runAppends(b, g, func(p string) appender { return im.open(b, p) })
			})
		}
	}
}
