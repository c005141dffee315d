// Package peers benchmarks evident's Go API against the audit logger of
// OpenParallax (github.com/openparallax/openparallax/audit).
//
// The Go module proxy refuses that module here (403 "This module version is
// not available" for its version list, @latest and every version tried), so
// by default this package measures opxLogger below: a model written for this
// benchmark that does, step by step, what the published logger does per
// entry (see docs/peers.md for the source read): under one mutex, build the
// entry (random UUID id, Unix-ms timestamp, details as a JSON string, the
// previous hash), canonicalise it (encoding/json, decode into any,
// re-encode with sorted keys), SHA-256 it, encoding/json the entry with its
// hash, and write the line with one write(2) to an O_APPEND file. The
// published logger never calls fsync (Log and Close included); the "fsync"
// mode adds File.Sync after each write, the per-entry fsync that evident's
// issue describes. Its verifier reads the whole file, splits lines and
// repeats the canonicalisation and hash for every line.
//
// With -tags openparallax the benchmarks also run the real package
// (openparallax_test.go); see README.md.
package peers

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"
)

// opxRecord is one line of an OpenParallax audit log (its on-disk fields).
type opxRecord struct {
	ID           string `json:"id"`
	EventType    int    `json:"event_type"`
	Timestamp    int64  `json:"timestamp"`
	SessionID    string `json:"session_id,omitempty"`
	ActionType   string `json:"action_type,omitempty"`
	DetailsJSON  string `json:"details_json,omitempty"`
	PreviousHash string `json:"previous_hash"`
	Hash         string `json:"hash"`
	OTR          bool   `json:"otr"`
	Source       string `json:"source,omitempty"`
}

// opxEntry is what a caller passes (OpenParallax's audit.Entry).
type opxEntry struct {
	EventType  int
	ActionType string
	SessionID  string
	Details    string
	OTR        bool
	Source     string
}

type opxLogger struct {
	mu       sync.Mutex
	f        *os.File
	last     string
	syncEach bool
}

func openOpx(path string, syncEach bool) (*opxLogger, error) {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	return &opxLogger{f: f, syncEach: syncEach}, nil
}

func uuid4() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// canonical: encoding/json, decoded into generic values, re-encoded with
// the keys of every object sorted.
func canonical(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := writeSorted(&buf, generic); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeSorted(buf *bytes.Buffer, v any) error {
	switch x := v.(type) {
	case map[string]any:
		names := make([]string, 0, len(x))
		for k := range x {
			names = append(names, k)
		}
		sort.Strings(names)
		buf.WriteByte('{')
		for i, k := range names {
			if i > 0 {
				buf.WriteByte(',')
			}
			kb, err := json.Marshal(k)
			if err != nil {
				return err
			}
			buf.Write(kb)
			buf.WriteByte(':')
			if err := writeSorted(buf, x[k]); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case []any:
		buf.WriteByte('[')
		for i, item := range x {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeSorted(buf, item); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return err
		}
		buf.Write(b)
	}
	return nil
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func (l *opxLogger) Log(e opxEntry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	rec := opxRecord{
		ID:           uuid4(),
		EventType:    e.EventType,
		Timestamp:    time.Now().UnixMilli(),
		SessionID:    e.SessionID,
		ActionType:   e.ActionType,
		DetailsJSON:  e.Details,
		PreviousHash: l.last,
		OTR:          e.OTR,
		Source:       e.Source,
	}
	c, err := canonical(rec)
	if err != nil {
		return err
	}
	rec.Hash = sha256Hex(c)
	line, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if _, err := l.f.Write(append(line, '\n')); err != nil {
		return err
	}
	if l.syncEach {
		if err := l.f.Sync(); err != nil {
			return err
		}
	}
	l.last = rec.Hash
	return nil
}

func (l *opxLogger) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Close()
}

// opxVerify checks the chain of the file at path as the published verifier
// does: the whole file in memory, one line at a time.
func opxVerify(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	prev, n := "", 0
	for i, line := range lines {
		if len(line) == 0 {
			continue
		}
		var rec opxRecord
		if err := json.Unmarshal(line, &rec); err != nil {
			return n, fmt.Errorf("line %d: %w", i+1, err)
		}
		if rec.PreviousHash != prev {
			return n, fmt.Errorf("line %d: chain broken", i+1)
		}
		stored := rec.Hash
		rec.Hash = ""
		c, err := canonical(rec)
		if err != nil {
			return n, err
		}
		if sha256Hex(c) != stored {
			return n, errors.New("hash mismatch at line " + fmt.Sprint(i+1))
		}
		prev = stored
		n++
	}
	return n, nil
}
