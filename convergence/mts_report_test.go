package convergence

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/tilesyncd/tilesyncd/mapbox"
)

// mtsLabel names what a job built for people: the file content it is,
// or the file content whose features it has under another recipe.
func (r *runner) mtsLabel(k jobKey) string {
	if k.key == "" {
		return "(unknown to the checker)"
	}
	if l := r.tl.label(k.key); !strings.HasSuffix(l, "never in the folders") {
		return l
	}
	for _, o := range r.tl {
		for _, f := range o.files {
			if f.base == k.base {
				return fmt.Sprintf("%.12s = %s with another recipe", k.key, f.label)
			}
		}
	}
	return fmt.Sprintf("%.12s = features never in the folders", k.key)
}

// reportMTS adds the MTS part to a divergence report: each MTS job and
// what it built, and the MTS requests that move content.
func (r *runner) reportMTS(b *strings.Builder) {
	w := r.w
	jobs := w.srv.MTSJobs()
	keys := map[string]jobKey{}
	tilesets := map[string]bool{}
	for _, j := range jobs {
		tilesets[j.Tileset] = true
	}
	for _, ts := range slices.Sorted(maps.Keys(tilesets)) {
		k, _ := r.mtsJobKeys(ts)
		maps.Copy(keys, k)
	}
	b.WriteString("the MTS jobs, in creation order (time from the history's start, on the daemon's clock):\n")
	if len(jobs) == 0 {
		b.WriteString("  none\n")
	}
	for _, j := range jobs {
		how := "full"
		if j.Changesets {
			how = "changeset"
		}
		outcome := string(j.Stage)
		if len(j.Errors) > 0 {
			outcome += ": " + strings.Join(j.Errors, "; ")
		}
		fmt.Fprintf(b, "  +%-7v %s %-9s %-9s maxzoom %d, %s, built %s\n", r.rel(j.Created), j.ID, j.Tileset, how,
			maxzoomOf(j.Recipe), outcome, r.mtsLabel(keys[j.ID]))
	}
	b.WriteString("the MTS requests that move content (→ the answer the client got; / what really happened):")
	for _, q := range w.srv.Requests() {
		switch q.Endpoint {
		case mapbox.EndpointSourceReplace, mapbox.EndpointChangesetReplace, mapbox.EndpointPublish, mapbox.EndpointPublishChanges:
			fmt.Fprintf(b, " +%v %s→%s", r.rel(q.Time), q.Endpoint, statusText(q.Status))
			if q.RealStatus != 0 {
				fmt.Fprintf(b, "/%d", q.RealStatus)
			}
		}
	}
	b.WriteString("\n")
}
