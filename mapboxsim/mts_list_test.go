package mapboxsim_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
)

// TestMTSJobListOrder: jobs newest first by default, oldest first when
// asked; pages of limit with a cursor; stage filters.
func TestMTSJobListOrder(t *testing.T) {
	for _, oldest := range []bool{false, true} {
		f := newMTS(t, mapboxsim.MTSOptions{FIFO: true, JobsOldestFirst: oldest, QueueTime: time.Second, ProcessingTime: time.Second})
		f.source(t, "src", features(1, 1))
		ts := f.tileset(t, "parks", "src")
		var made []string
		for range 5 {
			made = append(made, f.publish(t, ts))
			f.clock.Advance(time.Second)
		}
		f.clock.Advance(time.Minute)
		if !oldest {
			slices.Reverse(made)
		}
		var got []string
		pages := 0
		for opts := (mapbox.JobListOptions{Limit: 2}); ; pages++ {
			page, next, err := f.c.ListJobs(bg, ts, opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range page {
				if len(j.LayerStats) != 0 {
					t.Errorf("a listed job carries layer_stats")
				}
				got = append(got, j.ID)
			}
			if next == "" {
				break
			}
			opts.Start = next
		}
		if !slices.Equal(got, made) || pages != 2 {
			t.Errorf("oldest first %v: listed %v in %d pages, want %v in 3", oldest, got, pages+1, made)
		}
		one, _, err := f.c.ListJobs(bg, ts, mapbox.JobListOptions{Stage: mapbox.JobSuccess, Limit: 1})
		if err != nil || len(one) != 1 || one[0].ID != made[0] {
			t.Errorf("limit 1: %v, %v; want %s", one, err, made[0])
		}
		if queued, _, err := f.c.ListJobs(bg, ts, mapbox.JobListOptions{Stage: mapbox.JobQueued}); err != nil || len(queued) != 0 {
			t.Errorf("stage queued: %v, %v", queued, err)
		}
	}
}

// TestMTSSourceListPages: a source made between two pages never shifts the
// later pages (newest first: it shows on a new first page); a cursor from
// another list is 422.
func TestMTSSourceListPages(t *testing.T) {
	f := newMTS(t, mapboxsim.MTSOptions{})
	for i := range 5 {
		f.source(t, fmt.Sprintf("s%d", i), features(i, 1))
		f.clock.Advance(time.Second)
	}
	page, next, err := f.c.ListSources(bg, mapbox.MTSListOptions{Limit: 2})
	if err != nil || len(page) != 2 || page[0].ID != mapbox.SourceURI("alice", "s4") || next == "" {
		t.Fatalf("first page %+v, next %q, %v", page, next, err)
	}
	f.source(t, "late", features(9, 1))
	seen := map[string]bool{page[0].ID: true, page[1].ID: true}
	for next != "" {
		page, next, err = f.c.ListSources(bg, mapbox.MTSListOptions{Limit: 2, Start: next})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page {
			if seen[s.ID] {
				t.Errorf("%s listed twice", s.ID)
			}
			seen[s.ID] = true
		}
	}
	if len(seen) != 5 || seen[mapbox.SourceURI("alice", "late")] {
		t.Errorf("walk saw %v, want the 5 first sources", seen)
	}
	_, cursor, err := f.c.ListTilesets(bg, mapbox.MTSListOptions{Limit: 1})
	if err != nil || cursor != "" {
		t.Fatalf("tilesets: %q, %v", cursor, err)
	}
	_, _, err = f.c.ListChangesets(bg, mapbox.MTSListOptions{Start: next + "x"})
	if !errors.Is(err, mapbox.ErrInvalid) {
		t.Errorf("unknown cursor: %v, want 422", err)
	}
	byMod, _, err := f.c.ListSources(bg, mapbox.MTSListOptions{SortBy: "modified", Limit: 1})
	f.clock.Advance(time.Second)
	f.source(t, "s0", features(1, 2))
	byMod2, _, err2 := f.c.ListSources(bg, mapbox.MTSListOptions{SortBy: "modified", Limit: 1})
	if err != nil || err2 != nil || byMod[0].ID != mapbox.SourceURI("alice", "late") || byMod2[0].ID != mapbox.SourceURI("alice", "s0") {
		t.Errorf("sortby modified: %v then %v (%v, %v)", byMod, byMod2, err, err2)
	}
}

// TestMTSTilesetList: filters and the fields of an entry.
func TestMTSTilesetList(t *testing.T) {
	f := newMTS(t, mapboxsim.MTSOptions{})
	f.source(t, "src", features(1, 1))
	f.tileset(t, "a", "src")
	f.tileset(t, "b", "src")
	public := false
	name := "Bee"
	if err := f.c.UpdateTileset(bg, "alice.b", mapbox.TilesetUpdate{Name: &name, Private: &public}); err != nil {
		t.Fatal(err)
	}
	all, _, err := f.c.ListTilesets(bg, mapbox.MTSListOptions{})
	if err != nil || len(all) != 2 || all[0].ID != "alice.b" || all[0].Name != "Bee" || all[0].Type != "vector" || all[0].Status != "available" {
		t.Fatalf("list %+v, %v", all, err)
	}
	pub, _, err := f.c.ListTilesets(bg, mapbox.MTSListOptions{Visibility: "public"})
	if err != nil || len(pub) != 1 || pub[0].Visibility != "public" {
		t.Errorf("public %+v, %v", pub, err)
	}
	raster, _, err := f.c.ListTilesets(bg, mapbox.MTSListOptions{Type: "raster"})
	if err != nil || len(raster) != 0 {
		t.Errorf("raster %+v, %v", raster, err)
	}
	if err := f.c.UpdateTileset(bg, "alice.b", mapbox.TilesetUpdate{Attribution: []mapbox.Attribution{{Text: string(make([]byte, 81)), Link: "x"}}}); !errors.Is(err, mapbox.ErrInvalid) {
		t.Errorf("attribution over 80 characters: %v", err)
	}
}
