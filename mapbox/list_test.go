package mapbox_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
)

// walk lists every page from opts, calling between after each page (with
// its index), and returns the IDs in the order listed and the page sizes.
func walk(t *testing.T, c *mapbox.Client, opts mapbox.ListOptions, between func(page int)) (ids []string, sizes []int) {
	t.Helper()
	for page := 0; ; page++ {
		if page > 50 {
			t.Fatalf("more than 50 pages: the cursor does not advance")
		}
		us, next, err := c.ListPage(context.Background(), opts)
		if err != nil {
			t.Fatalf("page %d: %v", page, err)
		}
		for _, u := range us {
			ids = append(ids, u.ID)
		}
		sizes = append(sizes, len(us))
		if between != nil {
			between(page)
		}
		if next == "" {
			return ids, sizes
		}
		opts.Start = next
	}
}

// TestListPages walks the list newest first and oldest first while uploads
// are created, and one is deleted, between page fetches: every upload that
// existed at the first page is listed exactly once, the new ones do not
// shift the later pages, and each page is one request.
func TestListPages(t *testing.T) {
	e := newEnv(t, mapboxsim.Options{ProcessingTime: time.Second}, mapbox.Options{})
	ctx := context.Background()
	var created []string // creation order
	upload := func() {
		i := len(created)
		created = append(created, e.createUpload(t, fmt.Sprintf("alice.t%d", i), []byte{byte(i)}).ID)
		e.clock.Advance(time.Second)
	}
	for range 7 {
		upload()
	}

	newest := slices.Clone(created)
	slices.Reverse(newest)
	before := e.srv.Counts()[mapbox.EndpointList]
	got, sizes := walk(t, e.client, mapbox.ListOptions{Limit: 3}, func(page int) {
		if page == 0 {
			upload() // newer than everything listed: must not show on later pages
			upload()
			// The cursor's own upload goes away: the position stays.
			if err := e.client.Delete(ctx, newest[2]); err != nil {
				t.Fatal(err)
			}
		}
	})
	if !slices.Equal(got, newest) || !slices.Equal(sizes, []int{3, 3, 1}) {
		t.Errorf("newest first, 3 a page: got %v in pages %v, want %v in [3 3 1]", got, sizes, newest)
	}
	if n := e.srv.Counts()[mapbox.EndpointList] - before; n != 3 {
		t.Errorf("%d list requests for 3 pages", n)
	}

	// Oldest first: uploads created during the walk come at its end.
	var want []string
	for _, id := range created {
		if id != newest[2] { // deleted above
			want = append(want, id)
		}
	}
	got, sizes = walk(t, e.client, mapbox.ListOptions{Limit: 4, Reverse: true}, func(page int) {
		if page == 0 {
			upload()
		}
	})
	want = append(want, created[len(created)-1])
	if !slices.Equal(got, want) || !slices.Equal(sizes, []int{4, 4, 1}) {
		t.Errorf("oldest first, 4 a page: got %v in pages %v, want %v in [4 4 1]", got, sizes, want)
	}

	// List is the first page, as before.
	first, err := e.client.List(ctx, mapbox.ListOptions{Limit: 2})
	if err != nil || len(first) != 2 || first[0].ID != created[len(created)-1] {
		t.Errorf("List: %v %+v, want the 2 newest", err, first)
	}
	// A page that is exactly the rest is the last.
	all, next, err := e.client.ListPage(ctx, mapbox.ListOptions{Limit: mapbox.MaxListLimit})
	if err != nil || next != "" || len(all) != len(created)-1 {
		t.Errorf("one page of everything: %d uploads, next %q, %v; want %d, no next", len(all), next, err, len(created)-1)
	}
}

func TestListBadStart(t *testing.T) {
	e := newEnv(t, mapboxsim.Options{}, mapbox.Options{})
	for _, start := range []string{"not-a-cursor", "dXBsb2FkOm5vbmU"} { // the second is well formed, of no upload
		_, _, err := e.client.ListPage(context.Background(), mapbox.ListOptions{Start: start})
		ae := wantClass(t, "start "+start, err, mapbox.ErrInvalid)
		if ae.Status != 422 || !strings.Contains(ae.Message, mapboxsim.InvalidStartMessage) {
			t.Errorf("start %q: %d %q, want 422 %q", start, ae.Status, ae.Message, mapboxsim.InvalidStartMessage)
		}
		if mapbox.NotSent(err) {
			t.Errorf("start %q: a 422 answer reported as not sent", start)
		}
	}
}
