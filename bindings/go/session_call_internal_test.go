package evident

import (
	"errors"
	"testing"
)

// Session methods are operations by name (evident_session_get_json and
// evident_session_change_json): the library refuses an unknown operation,
// a change through the read-only call and arguments of the wrong shape.
func TestSessionOperationsByName(t *testing.T) {
	s, err := NewSession("ops")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.do(true, "set_name", nil, "renamed"); err != nil {
		t.Fatal(err)
	}
	var info SessionInfo
	if err := s.do(false, "info", &info); err != nil || info.Name != "renamed" {
		t.Fatalf("info %+v, %v", info, err)
	}
	// A read-only operation runs through the change call too.
	var names []string
	if err := s.do(true, "trace_names", &names); err != nil || names == nil || len(names) != 0 {
		t.Fatalf("trace names %v, %v", names, err)
	}
	for _, c := range []struct {
		write bool
		op    string
		args  []any
		want  error
	}{
		{false, "no_such_op", nil, ErrInvalidArgument},
		{false, "set_name", []any{"x"}, ErrInvalidArgument},      // a change through the read-only call
		{true, "set_name", []any{"a", "b"}, ErrInvalidArgument},  // too many arguments
		{true, "set_name", []any{1}, ErrInvalidArgument},         // not a string
		{true, "set_name", []any{"a\x00b"}, ErrInvalidArgument},  // NUL
		{true, "set_name", []any{"bad\xff"}, ErrInvalidUTF8},     // checked before encoding
		{true, "remove_annotation", []any{"L", -1}, ErrNotFound}, // negative index
		{false, "annotations", []any{"", []float64{1}}, ErrInvalidArgument},
	} {
		if err := s.do(c.write, c.op, nil, c.args...); !errors.Is(err, c.want) {
			t.Errorf("%s %v: %v, want %v", c.op, c.args, err, c.want)
		}
	}
	if n := s.Name(); n != "renamed" {
		t.Fatalf("name %q after refused calls", n)
	}
	// TraceKit's auto_record, through the library's operation.
	if err := s.do(true, "set_history_auto_record", nil, "no"); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("auto_record of a string: %v", err)
	}
	if err := s.do(true, "set_history_auto_record", nil, false); err != nil {
		t.Fatal(err)
	}
	if err := s.do(false, "info", &info); err != nil || info.AutoRecord {
		t.Fatalf("info %+v, %v", info, err)
	}
	s.Close()
	if err := s.do(false, "info", nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}
