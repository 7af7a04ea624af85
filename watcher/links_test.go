package watcher

import (
	"os"
	"path/filepath"
	"testing"
)

// TestLinksLeavingTheFolder: a link to a file outside the watch folder is
// not reported (unless FollowLinks), at startup or when it appears later;
// links inside are.
func TestLinksLeavingTheFolder(t *testing.T) {
	for _, follow := range []bool{false, true} {
		name := "default"
		if follow {
			name = "follow"
		}
		t.Run(name, func(t *testing.T) {
			forModes(t, func(t *testing.T, mode Mode) {
				outside := t.TempDir()
				writeFile(t, filepath.Join(outside, "secret.geojson"), "secret")
				if err := os.Mkdir(filepath.Join(outside, "dir"), 0o755); err != nil {
					t.Fatal(err)
				}
				writeFile(t, filepath.Join(outside, "dir", "x.geojson"), "x")
				h := newHarness(t, mode, func(dir string, o *Options) {
					o.FollowLinks = follow
					writeFile(t, filepath.Join(dir, "in.geojson"), "in")
					for link, target := range map[string]string{
						"inlink.geojson":  "in.geojson",
						"abslink.geojson": filepath.Join(dir, "in.geojson"),
						"out.geojson":     filepath.Join(outside, "secret.geojson"),
						"outdir":          filepath.Join(outside, "dir"),
					} {
						if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
							t.Fatal(err)
						}
					}
				})
				evs := h.start()
				got := map[string]bool{}
				for _, ev := range evs {
					got[ev.Rel] = true
				}
				want := map[string]bool{"in.geojson": true, "inlink.geojson": true, "abslink.geojson": true, "out.geojson": follow}
				for rel, w := range want {
					if got[rel] != w {
						t.Errorf("%s reported: %v, want %v; startup events:%s", rel, got[rel], w, describe(evs))
					}
				}
				if got["outdir/x.geojson"] {
					t.Errorf("a file in a linked folder outside was reported:%s", describe(evs))
				}
				// A link made while watching.
				if err := os.Symlink(filepath.Join(outside, "secret.geojson"), h.path("later.geojson")); err != nil {
					t.Fatal(err)
				}
				h.write("marker.geojson", "m")
				h.waitAll(Ready, "marker.geojson")
				if follow {
					h.waitAll(Ready, "later.geojson")
				}
				h.collect(quiet)
				for _, ev := range h.seen {
					if ev.Rel == "later.geojson" && !follow {
						t.Errorf("a link made later to a file outside was reported: %+v", ev)
					}
				}
			})
		})
	}
}
