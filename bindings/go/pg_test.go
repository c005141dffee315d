package evident_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	evident "github.com/evident-audit/evident/bindings/go"
)

// pgURL is the test server (EVIDENT_PG_URL; scripts/test.sh starts one).
// Skips loudly without one; fails without one under CI=true or
// EVIDENT_REQUIRE_PG=1.
func pgURL(t *testing.T) string {
	u := os.Getenv("EVIDENT_PG_URL")
	if u == "" {
		if os.Getenv("CI") == "true" || os.Getenv("EVIDENT_REQUIRE_PG") == "1" {
			t.Fatal("EVIDENT_PG_URL is not set but PostgreSQL is required")
		}
		t.Skip("*** SKIPPED: PostgreSQL test without a server: EVIDENT_PG_URL is not set ***")
	}
	return u
}

func TestShipAndDBQuery(t *testing.T) {
	url := pgURL(t)
	p := filepath.Join(t.TempDir(), "a.jsonl")
	l := mustOpen(t, p, evident.Options{})
	src := "go-tool-" + time.Now().Format("150405.000000000")
	for i := 0; i < 7; i++ {
		mustAppend(t, l, evident.Entry{EventType: "ACTION_EXECUTED", Action: "op", Source: src})
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	reps, err := evident.Ship(p, url, evident.ShipOptions{Batch: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != 1 || reps[0].Shipped != 8 || reps[0].HeadSeq != 7 {
		t.Fatalf("%+v", reps)
	}
	reps, err = evident.Ship(p, url, evident.ShipOptions{})
	if err != nil || reps[0].Shipped != 0 || reps[0].Already != 8 {
		t.Fatalf("%+v %v", reps, err)
	}
	got, err := evident.DBQuery(url, evident.QueryOptions{Source: src}, "", "")
	if err != nil {
		t.Fatal(err)
	}
	local := mustRead(t, p, evident.QueryOptions{Source: src})
	if len(got) != 7 || len(local) != 7 {
		t.Fatalf("%d %d", len(got), len(local))
	}
	for i := range got {
		if got[i].Hash != local[i].Hash || got[i].LogID != reps[0].LogID || !got[i].Time.Equal(local[i].Time) {
			t.Fatalf("%d: %+v vs %+v", i, got[i], local[i])
		}
	}
}

func TestShipErrorsHideThePassword(t *testing.T) {
	pgURL(t)
	p := filepath.Join(t.TempDir(), "a.jsonl")
	l := mustOpen(t, p, evident.Options{})
	mustAppend(t, l, evident.Entry{EventType: "E", Action: "a"})
	_ = l.Close()
	zero := time.Duration(0)
	_, err := evident.Ship(p, "postgres://bob:s3cretpw@127.0.0.1:1/db", evident.ShipOptions{RetryFor: &zero})
	e := wantErr(t, err, evident.ErrDatabase, evident.StatusDatabase)
	if strings.Contains(e.Error(), "s3cretpw") {
		t.Fatal(e)
	}
}

func TestDBVerifyMatchesFileVerifyAndCrossCheckCounts(t *testing.T) {
	url := pgURL(t)
	p := filepath.Join(t.TempDir(), "a.jsonl")
	l := mustOpen(t, p, evident.Options{})
	for i := 0; i < 9; i++ {
		mustAppend(t, l, evident.Entry{EventType: "ACTION_EXECUTED", Action: "op"})
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	reps, err := evident.Ship(p, url, evident.ShipOptions{})
	if err != nil {
		t.Fatal(err)
	}
	id := reps[0].LogID
	got, err := evident.DBVerify(url+"?log_id="+id, evident.DBVerifyOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	local, err := evident.Verify(p, evident.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !got[0].Valid || got[0].LogID != id || got[0].Entries != 9 ||
		got[0].Head != local.Head || got[0].Alg != evident.SHA256 || got[0].Framing != evident.JSONL {
		t.Fatalf("%+v vs %+v", got, local)
	}
	cc, err := evident.DBCrossCheck(p, url)
	if err != nil || cc.Same != 10 || cc.FirstDifference != nil || cc.OnlyLocal != 0 {
		t.Fatalf("%+v %v", cc, err)
	}
	l = mustOpen(t, p, evident.Options{})
	mustAppend(t, l, evident.Entry{EventType: "ACTION_EXECUTED", Action: "later"})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if cc, err = evident.DBCrossCheck(p, url); err != nil || cc.OnlyLocal != 1 {
		t.Fatalf("%+v %v", cc, err)
	}
	_, err = evident.DBVerify("postgres://bob:s3cr3t-pw@127.0.0.1:1/db", evident.DBVerifyOptions{})
	if !errors.Is(err, evident.ErrDatabase) || strings.Contains(err.Error(), "s3cr3t-pw") {
		t.Fatalf("%v", err)
	}
}
