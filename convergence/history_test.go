package convergence

import (
	"fmt"
	"path"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
)

// history is one generated run: the world's settings and the steps, each
// after a wait. It is a pure function of its seed (generate).
type history struct {
	seed       uint64
	binary     bool          // the real binary runs, and is SIGKILLed
	lateStart  bool          // the daemon starts after the first steps (a startup scan)
	offset     time.Duration // Mapbox's clock minus the daemon's
	processing time.Duration // Mapbox's processing time per upload
	mode       string        // the watch mode: notify or poll
	kinds      []kind        // each file's kind, by slot
	steps      []step
	tail       time.Duration // after the last step, before the faults are cleared
	mts        *mtsPlan      // the MTS rule and its files (mts_test.go); nil: none
}

// kind is what a file slot holds.
type kind uint8

const (
	geojson    kind = iota
	shapefile       // a bare .shp with its .shx and .dbf, zipped by the daemon
	mtsGeoJSON      // a FeatureCollection under mts/, sent to MTS (mts_test.go)
	mtsCSV          // a CSV with lat/lon columns under mts/, sent to MTS
)

// shapefileParts are the parts the generator writes, the .shp first.
var shapefileParts = []string{".shp", ".shx", ".dbf"}

// loc is where a file is: watch folder, sub-folder, stem and extension.
type loc struct {
	watch int    // index in watchNames
	dir   string // "", "sub" or "own"; for an MTS file "mts" or "mts/sub"
	stem  string
	ext   string // ".geojson", ".json" or ".shp"; for an MTS file also ".csv"
}

// rel is the path below the watch folder, slash-separated.
func (l loc) rel() string { return path.Join(l.dir, l.stem+l.ext) }

func (l loc) String() string { return watchNames[l.watch] + "/" + l.rel() }

// tileset is where the rules (rulesYAML, and mtsRulesYAML before them)
// send the file.
func (l loc) tileset() string {
	if l.isMTS() {
		return "acme.m-" + l.stem
	}
	if l.dir == "own" {
		return "acme." + watchNames[l.watch] + "-" + l.stem
	}
	return "acme." + l.stem
}

// content names the bytes of a file: for GeoJSON version v[0] with a
// appends; for a shapefile the versions of its .shp, .shx and .dbf; for an
// MTS file version v[0], its features' values by id (0: no such feature)
// and whether they go without ids (mtsBytes).
type content struct {
	v     [3]int
	a     int
	feats [mtsFeatures]uint16
	noIDs bool
}

func (c content) label(k kind) string {
	if k.isMTS() {
		return c.mtsLabel(k)
	}
	if k == shapefile {
		if c.v[0] == c.v[1] && c.v[1] == c.v[2] {
			return fmt.Sprintf("v%d", c.v[0])
		}
		return fmt.Sprintf("shp v%d/shx v%d/dbf v%d", c.v[0], c.v[1], c.v[2])
	}
	if c.a > 0 {
		return fmt.Sprintf("v%d+%d appended", c.v[0], c.a)
	}
	return fmt.Sprintf("v%d", c.v[0])
}

// op is what a step does.
type op uint8

const (
	// File actions.
	opCreate op = iota // write a new file at to
	opWrite            // write content over the file (an edit or a revert)
	opAppend           // append to a GeoJSON file
	opMove             // move or rename from → to
	opDelete           // remove the file
	// Faults.
	opFailCreate      // the next create refused with status before it takes effect
	opFailCreateAfter // the next create takes effect, answered with status
	opDrop            // the next n requests to ep lose their connection before any effect
	opDropAfter       // the next create takes effect, its answer lost
	opAPIDown         // the API closes every connection…
	opAPIUp           // …until this
	opS3Down          // the S3 path is cut…
	opS3Up            // …until this
	opRateLimit       // a 429 window: every request refused for gap
	opSlowAPI         // every answer comes after the client's timeout…
	opFastAPI         // …until this
	opCorruptCreds    // the next n staging credentials are refused by S3
	opExpireCreds     // every staging credential minted so far expires now
	// The daemon.
	opStart   // start the daemon (late start; the binary after a kill)
	opRestart // stop the in-process daemon gracefully and start it again
	opKill    // SIGKILL the binary
	// MTS faults and events (mts_test.go).
	opFailPublish      // the next request to ep (a publish) refused with status before it takes effect
	opFailPublishAfter // the next request to ep takes effect, answered with status
	opDropPublishAfter // the next request to ep takes effect, its answer lost
	opFailSourceUpload // the next upload to ep (a source or changeset) refused with status
	opCutSourceUpload  // the next upload to ep cut after n bytes
	opRateLimitMTS     // 429 on the MTS endpoint ep ("" for all) for gap
	opStallJobs        // MTS jobs stay queued…
	opReleaseJobs      // …until this
	opEditRecipe       // the recipe's maxzoom becomes n (the daemon reloads)
)

