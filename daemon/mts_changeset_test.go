package daemon

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/internal/testkit"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
)

// TestMTSIncrementalChangesets: an incremental rule publishes in full
// first; then a change to a few features is sent as a changeset of just
// those (a changed feature whole, a removed one as a deletion) and
// published with publish-changesets; a change to most features falls back
// to a full publish. What each changeset holds, applied to what the
// tileset held, gives the file's features.
func TestMTSIncrementalChangesets(t *testing.T) {
	e := newMTSEnv(t, mtsOptions{incremental: true})
	sent := &testkit.MTSUploads{}
	e.transport = sent.Wrap
	features := map[int]string{}
	for i := range 20 {
		features[i] = fmt.Sprintf("tree %d", i)
	}
	e.Write("mts/parks.geojson", testkit.FeatureCollection(features))
	d, _ := e.start()
	files := map[string]string{"mts/parks.geojson": "acme.m-parks"}
	e.waitMTS(files, 30*time.Second)
	waitIdle(t, d, 10*time.Second)

	steps := []struct {
		name      string
		edit      func()
		changeset []string // the changeset's lines, sorted; nil: a full publish
	}{
		{"one feature changed", func() { features[3] = "oak 3" },
			[]string{`{"type":"Feature","id":3,"geometry":{"type":"Point","coordinates":[3,1]},"properties":{"name":"oak 3"}}`}},
		{"one removed, one added", func() { delete(features, 7); features[20] = "tree 20" },
			[]string{`{"id":7,"delete":true}`, `{"type":"Feature","id":20,"geometry":{"type":"Point","coordinates":[20,1]},"properties":{"name":"tree 20"}}`}},
		{"most changed", func() {
			for i := range 15 {
				features[i] = fmt.Sprintf("pine %d", i)
			}
		}, nil},
	}
	for n, st := range steps {
		st.edit()
		e.Write("mts/parks.geojson", testkit.FeatureCollection(features))
		testkit.WaitFor(t, st.name+": published", 30*time.Second, func() bool {
			j, ok := e.Srv.HoldsMTS("acme.m-parks")
			return ok && e.Srv.PublishCounts()["acme.m-parks"] == n+2 && j.Stage == "success"
		})
		waitIdle(t, d, 10*time.Second)
		j, _ := e.Srv.HoldsMTS("acme.m-parks")
		if got := j.Changesets; got != (st.changeset != nil) {
			t.Errorf("%s: published as a changeset: %v, want %v", st.name, got, st.changeset != nil)
		}
		if st.changeset == nil {
			if j.SHA256 != e.converted("mts/parks.geojson") {
				t.Errorf("%s: the full publish did not read the file's bytes", st.name)
			}
			continue
		}
		if got := lastChangeset(sent); !slices.Equal(got, st.changeset) {
			t.Errorf("%s: the changeset held\n%s\nwant\n%s", st.name, strings.Join(got, "\n"), strings.Join(st.changeset, "\n"))
		}
	}
	if n := e.Srv.PublishCounts()["acme.m-parks"]; n != 4 {
		t.Errorf("%d publishes, want 4: one full, two changesets, one full", n)
	}
}

// lastChangeset is the lines of the last changeset uploaded, sorted.
func lastChangeset(u *testkit.MTSUploads) []string {
	data, ok := u.Last("changesets")
	if !ok {
		return nil
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	slices.Sort(lines)
	return lines
}

// TestMTSChangesetsRefused: an account without incremental updates
// (Mapbox answers 401 to a changeset) gets every change published in
// full, and the daemon goes on sending (the 401 is not the token's).
func TestMTSChangesetsRefused(t *testing.T) {
	e := newMTSEnv(t, mtsOptions{incremental: true, sim: mapboxsim.MTSOptions{IncrementalDisabled: true}})
	features := map[int]string{1: "a", 2: "b", 3: "c", 4: "d", 5: "e", 6: "f", 7: "g", 8: "h", 9: "i", 10: "j"}
	e.Write("mts/parks.geojson", testkit.FeatureCollection(features))
	d, _ := e.start()
	files := map[string]string{"mts/parks.geojson": "acme.m-parks"}
	e.waitMTS(files, 30*time.Second)
	features[1] = "z"
	e.Write("mts/parks.geojson", testkit.FeatureCollection(features))
	e.waitMTS(files, 30*time.Second)
	waitIdle(t, d, 10*time.Second)
	if j, _ := e.Srv.HoldsMTS("acme.m-parks"); j.Changesets {
		t.Errorf("published as a changeset on an account without incremental updates")
	}
	if d.Syncer().AuthError() != nil || !strings.Contains(e.Logs.String(), "Mapbox refuses changesets for this account") {
		t.Errorf("auth error %v; the log does not say why the change was published in full", d.Syncer().AuthError())
	}
}
