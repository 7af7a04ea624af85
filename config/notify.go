package config

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/tilesyncd/tilesyncd/internal/hookurl"
)

// Notification formats and events (the notify list).
const (
	NotifyJSON  = "json"  // the event as JSON (the default)
	NotifySlack = "slack" // a Slack incoming-webhook body, {"text": …}
)

// NotifyEvents are the events a notify entry may list, and what it gets
// when it lists none.
var NotifyEvents = []string{"uploaded", "failed", "health"}

// Notify is one endpoint told of events (an entry of the notify list).
type Notify struct {
	// URL often is a credential itself (Slack's path, a ?token=…): it
	// prints redacted; URL.Reveal is for the request only.
	URL hookurl.URL
	// Events are the events it is told of, in NotifyEvents' order.
	Events []string
	// Format is NotifyJSON or NotifySlack.
	Format string
}

type notifyYAML struct {
	URL    string   `yaml:"url"`
	Events []string `yaml:"events"`
	Format string   `yaml:"format"`
}

// notify reads the notify list. Errors name an entry's URL only by its
// scheme and host.
func (p *parser) notify(cfg *Config, raw []notifyYAML) {
	seen := map[string]int{}
	for i, r := range raw {
		at := fmt.Sprintf("notify[%d]", i)
		n := &Notify{Format: orDefault(r.Format, NotifyJSON)}
		u, err := hookurl.Parse(r.URL)
		if err != nil {
			p.errorf(at+".url", "%v", err)
		} else {
			n.URL = u
			if j, dup := seen[u.Reveal()]; dup {
				p.errorf(at+".url", "the same URL as notify[%d]: list its events in one entry", j)
			}
			seen[u.Reveal()] = i
			if u.Scheme() == "http" && !IsLoopback(hostOnly(u.Host())) {
				p.warnf(cfg, at+".url", "http://%s sends notifications, and any credentials in the URL, in clear; use https", u.Host())
			}
		}
		if n.Format != NotifyJSON && n.Format != NotifySlack {
			p.errorf(at+".format", "%q: want json or slack", n.Format)
		}
		n.Events = p.notifyEvents(at+".events", r.Events)
		cfg.Notify = append(cfg.Notify, n)
	}
}

// notifyEvents checks an events list: known names, each once; absent
// means all.
func (p *parser) notifyEvents(at string, events []string) []string {
	if events == nil {
		if p.hasPath(at) {
			p.errorf(at, "lists no event: list some, or leave it out for all")
		}
		return slices.Clone(NotifyEvents)
	}
	if len(events) == 0 {
		p.errorf(at, "lists no event: list some, or leave it out for all")
	}
	var out []string
	for j, e := range events {
		switch {
		case !slices.Contains(NotifyEvents, e):
			p.errorf(fmt.Sprintf("%s[%d]", at, j), "%q is not an event (uploaded, failed or health)", e)
		case slices.Contains(events[:j], e):
			p.errorf(fmt.Sprintf("%s[%d]", at, j), "%q is listed twice", e)
		}
	}
	for _, e := range NotifyEvents {
		if slices.Contains(events, e) {
			out = append(out, e)
		}
	}
	return out
}

// hasPath reports whether the file has a value, even an empty one, at path
// ("notify[0].events").
func (p *parser) hasPath(path string) bool {
	n := &p.root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, part := range splitPath(path) {
		next, _ := child(n, part)
		if next == nil {
			return false
		}
		n = next
	}
	return true
}

// hostOnly is a host:port's host, without brackets.
func hostOnly(hostport string) string {
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 && !strings.HasSuffix(hostport, "]") {
		hostport = hostport[:i]
	}
	return strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
}
