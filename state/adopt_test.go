package state_test

import (
	"errors"
	"testing"

	"github.com/tilesyncd/tilesyncd/state"
	"github.com/tilesyncd/tilesyncd/state/statetest"
)

func TestAdopt(t *testing.T) {
	s := statetest.Open(t, state.Options{})
	key := state.FileKey{Watch: "/w", Path: "roads.geojson"}
	if err := s.Adopt(state.FileRecord{Key: key, Size: 3, ModTime: 7, SHA256: "aa", Tileset: "u.roads"}); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Unchanged("u.roads", "aa"); err != nil || !ok {
		t.Errorf("after adopt, Unchanged(u.roads, aa) = %v, %v; want true", ok, err)
	}
	rec, ok, err := s.File(key)
	if err != nil || !ok || rec.Outcome != state.OutcomeUnchanged || rec.SHA256 != "aa" {
		t.Errorf("file record after adopt = %+v, %v, %v", rec, ok, err)
	}
	hist, err := s.TilesetHistory("u.roads")
	if err != nil || len(hist) != 1 || hist[0].Outcome != state.OutcomeUnchanged {
		t.Errorf("history after adopt = %+v, %v", hist, err)
	}

	// A tileset with work queued is not adopted over it.
	if _, err := s.Enqueue(state.NewJob{Tileset: "u.lakes", Source: state.FileKey{Watch: "/w", Path: "lakes.kml"}, SHA256: "bb", Size: 1}); err != nil {
		t.Fatal(err)
	}
	err = s.Adopt(state.FileRecord{Key: state.FileKey{Watch: "/w", Path: "lakes.kml"}, SHA256: "bb", Tileset: "u.lakes"})
	if !errors.Is(err, state.ErrInvalidTransition) {
		t.Errorf("adopt over a queued job: err = %v, want ErrInvalidTransition", err)
	}
	if err := s.Adopt(state.FileRecord{Key: key, Tileset: "u.roads"}); !errors.Is(err, state.ErrInvalidKey) {
		t.Errorf("adopt without a hash: err = %v, want ErrInvalidKey", err)
	}
}
