package convergence

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
)

// The MTS part of a history (doc.go, "MTS"): one history in three (a
// stream of its own drawn from the seed, so the Uploads API part is the
// same with or without it) adds one or two files under mts/ of the watch
// folders, which an MTS rule sends to "acme.m-{stem}", with their own
// steps and faults.

var mtsFlag = flag.String("mts", "", "which histories carry an MTS rule: \"\" (one in three, by the seed), \"only\" (all) or \"never\"; also $TILESYNCD_CONVERGENCE_MTS")

// mtsMode is -mts, else $TILESYNCD_CONVERGENCE_MTS.
func mtsMode() string {
	if *mtsFlag != "" {
		return *mtsFlag
	}
	return os.Getenv("TILESYNCD_CONVERGENCE_MTS")
}

// mtsPlan is the MTS part of a history: the rule and the simulator's pace.
type mtsPlan struct {
	first       int  // the slot of the first MTS file: h.kinds[first:] are MTS files
	incremental bool // the rule says incremental: true (changesets)
	maxzoom     int  // the recipe's maxzoom at the start
	// queue and processing are the least time an MTS job stays queued
	// and how long it processes; lockQueued makes queued jobs lock their
	// source too (a 409 on replacing it).
	queue, processing time.Duration
	lockQueued        bool
}

func (p *mtsPlan) String() string {
	how := "full publishes"
	if p.incremental {
		how = "incremental (changesets after the first full publish)"
	}
	lock := ""
	if p.lockQueued {
		lock = "; queued jobs lock their source"
	}
	return fmt.Sprintf("mts: files from f%d on under mts/ → acme.m-{stem}, recipe maxzoom %d, %s; jobs queued %v at least, processing %v%s",
		p.first, p.maxzoom, how, p.queue, p.processing, lock)
}

// simOptions are the simulator's MTS settings for the plan: publishes
// limited far above the daemon's needs (the rate headers teach it a
// fast pace).
func (p *mtsPlan) simOptions() mapboxsim.MTSOptions {
	return mapboxsim.MTSOptions{QueueTime: p.queue, ProcessingTime: p.processing, LockQueued: p.lockQueued,
		RateLimits: map[mapbox.Endpoint]int{mapbox.EndpointPublish: 600, mapbox.EndpointPublishChanges: 600}}
}

// recipe is the recipe file's text with maxzoom.
func (p *mtsPlan) recipe(maxzoom int) string {
	inc := ""
	if p.incremental {
		inc = ` "incremental": true,`
	}
	return fmt.Sprintf(`{"version": 1,%s "layers": {"{layer}": {"source": "{source}", "minzoom": 0, "maxzoom": %d}}}`, inc, maxzoom)
}

// uploadFiles counts the files of the Uploads API part.
func (h *history) uploadFiles() int {
	if h.mts != nil {
		return h.mts.first
	}
	return len(h.kinds)
}

// isMTS reports whether a file at l goes to MTS (the rule "mts/**").
func (l loc) isMTS() bool { return l.dir == "mts" || strings.HasPrefix(l.dir, "mts/") }

func (k kind) isMTS() bool { return k == mtsGeoJSON || k == mtsCSV }

// mtsFeatures is the most features an MTS file has: content.feats.
const mtsFeatures = 12

// mtsBytes is the file of an MTS slot with content c: a FeatureCollection
// of points (ids 1…12 unless c.noIDs) or a CSV with lat/lon columns, one
// feature for each non-zero value of c.feats.
func mtsBytes(k kind, slot int, c content) []byte {
	var b strings.Builder
	if k == mtsCSV {
		b.WriteString("lat,lon,name,v\n")
		for i, v := range c.feats {
			if v != 0 {
				fmt.Fprintf(&b, "%d.%03d,%d.%03d,f%d-%d,%d\n", 40+slot, 100+i*37, 10+slot, 100+i*53, slot, i+1, v)
			}
		}
		return []byte(b.String())
	}
	b.WriteString(`{"type":"FeatureCollection","features":[`)
	sep := "\n"
	for i, v := range c.feats {
		if v == 0 {
			continue
		}
		id := fmt.Sprintf(`"id":%d,`, i+1)
		if c.noIDs {
			id = ""
		}
		fmt.Fprintf(&b, `%s{"type":"Feature",%s"geometry":{"type":"Point","coordinates":[%d.%03d,%d.%03d]},"properties":{"name":"f%d-%d","v":%d}}`,
			sep, id, 10+slot, 100+i*53, 40+slot, 100+i*37, slot, i+1, v)
		sep = ",\n"
	}
	b.WriteString("\n]}\n")
	return []byte(b.String())
}

// mtsLabel names an MTS content for people: "v3 (9 features)".
func (c content) mtsLabel(k kind) string {
	n := 0
	for _, v := range c.feats {
		if v != 0 {
			n++
		}
	}
	switch {
	case n == 0:
		return fmt.Sprintf("v%d (no features)", c.v[0])
	case c.noIDs && k == mtsGeoJSON:
		return fmt.Sprintf("v%d (%d features without ids)", c.v[0], n)
	}
	return fmt.Sprintf("v%d (%d features)", c.v[0], n)
}

// describeMTS says what an MTS fault or event does.
func (s step) describeMTS() string {
	switch s.op {
	case opFailPublish:
		return fmt.Sprintf("fault: the next %s refused with %d before it takes effect", s.ep, s.status)
	case opFailPublishAfter:
		return fmt.Sprintf("fault: the next %s takes effect, answered %d", s.ep, s.status)
	case opDropPublishAfter:
		return fmt.Sprintf("fault: the next %s takes effect, its answer lost", s.ep)
	case opFailSourceUpload:
		return fmt.Sprintf("fault: the next %s refused with %d", s.ep, s.status)
	case opCutSourceUpload:
		return fmt.Sprintf("fault: the next %s cut after %d bytes of its body", s.ep, s.n)
	case opRateLimitMTS:
		ep := string(s.ep)
		if ep == "" {
			ep = "every MTS endpoint"
		}
		return fmt.Sprintf("fault: a 429 window of %v on %s", s.gap, ep)
	case opStallJobs:
		return "fault: MTS jobs stay queued"
	case opReleaseJobs:
		return "fault ends: MTS jobs start"
	case opEditRecipe:
		return fmt.Sprintf("the recipe's maxzoom becomes %d (the daemon reloads)", s.n)
	}
	return fmt.Sprintf("op %d", s.op)
}
