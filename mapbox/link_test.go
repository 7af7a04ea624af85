package mapbox

import (
	"net/http"
	"strings"
	"testing"
)

var linkCases = []struct {
	name    string
	headers []string // Link header values
	want    string
	wantErr bool
}{
	{"none", nil, "", false},
	{"mapbox's shape", []string{`<https://api.mapbox.com/uploads/v1/alice?start=abc&limit=100>; rel="next"`}, "abc", false},
	{"unquoted rel", []string{`<https://x/u?start=abc>; rel=next`}, "abc", false},
	{"case", []string{`<https://x/u?start=abc>; REL="Next"`}, "abc", false},
	{"rel list", []string{`<https://x/u?start=abc>; rel="next last"`}, "abc", false},
	{"spaces", []string{`  <https://x/u?start=abc>  ;  rel = "next" `}, "abc", false},
	{"other rels only", []string{`<https://x/u?start=p>; rel="prev", <https://x/u?start=l>; rel="last"`}, "", false},
	{"several links", []string{`<https://x/u?start=p>; rel="prev", <https://x/u?start=n>; rel="next"`}, "n", false},
	{"several headers", []string{`<https://x/u?start=p>; rel="prev"`, `<https://x/u?start=n>; rel="next"`}, "n", false},
	{"comma and semicolon in the target", []string{`<https://x/u?a=1,2;3&start=n>; rel="next"`}, "n", false},
	{"other params first", []string{`<https://x/u?start=n>; title="a, b; rel=prev"; rel="next"`}, "n", false},
	{"escaped quote", []string{`<https://x/u?start=q>; title="say \"hi\""; rel="next"`}, "q", false},
	{"first rel counts", []string{`<https://x/u?start=n>; rel="prev"; rel="next"`}, "", false},
	{"relative target", []string{`</uploads/v1/alice?start=r%3D%3D>; rel="next"`}, "r==", false},
	{"valueless param", []string{`<https://x/u?start=n>; crossorigin; rel="next"`}, "n", false},
	{"no start", []string{`<https://x/u?limit=3>; rel="next"`}, "", true},
	{"bad target", []string{`<%zz>; rel="next"`}, "", true},
	{"garbage", []string{`next: https://x/u?start=n`}, "", false},
}

func TestNextStart(t *testing.T) {
	for _, tc := range linkCases {
		h := http.Header{}
		for _, v := range tc.headers {
			h.Add("Link", v)
		}
		got, err := nextStart(h)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("%s: nextStart(%q) = %q, %v; want %q, error %v", tc.name, tc.headers, got, err, tc.want, tc.wantErr)
		}
	}
}

func FuzzNextStart(f *testing.F) {
	for _, tc := range linkCases {
		f.Add(strings.Join(tc.headers, "\n"))
	}
	f.Fuzz(func(t *testing.T, s string) {
		h := http.Header{}
		for _, v := range strings.Split(s, "\n") {
			h.Add("Link", v)
		}
		got, err := nextStart(h)
		if err == nil && got != "" && !strings.Contains(strings.ToLower(s), "next") {
			t.Errorf("cursor %q from %q, which has no next link", got, s)
		}
		if err != nil && got != "" {
			t.Errorf("both a cursor %q and an error %v", got, err)
		}
	})
}
