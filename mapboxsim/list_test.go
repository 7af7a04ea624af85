package mapboxsim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
)

// TestListLink checks the Link header itself: Mapbox's shape, the query
// kept but the token, an opaque start, none on the last page, and 422
// "Invalid start key" for a cursor the server does not know.
func TestListLink(t *testing.T) {
	f := newFixture(t, mapboxsim.Options{ProcessingTime: time.Second})
	for i := range 3 {
		if _, err := f.create(t, fmt.Sprintf("alice.t%d", i), []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	tok := f.srv.Token()
	status, h, _ := raw(t, f.srv, "GET", "/uploads/v1/alice?limit=2&reverse=true", tok, "")
	link := h.Get("Link")
	target, ok := strings.CutPrefix(link, "<")
	target, rest, _ := strings.Cut(target, ">")
	if status != 200 || !ok || rest != `; rel="next"` {
		t.Fatalf("first page: %d, Link %q; want 200 and <URL>; rel=\"next\"", status, link)
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "http" || u.Path != "/uploads/v1/alice" || u.Query().Get("limit") != "2" ||
		u.Query().Get("reverse") != "true" || u.Query().Get("start") == "" || u.Query().Has("access_token") || strings.Contains(link, tok) {
		t.Fatalf("next link %q: want this path, limit and reverse kept, a start, no token", target)
	}
	status, h, _ = raw(t, f.srv, "GET", u.RequestURI(), tok, "")
	if status != 200 || h.Get("Link") != "" {
		t.Errorf("last page: %d, Link %q; want 200 and none", status, h.Get("Link"))
	}
	status, _, msg := raw(t, f.srv, "GET", "/uploads/v1/alice?start=bm9wZQ", tok, "")
	if status != 422 || msg != mapboxsim.InvalidStartMessage {
		t.Errorf("unknown start: %d %q, want 422 %q", status, msg, mapboxsim.InvalidStartMessage)
	}
}

// TestListPagesCutBySize lowers the 1 MB cap so that a page holds fewer
// uploads than its limit: the page still links to the rest, and a walk
// lists every upload once.
func TestListPagesCutBySize(t *testing.T) {
	f := newFixture(t, mapboxsim.Options{ProcessingTime: time.Second})
	var want []string
	for i := range 9 {
		u, err := f.create(t, fmt.Sprintf("alice.t%d", i), []byte{byte(i)})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, u.ID)
	}
	slices.Reverse(want)
	ctx := context.Background()
	one, err := f.c.List(ctx, mapbox.ListOptions{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(one[0])
	if err != nil {
		t.Fatal(err)
	}
	f.srv.SetListCap(2*len(b) + 10) // "[a,b]\n" fits, a third does not
	var got []string
	var sizes []int
	opts := mapbox.ListOptions{Limit: 5}
	for pages := 0; ; pages++ {
		if pages > 20 {
			t.Fatal("the walk does not end")
		}
		us, next, err := f.c.ListPage(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(us))
		for _, u := range us {
			got = append(got, u.ID)
		}
		if next == "" {
			break
		}
		opts.Start = next
	}
	if !slices.Equal(got, want) || !slices.Equal(sizes, []int{2, 2, 2, 2, 1}) {
		t.Errorf("walk listed %v in pages of %v, want %v in pages of [2 2 2 2 1]", got, sizes, want)
	}
}
