package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/internal/clock"
	"github.com/tilesyncd/tilesyncd/notify"
	"github.com/tilesyncd/tilesyncd/state"
	"github.com/tilesyncd/tilesyncd/state/statetest"
)

// run starts n.Run and returns a function that stops it and returns its
// error.
func run(t *testing.T, n *notify.Notifier) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	stopped := false
	var err error
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			err = <-done
		}
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

func outboxEmpty(t *testing.T, s *state.Store) func() bool {
	return func() bool {
		counts, err := s.OutboxCounts()
		if err != nil {
			t.Fatal(err)
		}
		return len(counts) == 0
	}
}

func TestDeliversJSONAndSlack(t *testing.T) {
	store := statetest.Open(t, state.Options{})
	all := newEndpoint(t, 0, 0)
	slack := newEndpoint(t, 0, 0)
	at := time.Date(2026, 11, 30, 9, 15, 0, 0, time.UTC)
	n, err := notify.New(notify.Options{
		Outbox:      store,
		Host:        "tiles-01",
		Concurrency: 1, // in order
		Clock:       clock.NewManual(at),
		Targets: []notify.Target{
			{URL: mustURL(t, all.srv.URL+"/hook")},
			{URL: mustURL(t, slack.srv.URL+"/slack"), Events: []notify.Kind{notify.Failed}, Format: notify.FormatSlack},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	n.Notify(notify.Event{Kind: notify.Uploaded, File: "roads/parcels.mbtiles", Tileset: "alice.parcels",
		UploadID: "cjx3k9a2b0001abcd", Outcome: "uploaded"})
	n.Notify(notify.Event{Kind: notify.Failed, File: "roads/bad <1>.geojson", Tileset: "alice.bad",
		UploadID: "ckz0000000", Outcome: "failed", Message: "Invalid GeoJSON & more", Time: at.Add(time.Minute)})
	stop := run(t, n)
	all.waitArrivals(t, 2)
	slack.waitArrivals(t, 1)
	waitFor(t, "an empty outbox", outboxEmpty(t, store))
	if err := stop(); err != nil {
		t.Errorf("Run: %v", err)
	}

	got := all.delivered(t)
	if len(got) != 2 {
		t.Fatalf("json endpoint got %d payloads, want 2", len(got))
	}
	want := notify.Payload{ID: got[0].ID, Event: notify.Uploaded, Time: at, Host: "tiles-01", File: "roads/parcels.mbtiles",
		Tileset: "alice.parcels", UploadID: "cjx3k9a2b0001abcd", Outcome: "uploaded"}
	if got[0] != want || len(got[0].ID) != 32 {
		t.Errorf("payload\n%+v, want\n%+v", got[0], want)
	}
	if got[1].Event != notify.Failed || got[1].Message != "Invalid GeoJSON & more" || !got[1].Time.Equal(at.Add(time.Minute)) {
		t.Errorf("second payload %+v", got[1])
	}
	for i, r := range all.requests() {
		if r.header.Get("Content-Type") != "application/json" || r.header.Get("Idempotency-Key") != got[i].ID ||
			r.header.Get("X-Tilesyncd-Event") != string(got[i].Event) {
			t.Errorf("request %d headers %v", i, r.header)
		}
	}
	sr := slack.requests()
	if len(sr) != 1 {
		t.Fatalf("slack endpoint got %d requests, want only the failure", len(sr))
	}
	var body map[string]string
	if err := json.Unmarshal(sr[0].body, &body); err != nil || len(body) != 1 {
		t.Fatalf("slack body %q: %v", sr[0].body, err)
	}
	wantText := "tilesyncd on tiles-01: failed roads/bad &lt;1&gt;.geojson → alice.bad (upload ckz00000…): Invalid GeoJSON &amp; more"
	if body["text"] != wantText {
		t.Errorf("slack text\n%q, want\n%q", body["text"], wantText)
	}
}

func TestHealthEvent(t *testing.T) {
	store := statetest.Open(t, state.Options{})
	e := newEndpoint(t, 0, 0)
	slack := newEndpoint(t, 0, 0)
	n, err := notify.New(notify.Options{Outbox: store, Targets: []notify.Target{
		{URL: mustURL(t, e.srv.URL), Events: []notify.Kind{notify.Health}},
		{URL: mustURL(t, slack.srv.URL), Format: notify.FormatSlack},
	}})
	if err != nil {
		t.Fatal(err)
	}
	run(t, n)
	n.Notify(notify.Event{Kind: notify.Uploaded, Tileset: "alice.x"}) // not subscribed by the first
	n.Notify(notify.Event{Kind: notify.Health, Status: "degraded", Reason: "Mapbox answers 503"})
	e.waitArrivals(t, 1)
	slack.waitArrivals(t, 2)
	waitFor(t, "an empty outbox", outboxEmpty(t, store))
	if p := e.delivered(t); len(p) != 1 || p[0].Event != notify.Health || p[0].Status != "degraded" || p[0].Reason != "Mapbox answers 503" {
		t.Errorf("health endpoint got %+v", p)
	}
	var texts []string
	for _, r := range slack.requests() {
		var body map[string]string
		json.Unmarshal(r.body, &body)
		texts = append(texts, body["text"])
	}
	if !strings.Contains(strings.Join(texts, "\n"), "tilesyncd: health degraded: Mapbox answers 503") {
		t.Errorf("slack texts %q", texts)
	}
}

// TestFailingEndpointDoesNotSlowOthers: an endpoint that holds every
// request neither blocks Notify nor delays another endpoint, and never has
// more than Concurrency requests in flight.
func TestFailingEndpointDoesNotSlowOthers(t *testing.T) {
	store := statetest.Open(t, state.Options{})
	stuck := newEndpoint(t, 0, 0)
	release := stuck.hold(t)
	ok := newEndpoint(t, 0, 0)
	n, err := notify.New(notify.Options{Outbox: store, Concurrency: 3, Timeout: time.Hour, Targets: []notify.Target{
		{URL: mustURL(t, stuck.srv.URL)}, {URL: mustURL(t, ok.srv.URL)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	const events = 40
	notifyFrom := func(from, to int) {
		for i := from; i < to; i++ {
			n.Notify(notify.Event{Kind: notify.Uploaded, Tileset: fmt.Sprintf("alice.t%d", i)})
		}
	}
	notifyFrom(0, 3)
	run(t, n)
	stuck.waitArrivals(t, 3) // held
	notifyFrom(3, events)
	ok.waitArrivals(t, events)
	if got := len(stuck.requests()); got != 3 {
		t.Errorf("the stuck endpoint has %d requests, want Concurrency (3)", got)
	}
	counts, _ := store.OutboxCounts()
	if counts[notify.Key(mustURL(t, stuck.srv.URL))] != events {
		t.Errorf("outbox counts %v, want %d waiting for the stuck endpoint", counts, events)
	}
	release()
	stuck.waitArrivals(t, events-3)
	waitFor(t, "an empty outbox", outboxEmpty(t, store))
	if stuck.maxInFlight > 3 || ok.maxInFlight > 3 {
		t.Errorf("in flight at most %d and %d, want at most 3", stuck.maxInFlight, ok.maxInFlight)
	}
	if len(stuck.delivered(t)) != events || len(ok.delivered(t)) != events {
		t.Errorf("delivered %d and %d, want %d each", len(stuck.delivered(t)), len(ok.delivered(t)), events)
	}
}

// TestOutboxBoundDropsOldest: with the endpoint unreachable, an outbox of
// 5 keeps the newest 5 and says in the log what it dropped.
func TestOutboxBoundDropsOldest(t *testing.T) {
	store := statetest.Open(t, state.Options{})
	e := newEndpoint(t, 0, 0)
	var logs logBuffer
	n, err := notify.New(notify.Options{Outbox: store, MaxPending: 5, Concurrency: 1, Logger: logs.logger(),
		Targets: []notify.Target{{URL: mustURL(t, e.srv.URL)}}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 8 { // before Run: nothing is sent
		n.Notify(notify.Event{Kind: notify.Failed, Tileset: fmt.Sprintf("alice.t%d", i)})
	}
	if got := strings.Count(logs.String(), "notification outbox full: dropped the oldest messages"); got != 3 {
		t.Errorf("%d drop warnings, want 3:\n%s", got, logs.String())
	}
	if !strings.Contains(logs.String(), "dropped=1") || !strings.Contains(logs.String(), "max_pending=5") {
		t.Errorf("the warning does not say how many:\n%s", logs.String())
	}
	run(t, n)
	e.waitArrivals(t, 5)
	waitFor(t, "an empty outbox", outboxEmpty(t, store))
	var got []string
	for _, p := range e.delivered(t) {
		got = append(got, p.Tileset)
	}
	if strings.Join(got, " ") != "alice.t3 alice.t4 alice.t5 alice.t6 alice.t7" {
		t.Errorf("delivered %v, want the newest five in order", got)
	}
}

// TestRefusedMessageDropped: a 400 refuses the message itself: it is
// dropped and logged, and the next one is sent.
func TestRefusedMessageDropped(t *testing.T) {
	store := statetest.Open(t, state.Options{})
	e := newEndpoint(t, 1, http.StatusBadRequest)
	var logs logBuffer
	n, err := notify.New(notify.Options{Outbox: store, Concurrency: 1, Logger: logs.logger(),
		Targets: []notify.Target{{URL: mustURL(t, e.srv.URL)}}})
	if err != nil {
		t.Fatal(err)
	}
	n.Notify(notify.Event{Kind: notify.Failed, Tileset: "alice.a"})
	n.Notify(notify.Event{Kind: notify.Failed, Tileset: "alice.b"})
	run(t, n)
	e.waitArrivals(t, 2)
	waitFor(t, "an empty outbox", outboxEmpty(t, store))
	if d := e.delivered(t); len(d) != 1 || d[0].Tileset != "alice.b" {
		t.Errorf("delivered %+v, want alice.b only", d)
	}
	if !strings.Contains(logs.String(), "notification refused by the endpoint; dropped") || !strings.Contains(logs.String(), "400 Bad Request") {
		t.Errorf("no log of the refusal:\n%s", logs.String())
	}
}

// TestOrphansDropped: messages of an endpoint no longer configured are
// dropped when Run starts.
func TestOrphansDropped(t *testing.T) {
	store := statetest.Open(t, state.Options{})
	if _, err := store.OutboxAdd([]string{"0123456789abcdef"}, []byte(`{"id":"x"}`), 0); err != nil {
		t.Fatal(err)
	}
	var logs logBuffer
	n, err := notify.New(notify.Options{Outbox: store, Logger: logs.logger()})
	if err != nil {
		t.Fatal(err)
	}
	run(t, n)
	waitFor(t, "the warning", func() bool {
		return strings.Contains(logs.String(), "dropped the notifications of an endpoint no longer configured")
	})
	if !outboxEmpty(t, store)() {
		t.Error("the outbox still holds the orphans")
	}
}

func TestNewErrors(t *testing.T) {
	store := statetest.Open(t, state.Options{})
	u := mustURL(t, "https://alice:pa55word@hooks.example.org/x?token=s3cr3tvalue")
	for _, tt := range []struct {
		opts notify.Options
		want string
	}{
		{notify.Options{}, "no outbox"},
		{notify.Options{Outbox: store, Targets: []notify.Target{{}}}, "target 0 has no URL"},
		{notify.Options{Outbox: store, Targets: []notify.Target{{URL: u, Format: "xml"}}}, `format "xml"`},
		{notify.Options{Outbox: store, Targets: []notify.Target{{URL: u, Events: []notify.Kind{"started"}}}}, `event "started"`},
		{notify.Options{Outbox: store, Targets: []notify.Target{{URL: u}, {URL: u}}}, "target 1 (https://[redacted]@hooks.example.org/x?token=[redacted]): the same URL as target 0"},
	} {
		_, err := notify.New(tt.opts)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New: %v, want an error with %q", err, tt.want)
			continue
		}
		for _, secret := range []string{"pa55word", "s3cr3tvalue", "alice"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the error %q shows %q", err, secret)
			}
		}
	}
}

func TestRunTwice(t *testing.T) {
	store := statetest.Open(t, state.Options{})
	n, err := notify.New(notify.Options{Outbox: store})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := n.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := n.Run(ctx); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("second Run: %v", err)
	}
}
