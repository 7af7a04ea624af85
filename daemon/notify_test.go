package daemon

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/internal/testenv"
	"github.com/tilesyncd/tilesyncd/internal/testkit"
)

// TestNotifications: with a notify endpoint configured, the running daemon
// tells it of an upload Mapbox processed and of a file refused, as JSON
// with the file, tileset, upload ID and outcome, and never the token.
func TestNotifications(t *testing.T) {
	var mu sync.Mutex
	var got []map[string]any
	var bodies []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Errorf("a payload that is not JSON: %q", b)
		}
		mu.Lock()
		got, bodies = append(got, m), append(bodies, string(b)+r.URL.String())
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hook.Close()
	e := newEnv(t, envOptions{extraYAML: "notify:\n  - url: " + hook.URL + "/hook\n    events: [uploaded, failed]\n"})
	d := e.open()
	defer d.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	e.Write("roads.geojson", `{"type":"FeatureCollection","features":[]}`)
	e.Write("empty.geojson", "")
	find := func(event, outcome string) map[string]any {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range got {
			if m["event"] == event && m["outcome"] == outcome {
				return m
			}
		}
		return nil
	}
	testkit.WaitFor(t, "the upload's and the refusal's notifications", 30*time.Second, func() bool {
		return find("uploaded", "uploaded") != nil && find("failed", "refused") != nil
	})
	up := find("uploaded", "uploaded")
	if up["tileset"] != "acme.roads" || !strings.HasSuffix(up["file"].(string), "roads.geojson") || up["upload_id"] == "" || up["id"] == "" {
		t.Errorf("the upload's payload: %v", up)
	}
	if ref := find("failed", "refused"); ref["message"] == "" || !strings.HasSuffix(ref["file"].(string), "empty.geojson") {
		t.Errorf("the refusal's payload: %v", ref)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, b := range bodies {
		if strings.Contains(b, testenv.Token) {
			t.Fatalf("the token in a notification: %s", b)
		}
	}
}

// TestHealthNotification: when Mapbox refuses the token, the endpoint is
// told that the daemon's health is failing, with the reason.
func TestHealthNotification(t *testing.T) {
	healthEvery = 50 * time.Millisecond
	defer func() { healthEvery = 30 * time.Second }()
	var mu sync.Mutex
	var got []map[string]any
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		json.NewDecoder(r.Body).Decode(&m)
		mu.Lock()
		got = append(got, m)
		mu.Unlock()
	}))
	defer hook.Close()
	e := newEnv(t, envOptions{extraYAML: "notify:\n  - url: " + hook.URL + "\n    events: [health]\n"})
	e.Srv.AddToken(testenv.Token) // no scope: every request refused
	d := e.open()
	defer d.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()
	e.Write("roads.geojson", `{"type":"FeatureCollection","features":[]}`)
	testkit.WaitFor(t, "a health notification", 30*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range got {
			if m["event"] == "health" && m["status"] == "failing" && m["reason"] != "" {
				return true
			}
		}
		return false
	})
	mu.Lock()
	defer mu.Unlock()
	for _, m := range got {
		if m["event"] != "health" {
			t.Errorf("an event the endpoint did not ask for: %v", m)
		}
	}
}
