package state_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/tilesyncd/tilesyncd/state"
	"github.com/tilesyncd/tilesyncd/state/statetest"
)

// storeView reads the store into the model's shape.
func storeView(s *state.Store) (*model, error) {
	m := newModel()
	err := s.Jobs(state.JobFilter{}, func(j state.Job) error {
		mj := &mJob{ID: j.ID, Tileset: j.Tileset, Path: j.Source.Path, SHA: j.SHA256, Stage: j.Stage, RetryFrom: j.RetryFrom,
			Attempts: j.Attempts, Next: j.NextAttempt, CreateSent: j.CreateSentAt, Upload: j.UploadID,
			Creds: j.Credentials != nil, LastError: j.LastError, StagedHash: j.StagedSHA256}
		for _, k := range j.Joined {
			mj.Joined = append(mj.Joined, k.Path)
		}
		if j.Multipart != nil {
			mj.Multipart = j.Multipart.UploadID
			for _, p := range j.Multipart.Parts {
				mj.Parts = append(mj.Parts, p.Number)
			}
		}
		m.jobs[j.ID] = mj
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = s.Files("", func(r state.FileRecord) error {
		m.files[r.Key.Path] = mFile{SHA: r.SHA256, Tileset: r.Tileset, Outcome: string(r.Outcome), Reason: r.Reason}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = s.Tilesets(func(r state.TilesetRecord) error {
		m.tilesets[r.Tileset] = mTileset{SHA: r.SHA256, Upload: r.UploadID}
		return nil
	})
	if err != nil {
		return nil, err
	}
	h, err := s.RecentHistory(1 << 30)
	for _, e := range slices.Backward(h) {
		m.history = append(m.history, mHist{Outcome: e.Outcome, Tileset: e.Tileset, Path: e.Source.Path, SHA: e.SHA256,
			JobID: e.JobID, Upload: e.UploadID, Msg: e.Message})
	}
	return m, err
}

// diff describes how the store differs from the model ("" if it does not).
func diff(got, want *model) string {
	if !reflect.DeepEqual(got.jobs, want.jobs) {
		return fmt.Sprintf("jobs:\n store %s\n model %s", dumpJobs(got), dumpJobs(want))
	}
	if !reflect.DeepEqual(got.files, want.files) {
		return fmt.Sprintf("files:\n store %v\n model %v", got.files, want.files)
	}
	if !reflect.DeepEqual(got.tilesets, want.tilesets) {
		return fmt.Sprintf("tilesets:\n store %v\n model %v", got.tilesets, want.tilesets)
	}
	if !reflect.DeepEqual(got.history, want.history) {
		return fmt.Sprintf("history:\n store %v\n model %v", got.history, want.history)
	}
	return ""
}

func dumpJobs(m *model) string {
	var s string
	for _, id := range m.ids() {
		s += fmt.Sprintf("%+v ", *m.jobs[id])
	}
	return s
}

// TestModel applies seeded random operations to the store and to the model;
// after every one they must agree on the error and on the whole state.
func TestModel(t *testing.T) {
	seeds, steps := 4, 400
	if testing.Short() {
		seeds = 2
	}
	for seed := range seeds {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			s := statetest.Open(t, state.Options{})
			m := newModel()
			rng := rand.New(rand.NewPCG(uint64(seed), 42))
			ok := map[string]int{}
			defer func() { t.Logf("successful ops: %v; %d jobs, %d history", ok, len(m.jobs), len(m.history)) }()
			for step := range steps {
				o := genOp(rng, m.info(), m.seq)
				want := m.apply(o)
				if want == "" {
					ok[o.Kind]++
				}
				if got := applyStore(s, o); got != want {
					t.Fatalf("step %d %+v: store says %q, model %q", step, o, got, want)
				}
				got, err := storeView(s)
				if err != nil {
					t.Fatal(err)
				}
				if d := diff(got, m); d != "" {
					t.Fatalf("step %d %+v: %s", step, o, d)
				}
				now := at(int64(rng.IntN(100)))
				next, err := s.Next(now, 2)
				if err != nil {
					t.Fatal(err)
				}
				var ids []uint64
				for _, j := range next {
					ids = append(ids, j.ID)
				}
				if w := m.next(now, 2); !slices.Equal(ids, w) {
					t.Fatalf("step %d: Next = %v, model %v", step, ids, w)
				}
				if step%50 == 0 {
					if err := errors.Join(s.Check(), s.CheckPending()); err != nil {
						t.Fatalf("step %d %+v: %v", step, o, err)
					}
				}
			}
		})
	}
}
