package evident

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// appendDetails must write exactly what encoding/json writes for the same
// map (the slog handler used json.Marshal before).
func TestAppendDetailsIsJSONMarshal(t *testing.T) {
	var all strings.Builder
	for c := 0; c < 0x80; c++ {
		all.WriteByte(byte(c))
	}
	strs := []string{
		"", "plain", all.String(), "é ü 漢字 🙂", "a\u2028b\u2029c", "bad \xff\xfe utf-8 \xc3",
		"<script>&amp;</script>", "\x00nul", "tab\tnl\nret\rbs\bff\f", `q"uo\te`,
	}
	floats := []float64{0, -0.0, 1, -1, 0.5, 3.0, 1e-6, 9.99e-7, 1e-7, 1.5e-9, 1e20, 1e21, 1.234e21,
		123456789.125, -2.5e-300, math.MaxFloat64, math.SmallestNonzeroFloat64, 1.0 / 3}
	m := map[string]any{}
	for i, s := range strs {
		m["s"+string(rune('a'+i))] = s
		m[s] = i // keys are escaped too
	}
	for i, f := range floats {
		m["f"+string(rune('a'+i))] = f
	}
	m["i64"] = int64(math.MinInt64)
	m["int"] = 42
	m["u64"] = uint64(math.MaxUint64)
	m["t"], m["f"] = true, false
	m["raw"] = json.RawMessage(`{"a":[1,2,{"b":"\u003c"}],"n":null}`)
	m["null"] = json.RawMessage(`null`)
	m["nested"] = map[string]any{"z": "last", "a": map[string]any{"deep": 1.5, "s": "x<y"}, "": "empty key"}
	m["empty"] = map[string]any{}
	got, ok := appendDetails(nil, m)
	if !ok {
		t.Fatal("appendDetails refused the map")
	}
	want, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("appendDetails\n got %s\nwant %s", got, want)
	}
	for _, f := range floats {
		got, _ := appendJSONValue(nil, f)
		want, _ := json.Marshal(f)
		if !bytes.Equal(got, want) {
			t.Errorf("float %v: got %s, want %s", f, got, want)
		}
	}
}

func TestAppendDetailsRefusesOtherTypes(t *testing.T) {
	for _, v := range []any{math.NaN(), math.Inf(1), []string{"x"}, struct{}{}, json.RawMessage(`{bad`), int32(1)} {
		if b, ok := appendDetails(nil, map[string]any{"k": v}); ok {
			t.Errorf("%T %v accepted: %s", v, v, b)
		}
	}
}
