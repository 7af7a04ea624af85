package intake

import (
	"context"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/internal/testkit"
)

// Busy covers a file asked to be read again until Run has read it and
// recorded what it did: a daemon judged idle by its sender alone (no job
// yet) has not done all it knows of.
func TestBusyUntilARereadIsTaken(t *testing.T) {
	in, drop, _ := newRulesIntake(t, "  - match: \"**\"\n    tileset: \"{username}.{stem}\"\n")
	c := conflict{t: t, in: in, drop: drop}
	if in.Busy() {
		t.Fatal("a new intake is busy before it has any work")
	}
	c.write("p.geojson", `{"type":"FeatureCollection","features":[]}`)
	in.ReadAgain(c.key("p.geojson"))
	if !in.Busy() {
		t.Fatal("not busy with a file to read again")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx, nil) }()
	defer func() { cancel(); <-done }()
	testkit.WaitFor(t, "intake to be done with the file", 10*time.Second, func() bool { return !in.Busy() })
	if _, known, err := in.store.File(c.key("p.geojson")); err != nil || !known {
		t.Fatalf("intake is not busy, yet the file read again has no record (err %v)", err)
	}
	if jobs := c.jobs(); len(jobs) != 1 {
		t.Errorf("jobs %v, want the file's", jobs)
	}
}