// writeMode is how bytes reach the disk.
type writeMode uint8

const (
	writeWhole  writeMode = iota // one write over the file (truncated)
	writeAtomic                  // a temporary name beside it, renamed over it
	writeSlow                    // in chunks over time, like a slow copy
	writeParts                   // a shapefile's parts one by one, gap apart
)

// step is one action of a history, taken wait after the previous one.
type step struct {
	wait    time.Duration
	op      op
	slot    int
	from    loc // the file's place before the step
	to      loc // after a create or a move
	content content
	mode    writeMode
	chunks  int           // writeSlow
	gap     time.Duration // between chunks, parts or a shapefile's renames
	status  int
	ep      mapbox.Endpoint
	n       int
	note    string // why: "edit", "revert to v1", "re-create", "move (same tileset)"…
	mts     bool   // a step of the MTS part (mts_generate_test.go)
}

func (s step) describe(k kind) string {
	f := fmt.Sprintf("f%d", s.slot)
	how := ""
	switch s.mode {
	case writeAtomic:
		how = " (saved under a temporary name, renamed over it)"
	case writeSlow:
		how = fmt.Sprintf(" (a slow copy: %d chunks %v apart)", s.chunks, s.gap)
	case writeParts:
		how = fmt.Sprintf(" (parts one by one, %v apart)", s.gap)
	}
	switch s.op {
	case opCreate:
		return fmt.Sprintf("%s %s: %s %s → %s%s", f, s.note, s.to, s.content.label(k), s.to.tileset(), how)
	case opWrite:
		return fmt.Sprintf("%s %s: %s ← %s%s", f, s.note, s.from, s.content.label(k), how)
	case opAppend:
		return fmt.Sprintf("%s append: %s now %s", f, s.from, s.content.label(k))
	case opMove:
		return fmt.Sprintf("%s %s: %s → %s (%s → %s)", f, s.note, s.from, s.to, s.from.tileset(), s.to.tileset())
	case opDelete:
		return fmt.Sprintf("%s delete: %s", f, s.from)
	case opFailCreate:
		return fmt.Sprintf("fault: the next create refused with %d before it takes effect", s.status)
	case opFailCreateAfter:
		return fmt.Sprintf("fault: the next create takes effect, answered %d", s.status)
	case opDrop:
		return fmt.Sprintf("fault: the next %d %s requests lose their connection", s.n, s.ep)
	case opDropAfter:
		return "fault: the next create takes effect, its answer lost"
	case opAPIDown:
		return "fault: API unreachable"
	case opAPIUp:
		return "fault ends: API reachable"
	case opS3Down:
		return "fault: S3 unreachable"
	case opS3Up:
		return "fault ends: S3 reachable"
	case opRateLimit:
		return fmt.Sprintf("fault: a 429 window of %v", s.gap)
	case opSlowAPI:
		return "fault: every API answer slower than the client's timeout"
	case opFastAPI:
		return "fault ends: answers in time"
	case opCorruptCreds:
		return fmt.Sprintf("fault: the next %d staging credentials refused by S3", s.n)
	case opExpireCreds:
		return "fault: every staging credential so far expires"
	case opStart:
		return "daemon: start"
	case opRestart:
		return "daemon: graceful stop and start"
	case opKill:
		return "daemon: SIGKILL"
	}
	return s.describeMTS()
}
