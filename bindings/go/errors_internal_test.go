package evident

import "testing"

// Every status the library names has a sentinel error, so errors.Is works
// for each of them (a status added to the C ABI without a Go mapping fails).
func TestEveryStatusHasASentinel(t *testing.T) {
	named := 0
	for s := Status(1); s < 256; s++ {
		if s.String() == "EVIDENT_STATUS_UNKNOWN" || s == StatusEnd {
			continue
		}
		named++
		if _, ok := sentinels[s]; !ok {
			t.Errorf("status %d (%s) has no sentinel error", uint32(s), s)
		}
	}
	if named < 16 {
		t.Fatalf("only %d named statuses", named)
	}
}
