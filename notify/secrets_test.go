package notify_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/notify"
	"github.com/tilesyncd/tilesyncd/state"
	"github.com/tilesyncd/tilesyncd/state/statetest"
)

// TestNoSecretsShown: the URLs carry credentials (user information, a
// secret path segment, a token in the query), the endpoint echoes its URL
// in its error answers, another endpoint refuses connections, and an
// event's message quotes the Mapbox token and a URL. No payload, log line
// or error kept in the outbox shows any of those secrets.
func TestNoSecretsShown(t *testing.T) {
	const (
		mapboxToken = "pk.eyJ1IjoiYWxpY2UifQ.tok3nSecretPart"
		secretPath  = "/services/T1/B2/abcDEF123ghiJKL456mnoPQR"
		query       = "?token=s3cr3tvalue&sig=5ig5ecret"
	)
	secrets := []string{"pa55word", "bob-user", "abcDEF123ghiJKL456mnoPQR", "s3cr3tvalue", "5ig5ecret", mapboxToken, "tok3nSecretPart"}

	store := statetest.Open(t, state.Options{})
	e := newEndpoint(t, 2, http.StatusInternalServerError)
	e.echoURL = true
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close() // its port now refuses connections
	withSecrets := func(base string) string {
		return strings.Replace(base, "http://", "http://bob-user:pa55word@", 1) + secretPath + query
	}
	live, dead := mustURL(t, withSecrets(e.srv.URL)), mustURL(t, withSecrets(gone.URL))

	var logs logBuffer
	n, err := notify.New(notify.Options{
		Outbox: store, Logger: logs.logger(), Secrets: []string{mapboxToken},
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond,
		Targets: []notify.Target{{URL: live}, {URL: dead, Format: notify.FormatSlack}},
	})
	if err != nil {
		t.Fatal(err)
	}
	run(t, n)
	n.Notify(notify.Event{Kind: notify.Failed, Tileset: "alice.parcels", File: "parcels.mbtiles",
		Message: "refused: https://api.mapbox.com/uploads/v1/alice?access_token=" + mapboxToken + " (" + live.Reveal() + ")"})
	e.waitArrivals(t, 3)
	waitFor(t, "the live endpoint's delivery", func() bool { return len(e.delivered(t)) == 1 })
	deadKey := notify.Key(dead)
	waitFor(t, "two failures of the dead endpoint", func() bool {
		p, err := store.OutboxPending(deadKey, 1)
		return err == nil && len(p) == 1 && p[0].Attempts >= 2
	})
	pending, _ := store.OutboxPending(deadKey, 1)

	var texts []string
	for _, r := range e.requests() {
		texts = append(texts, string(r.body))
	}
	texts = append(texts, logs.String(), pending[0].LastError, string(pending[0].Payload))
	for _, text := range texts {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%q shows in:\n%s", s, text)
			}
		}
	}
	if !strings.Contains(logs.String(), "http://[redacted]@127.0.0.1:") || !strings.Contains(logs.String(), "/B2/[redacted]?token=[redacted]&sig=[redacted]") {
		t.Errorf("the log does not name the endpoints, redacted:\n%s", logs.String())
	}
	if !strings.Contains(pending[0].LastError, "refused") {
		t.Errorf("the dead endpoint's last error %q does not say why", pending[0].LastError)
	}
	if p := e.delivered(t); !strings.Contains(p[0].Message, "access_token=[redacted]") {
		t.Errorf("the message lost its shape: %q", p[0].Message)
	}
}
