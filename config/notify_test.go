package config

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

func TestNotify(t *testing.T) {
	text := minimal + `notify:
  - url: https://hooks.example.org/tilesyncd
  - url: "https://hooks.slack.com/services/T0001/B0002/XXXXXXXXXXXXXXXXXXXXXXXX"
    events: [health, failed]
    format: slack
`
	cfg, err := Load(writeConfig(t, text), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Notify) != 2 {
		t.Fatalf("%d notify entries, want 2", len(cfg.Notify))
	}
	a, b := cfg.Notify[0], cfg.Notify[1]
	if a.URL.Reveal() != "https://hooks.example.org/tilesyncd" || a.Format != NotifyJSON || !slices.Equal(a.Events, NotifyEvents) {
		t.Errorf("first entry %+v, want json and every event", a)
	}
	if b.Format != NotifySlack || !slices.Equal(b.Events, []string{"failed", "health"}) {
		t.Errorf("second entry %+v, want slack, failed and health", b)
	}
	if s := fmt.Sprintf("%v %+v %#v", b, *b, *b); strings.Contains(s, "XXXXXXXX") {
		t.Errorf("printing the entry shows the Slack secret: %s", s)
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings %q", cfg.Warnings)
	}
}

func TestNotifyErrors(t *testing.T) {
	const secretURL = "https://bob:pa55word@hooks.example.org/x?token=s3cr3tvalue"
	for _, tt := range []struct{ entries, want string }{
		{"  - events: [failed]\n", "config.yaml:10: notify[0].url: missing"},
		{"  - url: ftp://bob:pa55word@example.org/x\n", `config.yaml:10: notify[0].url: scheme "ftp": want http or https`},
		{"  - url: " + secretURL + "#s3cr3tvalue\n", "config.yaml:10: notify[0].url: https://hooks.example.org…: a #fragment is never sent"},
		{"  - url: https:///x?token=s3cr3tvalue\n", "config.yaml:10: notify[0].url: https URL names no host"},
		{"  - url: " + secretURL + "\n    events: [uploaded, started]\n", `config.yaml:11: notify[0].events[1]: "started" is not an event`},
		{"  - url: " + secretURL + "\n    events: [failed, failed]\n", `config.yaml:11: notify[0].events[1]: "failed" is listed twice`},
		{"  - url: " + secretURL + "\n    events: []\n", "config.yaml:11: notify[0].events: lists no event"},
		{"  - url: " + secretURL + "\n    events:\n", "config.yaml:11: notify[0].events: lists no event"},
		{"  - url: " + secretURL + "\n    format: xml\n", `config.yaml:11: notify[0].format: "xml": want json or slack`},
		{"  - url: " + secretURL + "\n  - url: " + secretURL + "\n", "config.yaml:11: notify[1].url: the same URL as notify[0]"},
		{"  - url: " + secretURL + "\n    evnts: [failed]\n", `config.yaml:11: unknown key "evnts" in a notify entry`},
	} {
		_, err := Load(writeConfig(t, minimal+"notify:\n"+tt.entries), LoadOptions{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v; want an error with %q", tt.entries, err, tt.want)
			continue
		}
		for _, secret := range []string{"pa55word", "s3cr3tvalue", "bob"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%q: the error %q shows %q", tt.entries, err, secret)
			}
		}
	}
}

func TestNotifyPlainHTTPWarns(t *testing.T) {
	cfg, err := Load(writeConfig(t, minimal+"notify:\n  - url: http://ntfy.lan:8080/tilesyncd?auth=s3cr3tvalue\n  - url: http://127.0.0.1:9000/hook\n  - url: http://[::1]:9001/hook\n"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := "config.yaml:10: notify[0].url: http://ntfy.lan:8080 sends notifications, and any credentials in the URL, in clear; use https"
	if len(cfg.Warnings) != 1 || !strings.HasSuffix(cfg.Warnings[0], "/"+want) {
		t.Errorf("warnings %q, want only %q", cfg.Warnings, want)
	}
}

// TestExampleNotifyAndBandwidth: config.example.yaml's commented notify
// and bandwidth_limit examples parse once uncommented.
func TestExampleNotifyAndBandwidth(t *testing.T) {
	data, err := os.ReadFile("../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	inNotify := false
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case line == "  # bandwidth_limit: 2MiB":
			line = "  bandwidth_limit: 2MiB"
		case line == "# notify:":
			inNotify, line = true, "notify:"
		case inNotify && strings.HasPrefix(line, "# "):
			line = strings.TrimPrefix(line, "# ")
		default:
			inNotify = false
		}
		out = append(out, line)
	}
	cfg, err := Parse(strings.NewReader(strings.Join(out, "\n")), "config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Notify) != 2 || cfg.Notify[1].Format != NotifySlack || !cfg.Mapbox.BandwidthLimit.Limited() {
		t.Errorf("uncommented examples: %d notify entries, bandwidth %s", len(cfg.Notify), cfg.Mapbox.BandwidthLimit)
	}
}
