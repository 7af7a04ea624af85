package notify

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Kind is what happened.
type Kind string

// The kinds of event, the names of the configuration's events list.
const (
	Uploaded Kind = "uploaded" // Mapbox processed a file's upload
	Failed   Kind = "failed"   // a file's upload failed or was refused
	Health   Kind = "health"   // the daemon's health changed
)

// Kinds are all the kinds, the events a Target without a list gets.
var Kinds = []Kind{Uploaded, Failed, Health}

func (k Kind) valid() bool { return k == Uploaded || k == Failed || k == Health }

// Event is one thing to tell. Fields that do not apply stay empty.
type Event struct {
	Kind Kind
	// Time it happened; zero means when Notify is called.
	Time time.Time
	// File is the file's path (as tilesyncd shows it), Tileset its tileset,
	// UploadID Mapbox's upload.
	File, Tileset, UploadID string
	// Outcome is the file's outcome (state.Outcome: uploaded, failed,
	// refused …), Message Mapbox's message or the reason of a failure.
	Outcome, Message string
	// Status (ok, degraded, failing) and Reason of a health event.
	Status, Reason string
}

// Payload is the JSON body of format json, and what the outbox keeps of
// an event for every format.
type Payload struct {
	// ID identifies the event, the same for every endpoint and every
	// attempt; requests also carry it as their Idempotency-Key header.
	ID       string    `json:"id"`
	Event    Kind      `json:"event"`
	Time     time.Time `json:"time"`
	Host     string    `json:"host,omitempty"`
	File     string    `json:"file,omitempty"`
	Tileset  string    `json:"tileset,omitempty"`
	UploadID string    `json:"upload_id,omitempty"`
	Outcome  string    `json:"outcome,omitempty"`
	Message  string    `json:"message,omitempty"`
	Status   string    `json:"status,omitempty"`
	Reason   string    `json:"reason,omitempty"`
}

// maxText bounds Message and Reason in a payload, in bytes.
const maxText = 1000

// newPayload makes ev's payload, its texts passed through scrub.
func newPayload(id, host string, ev Event, scrub func(string) string) Payload {
	clean := scrub
	cut := func(s string) string { return truncate(scrub(s), maxText) }
	return Payload{
		ID: id, Event: ev.Kind, Time: ev.Time.UTC(), Host: clean(host),
		File: clean(ev.File), Tileset: clean(ev.Tileset), UploadID: clean(ev.UploadID),
		Outcome: clean(ev.Outcome), Message: cut(ev.Message), Status: clean(ev.Status), Reason: cut(ev.Reason),
	}
}

// truncate cuts s to at most n bytes, not inside a character, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// Format is how a Target's messages are written.
type Format string

// The formats.
const (
	// FormatJSON posts the Payload.
	FormatJSON Format = "json"
	// FormatSlack posts a Slack incoming-webhook body, {"text": "…"}, with
	// one short line (Mattermost and Rocket.Chat take it too).
	FormatSlack Format = "slack"
)

// body renders p in format f.
func (f Format) body(p Payload) ([]byte, error) {
	if f == FormatSlack {
		return json.Marshal(struct {
			Text string `json:"text"`
		}{slackLine(p)})
	}
	return json.Marshal(p)
}

// slackLine is one short line for people: "tilesyncd on HOST: uploaded
// parcels.mbtiles → alice.parcels (upload cjx3k9a2…)".
func slackLine(p Payload) string {
	var b strings.Builder
	b.WriteString("tilesyncd")
	if p.Host != "" {
		b.WriteString(" on " + p.Host)
	}
	b.WriteString(": ")
	switch p.Event {
	case Health:
		fmt.Fprintf(&b, "health %s", orDash(p.Status))
		if p.Reason != "" {
			b.WriteString(": " + truncate(p.Reason, 200))
		}
	default:
		b.WriteString(string(p.Event) + " " + orDash(p.File))
		if p.Tileset != "" {
			b.WriteString(" → " + p.Tileset)
		}
		if p.UploadID != "" {
			b.WriteString(" (upload " + truncate(p.UploadID, 8) + ")")
		}
		if p.Message != "" {
			b.WriteString(": " + truncate(p.Message, 200))
		}
	}
	return slackEscape(b.String())
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// slackEscape escapes the three characters Slack reads as markup.
var slackEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace
