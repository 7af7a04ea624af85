package syncer

import (
	"fmt"
	"slices"
	"sync"

	"github.com/tilesyncd/tilesyncd/state"
)

// Pausing a watch folder holds the sending of its files: the dispatcher
// starts no job whose source is in it, neither a queued one nor one waiting
// to retry its staging or its create, nor one a stop left half-staged.
// Intake goes on (the folder is watched, its changes queue), and so does
// what is past sending: jobs being staged or created finish, and processing
// uploads are polled (a retry-wait job that resumes at processing only
// polls). The set is recorded in the state, so a pause survives a restart;
// the daemon applies it in Run only (`sync --once` sends everything).

// pauses is the set of paused watch folders. Its own lock: the dispatcher
// reads it for every job it considers.
type pauses struct {
	mu      sync.Mutex
	folders map[string]bool
	gen     uint64 // counts changes, so the dispatcher looks for held orphans again
}

// LoadPauses applies the pauses recorded in the state, keeping only those
// of folders, the watch folders configured now (a folder no longer watched
// drops out of the record), and returns the folders paused.
func (s *Syncer) LoadPauses(folders []string) ([]string, error) {
	recorded, err := s.store.PausedFolders()
	if err != nil {
		return nil, fmt.Errorf("paused folders: %w", err)
	}
	var keep []string
	for _, f := range recorded {
		if slices.Contains(folders, f) {
			keep = append(keep, f)
		} else {
			s.log.Info("a paused folder is no longer watched: its pause is dropped", "watch", f)
		}
	}
	if len(keep) != len(recorded) {
		if err := s.store.SetPausedFolders(keep); err != nil {
			return nil, fmt.Errorf("paused folders: %w", err)
		}
	}
	s.pauses.mu.Lock()
	s.pauses.folders = map[string]bool{}
	for _, f := range keep {
		s.pauses.folders[f] = true
	}
	s.pauses.gen++
	s.pauses.mu.Unlock()
	return keep, nil
}

// SetPaused pauses (paused true) or resumes each of folders, records the
// new set in the state, and returns the folders whose state changed. A
// resumed folder's jobs start at once. The caller names watch folders
// (their configured paths); the set is written before it takes effect, so
// what the sender holds is never more than what a restart would.
func (s *Syncer) SetPaused(folders []string, paused bool) ([]string, error) {
	s.pauses.mu.Lock()
	defer s.pauses.mu.Unlock()
	next := map[string]bool{}
	for f := range s.pauses.folders {
		next[f] = true
	}
	var changed []string
	for _, f := range folders {
		if next[f] != paused {
			changed = append(changed, f)
		}
		if paused {
			next[f] = true
		} else {
			delete(next, f)
		}
	}
	if len(changed) == 0 {
		return nil, nil
	}
	list := make([]string, 0, len(next))
	for f := range next {
		list = append(list, f)
	}
	if err := s.store.SetPausedFolders(list); err != nil {
		return nil, err
	}
	s.pauses.folders = next
	s.pauses.gen++
	if paused {
		s.log.Info("paused: nothing of these folders is sent until they resume; their changes still queue", "watch", changed)
	} else {
		s.log.Info("resumed: these folders' files are sent again", "watch", changed)
		signal(s.wake)
	}
	return changed, nil
}

// Paused returns the paused watch folders, sorted.
func (s *Syncer) Paused() []string {
	s.pauses.mu.Lock()
	defer s.pauses.mu.Unlock()
	out := make([]string, 0, len(s.pauses.folders))
	for f := range s.pauses.folders {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}

// held reports whether the dispatcher must not start j: its source is in a
// paused folder and starting it would send something (a job resuming at
// processing only polls).
func (s *Syncer) held(j state.Job) bool {
	if j.Stage == state.StageProcessing || (j.Stage == state.StageRetryWait && j.RetryFrom == state.StageProcessing) {
		return false
	}
	s.pauses.mu.Lock()
	defer s.pauses.mu.Unlock()
	return s.pauses.folders[j.Source.Watch]
}

// pauseGen counts the changes to the paused folders.
func (s *Syncer) pauseGen() uint64 {
	s.pauses.mu.Lock()
	defer s.pauses.mu.Unlock()
	return s.pauses.gen
}
