package convergence

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tilesyncd/tilesyncd/internal/testkit"
	"github.com/tilesyncd/tilesyncd/mapbox"
)

// report is the divergence report: the seed and how to replay it, the
// history, what the folder holds, what each tileset holds, the server's
// uploads and create requests, the MTS jobs and requests, and what went
// wrong.
func (r *runner) report(v verdict) string {
	w := r.w
	var b strings.Builder
	flags := ""
	if m := mtsMode(); m != "" {
		flags = " -mts=" + m
	}
	fmt.Fprintf(&b, "history seed %d diverged; replay: go test ./convergence/ -run 'TestConvergence$' -v -seed=%d%s\n", r.h.seed, r.h.seed, flags)
	fmt.Fprintf(&b, "%s\n", r.h.format(r.began))
	files, _ := r.scan()
	b.WriteString("the folder holds:\n")
	if len(files) == 0 {
		b.WriteString("  nothing the rules send anywhere\n")
	}
	tilesets := map[string]bool{}
	for _, f := range files {
		what := r.tl.label(f.sha)
		if f.refused != "" {
			what = "refused: " + f.refused
		}
		fmt.Fprintf(&b, "  %-22s → %-12s %s\n", f, f.tileset, what)
		if !f.mts {
			tilesets[f.tileset] = true // an MTS tileset's jobs come below
		}
	}
	ups := w.srv.Uploads()
	for _, u := range ups {
		tilesets[u.Tileset] = true
	}
	b.WriteString("the tilesets hold:\n")
	names := slices.Sorted(maps.Keys(tilesets))
	for _, ts := range names {
		if held, ok := w.srv.Holds(ts); ok {
			fmt.Fprintf(&b, "  %-12s %s (upload %s)\n", ts, r.tl.label(held.SHA256), held.ID)
		} else {
			fmt.Fprintf(&b, "  %-12s nothing\n", ts)
		}
	}
	b.WriteString("the server's uploads, in creation order (time from the history's start, on the daemon's clock):\n")
	if len(ups) == 0 {
		b.WriteString("  none\n")
	}
	for _, u := range ups {
		outcome := "succeeded"
		if u.Error != "" {
			outcome = "failed: " + u.Error
		}
		fmt.Fprintf(&b, "  +%-7v %s %-12s %s, %s\n", r.rel(u.Created), u.ID, u.Tileset, r.tl.label(u.SHA256), outcome)
	}
	b.WriteString("the create requests (→ the answer the client got; / what really happened, when that was lost):")
	for _, q := range w.srv.Requests() {
		if q.Endpoint != mapbox.EndpointCreate {
			continue
		}
		fmt.Fprintf(&b, " +%v→%s", r.rel(q.Time), statusText(q.Status))
		if q.RealStatus != 0 {
			fmt.Fprintf(&b, "/%d", q.RealStatus)
		}
	}
	b.WriteString("\n")
	if r.h.mts != nil {
		r.reportMTS(&b)
	}
	list(&b, "divergences", v.problems)
	list(&b, "needless creates", v.needless)
	list(&b, "needless publishes", v.publishes)
	keep := filepath.Join(os.TempDir(), fmt.Sprintf("convergence-%d.log", r.h.seed))
	if err := os.WriteFile(keep, []byte(w.logs.String()), 0o644); err == nil {
		fmt.Fprintf(&b, "the daemon's whole log is in %s; its tail:\n", keep)
	}
	b.WriteString(testkit.Tail(w.logs.String(), 12))
	return b.String()
}

// list writes the items under title, if there are any.
func list(b *strings.Builder, title string, items []string) {
	if len(items) == 0 {
		return
	}
	b.WriteString(title + ":\n")
	for _, p := range items {
		fmt.Fprintf(b, "  - %s\n", p)
	}
}

func statusText(status int) string {
	if status == 0 {
		return "no answer"
	}
	return fmt.Sprint(status)
}

// firstOf is a verdict's first problem, for the summary.
func firstOf(v verdict) string {
	if len(v.problems) > 0 {
		return v.problems[0]
	}
	if len(v.needless) > 0 {
		return "needless create: " + v.needless[0]
	}
	if len(v.publishes) > 0 {
		return "needless publish: " + v.publishes[0]
	}
	return ""
}
