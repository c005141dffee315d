package evident

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestForkedStatusAndSentinel(t *testing.T) {
	if StatusForked.String() != "EVIDENT_STATUS_FORKED" {
		t.Fatalf("StatusForked is %q", StatusForked.String())
	}
	err := error(&Error{Status: StatusForked, Message: "x.jsonl: this log was opened by process 1; reopen it in the child after fork"})
	if !errors.Is(err, ErrForked) || errors.Is(err, ErrLocked) {
		t.Fatalf("errors.Is(%v, ErrForked) is wrong", err)
	}
}

func TestSlogHandlerPanicsOnForkedHandle(t *testing.T) {
	var reported error
	h := &slogHandler{opts: SlogOptions{OnError: func(e error) { reported = e }}}
	plain := &Error{Status: StatusIO, Message: "disk"}
	if got := h.failed(plain); got != plain || reported != plain {
		t.Fatalf("an I/O error is returned and reported: %v %v", got, reported)
	}
	forked := fmt.Errorf("append: %w", &Error{Status: StatusForked, Message: "opened by process 1"})
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(fmt.Sprint(r), "opened by process 1") {
			t.Fatalf("no loud refusal: %v", r)
		}
		if reported != forked {
			t.Fatalf("OnError not called first: %v", reported)
		}
	}()
	h.failed(forked)
}
