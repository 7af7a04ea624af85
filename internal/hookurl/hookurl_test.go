package hookurl

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
)

func TestShown(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		secrets  []string // must not show
	}{
		{"https://hooks.example.org/tilesyncd", "https://hooks.example.org/tilesyncd", nil},
		{"http://127.0.0.1:8080/hook", "http://127.0.0.1:8080/hook", nil},
		{"https://user:pa55word@hooks.example.org/tilesyncd?token=s3cr3t-t0ken&sig=abcdef&channel=",
			"https://[redacted]@hooks.example.org/tilesyncd?token=[redacted]&sig=[redacted]&channel=",
			[]string{"pa55word", "user", "s3cr3t-t0ken", "abcdef"}},
		{"https://hooks.slack.com/services/T0001/B0002/XXXXXXXXXXXXXXXXXXXXXXXX",
			"https://hooks.slack.com/services/T0001/B0002/[redacted]", []string{"XXXXXXXXXXXXXXXXXXXXXXXX"}},
		{"https://hooks.slack.com/services/T00000000/B00000000/abcDEF123ghiJKL456mnoPQR",
			"https://hooks.slack.com/services/T00000000/B00000000/[redacted]", []string{"abcDEF123ghiJKL456mnoPQR"}},
		{"https://discord.com/api/webhooks/123456789012345678/Ab-cD_eF1gH2iJ3kL4mN5oP6qR7sT8uV9wX0yZ",
			"https://discord.com/api/webhooks/123456789012345678/[redacted]", []string{"Ab-cD_eF1gH2iJ3kL4mN5oP6qR7sT8uV9wX0yZ"}},
		{"https://chat.googleapis.com/v1/spaces/AAAA/messages?key=AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI&token=abc%3Ddef",
			"https://chat.googleapis.com/v1/spaces/AAAA/messages?key=[redacted]&token=[redacted]",
			[]string{"AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI", "abc%3Ddef", "abc=def"}},
		{"https://mm.example.org/hooks/xi3k8a9bq7d1fgh2jk3lmn4opq", "https://mm.example.org/hooks/[redacted]", []string{"xi3k8a9bq7d1fgh2jk3lmn4opq"}},
		{"https://hooks.example.org/?", "https://hooks.example.org/?", nil},
	} {
		u, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := u.String(); got != tt.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
		if u.Reveal() != tt.in {
			t.Errorf("Reveal() = %q, want %q", u.Reveal(), tt.in)
		}
		// Every way of printing it hides the secrets.
		j, _ := json.Marshal(struct{ U URL }{u})
		var logged strings.Builder
		slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "url", u)
		slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "url", u)
		for _, out := range []string{fmt.Sprint(u), fmt.Sprintf("%v %+v %#v %s", u, u, u, u), string(j), logged.String()} {
			for _, s := range tt.secrets {
				if strings.Contains(out, s) {
					t.Errorf("%q shows %q in %s", tt.in, s, out)
				}
			}
		}
	}
}

// TestRedactErrorText: the text of net/http's error for a failed request
// (a url.Error quoting the URL, its password replaced by ***) keeps none
// of the credentials.
func TestRedactErrorText(t *testing.T) {
	raw := "https://alice:pa55word@hooks.example.org/services/T1/B2/abcDEF123ghiJKL456mnoPQR?token=s3cr3t%2Bt0ken"
	u, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse(raw)
	errText := (&url.Error{Op: "Post", URL: pu.Redacted(), Err: fmt.Errorf("dial tcp: connection refused")}).Error()
	got := u.Redact(errText + " (also " + raw + ", token s3cr3t+t0ken)")
	for _, s := range []string{"alice", "pa55word", "abcDEF123ghiJKL456mnoPQR", "s3cr3t%2Bt0ken", "s3cr3t+t0ken"} {
		if strings.Contains(got, s) {
			t.Errorf("Redact left %q in %q", s, got)
		}
	}
	if !strings.Contains(got, "hooks.example.org") || !strings.Contains(got, "connection refused") {
		t.Errorf("Redact(%q) = %q: lost what is not secret", errText, got)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", "missing"},
		{"ftp://user:secretpw@example.org/x", `scheme "ftp": want http or https`},
		{"hooks.example.org/tilesyncd", `scheme "": want http or https`},
		{"https:///path?token=secretvalue", "https URL names no host"},
		{"https:opaque-secretvalue", "names no host"},
		{"https://hooks.example.org/x#secretvalue", "a #fragment is never sent"},
		{"https://hooks.example.org/%zz?token=secretvalue", "is not a valid URL"},
		{"https://user:secretpw@exa mple.org/", "is not a valid URL"},
	} {
		_, err := Parse(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q): %v; want an error with %q", tt.in, err, tt.want)
			continue
		}
		for _, s := range []string{"secretvalue", "secretpw"} {
			if strings.Contains(err.Error(), s) {
				t.Errorf("Parse(%q): the error %q shows %q", tt.in, err, s)
			}
		}
	}
}

// FuzzShown: whatever URL parses, its password and its query values of 4
// characters or more never show in String.
func FuzzShown(f *testing.F) {
	f.Add("https://u:pw12@h.example/p/abcDEF123ghiJKL456?token=t0k3n&x=1")
	f.Add("http://h/a%2Fb?k=v%20w&&=x")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := Parse(s)
		if err != nil {
			return
		}
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil {
			t.Fatalf("Parse accepted %q, url.Parse refuses it: %v", s, err)
		}
		shown := h.String()
		// What may show: the scheme, the host, the path, the query's keys.
		public := u.Scheme + "://" + u.Host + u.EscapedPath() + "?" + mark + "@"
		var secrets []string
		if pw, ok := u.User.Password(); ok {
			secrets = append(secrets, pw)
		}
		for _, kv := range strings.Split(u.RawQuery, "&") {
			k, v, ok := strings.Cut(kv, "=")
			public += "&" + k + "="
			if ok {
				secrets = append(secrets, v)
			}
		}
		for _, sec := range secrets {
			if len(sec) >= 4 && strings.Count(shown, sec) > strings.Count(public, sec) {
				t.Fatalf("Parse(%q).String() = %q shows %q", s, shown, sec)
			}
		}
	})
}
