package evident

// Converting Go values for the library, one rule for the whole package:
// JSON through encoding/json (strings checked to be valid UTF-8 without NUL
// first, since the encoder would silently replace invalid bytes), times as
// RFC 3339 (read by the library, which keeps them in UTC), strings returned
// by the library copied and freed, the zero values of argument structs
// unset by the library's rule (args in session.go), calls through the shim
// with their error taken in the same call.

/*
#include "shim.h"
*/
import "C"

import (
	"encoding/json"
	"reflect"
	"time"
	"unicode/utf8"
	"unsafe"
)

// takeString copies a string returned by the library and frees it.
func takeString(p *C.char) string {
	if p == nil {
		return ""
	}
	defer C.evident_string_free(p)
	return C.GoString(p)
}

func decodeJSON(text string, v any) error {
	if err := json.Unmarshal([]byte(text), v); err != nil {
		return goError(StatusPanic, "evident: cannot decode the library's JSON: "+err.Error())
	}
	return nil
}

func encodeJSON(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, goError(StatusInvalidArgument, "evident: "+err.Error())
	}
	return b, nil
}

// checkString refuses strings C or the JSON encoder would alter: a NUL
// byte ends a C string, and encoding/json replaces invalid UTF-8.
func checkString(what, s string) error {
	if hasNUL(s) {
		return goError(StatusInvalidArgument, "evident: "+what+" contains a NUL byte")
	}
	if !utf8.ValidString(s) {
		return goError(StatusInvalidUTF8, "evident: "+what+" is not valid UTF-8")
	}
	return nil
}

// checkValue refuses strings that are not valid UTF-8 anywhere in a value
// about to be encoded with encoding/json (which would silently replace
// them). U+0000 is fine here: JSON escapes it.
func checkValue(what string, v any) error {
	if !validValue(reflect.ValueOf(v), 0) {
		return goError(StatusInvalidUTF8, "evident: "+what+" holds a string that is not valid UTF-8")
	}
	return nil
}

func validValue(v reflect.Value, depth int) bool {
	if !v.IsValid() || depth > 1000 {
		return true
	}
	switch v.Kind() {
	case reflect.String:
		return utf8.ValidString(v.String())
	case reflect.Interface, reflect.Pointer:
		return v.IsNil() || validValue(v.Elem(), depth+1)
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if !validValue(it.Key(), depth+1) || !validValue(it.Value(), depth+1) {
				return false
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return true // []byte is base64
		}
		for i := 0; i < v.Len(); i++ {
			if !validValue(v.Index(i), depth+1) {
				return false
			}
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() && !validValue(v.Field(i), depth+1) {
				return false
			}
		}
	}
	return true
}

// timeText is a time as the library reads it: RFC 3339 in UTC, with up to
// nanoseconds (the library keeps microseconds).
func timeText(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

// deref is *p, or the zero value for nil.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// cstr is s NUL-terminated in Go memory, for the C call it is passed to.
func cstr(s string) *C.char {
	b := make([]byte, len(s)+1)
	copy(b, s)
	return (*C.char)(unsafe.Pointer(&b[0]))
}

// cstrOpt is cstr, or NULL for "".
func cstrOpt(s string) *C.char {
	if s == "" {
		return nil
	}
	return cstr(s)
}

// callC runs f, a shim call, and returns its status as an error.
func callC(f func(msg **C.char) C.evident_status) error {
	var msg *C.char
	return statusError(f(&msg), msg)
}

// textC is callC for a call returning a string (freed here, also on error).
func textC(f func(out, msg **C.char) C.evident_status) (string, error) {
	var out *C.char
	err := callC(func(msg **C.char) C.evident_status { return f(&out, msg) })
	text := takeString(out)
	if err != nil {
		return "", err
	}
	return text, nil
}

// decodeAs decodes text, the library's JSON, into v (whose initial value
// is what JSON null leaves); on error it returns the zero T.
func decodeAs[T any](text string, err error, v T) (T, error) {
	if err == nil {
		err = decodeJSON(text, &v)
	}
	if err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

// checkStrings is checkString for (what, value) pairs.
func checkStrings(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if err := checkString(pairs[i], pairs[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// nulPath is the error for a path holding a NUL byte.
func nulPath() error { return goError(StatusInvalidArgument, "evident: path contains a NUL byte") }
