package daemon

import (
	"slices"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/control"
	"github.com/tilesyncd/tilesyncd/state"
)

// The actions an operator takes on a running daemon (control.Actions: the
// status page's buttons and the commands retry, forget, pause and resume,
// through the control endpoint), and the same on the state file alone, for
// the commands when no daemon runs (RetryInStore, ForgetInStore,
// PauseInStore). The daemon's own versions do the same to its state and
// then wake what must act on it: the sender after a retry or a resume,
// intake after a forget (the file is read again at once, not at the next
// scan).

var _ control.Actions = (*Daemon)(nil)

// Retry queues failed files again and makes files waiting to retry due
// now, then wakes the sender (control.Actions).
func (d *Daemon) Retry(req control.RetryRequest) (control.ActionResult, error) {
	res, err := RetryInStore(d.store, d.cfg, req)
	if len(res.Done) > 0 {
		d.syncer.Wake()
	}
	return res, err
}

// Forget forgets files and has intake read them again now, so that they
// are sent even if their tileset holds their content (control.Actions).
func (d *Daemon) Forget(files []state.FileKey) (control.ActionResult, error) {
	res, err := ForgetInStore(d.store, d.cfg, files)
	for _, it := range res.Done {
		d.intake.ReadAgain(it.Source)
	}
	return res, err
}

// SetPaused pauses or resumes watch folders, every one when none is named
// (control.Actions). The pause is recorded in the state: it survives a
// restart.
func (d *Daemon) SetPaused(folders []string, paused bool) (control.ActionResult, error) {
	targets, res := pauseTargets(d.cfg, folders)
	changed, err := d.syncer.SetPaused(targets, paused)
	if err != nil {
		return control.ActionResult{}, err
	}
	return pauseResult(res, targets, changed, paused), nil
}

// Paused lists the paused watch folders (control.Actions).
func (d *Daemon) Paused() []string { return d.syncer.Paused() }

// loadPauses applies the pauses recorded in the state to the sender (Run
// only: SyncOnce sends everything).
func (d *Daemon) loadPauses() error {
	paused, err := d.syncer.LoadPauses(watchPaths(d.cfg))
	if err != nil {
		return err
	}
	if len(paused) > 0 {
		d.log.Warn("paused folders: watched, their changes queue, but nothing of them is sent until they resume (tilesyncd resume)",
			"watch", paused)
	}
	return nil
}

// notePausesIgnored says, for SyncOnce, that the folders paused for the
// daemon are sent anyway.
func (d *Daemon) notePausesIgnored() {
	if paused, err := d.store.PausedFolders(); err == nil && len(paused) > 0 {
		d.log.Info("these folders are paused for the daemon; sync --once sends their files anyway", "watch", paused)
	}
}

// RetryInStore is Retry on the state alone: failed jobs of the named files
// (or every failed job) go back to the queue as they are, and jobs waiting
// to retry become due now. A file with nothing failed or waiting is
// skipped, with the reason; so is a job whose tileset has newer work.
func RetryInStore(store *state.Store, cfg *config.Config, req control.RetryRequest) (control.ActionResult, error) {
	var res control.ActionResult
	var jobs []state.Job
	if req.Failed {
		failed, err := store.Failed()
		if err != nil {
			return res, err
		}
		jobs = append(jobs, failed...)
	}
	for _, key := range req.Files {
		if !slices.Contains(watchPaths(cfg), key.Watch) {
			res.Skipped = append(res.Skipped, control.ActionItem{Source: key, Reason: "not in a watch folder"})
			continue
		}
		found, err := store.ListJobs(state.JobFilter{Source: key})
		if err != nil {
			return res, err
		}
		n := 0
		for _, j := range found {
			if j.Stage == state.StageFailed || j.Stage == state.StageRetryWait {
				jobs = append(jobs, j)
				n++
			}
		}
		if n == 0 {
			res.Skipped = append(res.Skipped, control.ActionItem{Source: key,
				Reason: "nothing failed or waiting to retry for it (to send it again anyway: tilesyncd forget)"})
		}
	}
	seen := map[uint64]bool{}
	for _, j := range jobs {
		if seen[j.ID] {
			continue
		}
		seen[j.ID] = true
		if _, err := store.Retry(j.ID); err != nil {
			res.Skipped = append(res.Skipped, control.ActionItem{Source: j.Source, Tileset: j.Tileset, Reason: err.Error()})
			continue
		}
		res.Done = append(res.Done, control.ActionItem{Source: j.Source, Tileset: j.Tileset})
	}
	return res, nil
}

// ForgetInStore is Forget on the state alone: each named file's record goes
// (and its tileset's, when it holds the file's content, and a failed job of
// that content), so that the next scan reads the file again and sends it.
// A file the state knows nothing of is skipped.
func ForgetInStore(store *state.Store, cfg *config.Config, files []state.FileKey) (control.ActionResult, error) {
	var res control.ActionResult
	for _, key := range files {
		if !slices.Contains(watchPaths(cfg), key.Watch) {
			res.Skipped = append(res.Skipped, control.ActionItem{Source: key, Reason: "not in a watch folder"})
			continue
		}
		rec, ok, err := store.File(key)
		if err != nil {
			return res, err
		}
		if !ok {
			res.Skipped = append(res.Skipped, control.ActionItem{Source: key, Reason: "nothing is known of it: it is read at the next scan anyway"})
			continue
		}
		if err := store.ForgetFile(key); err != nil {
			return res, err
		}
		res.Done = append(res.Done, control.ActionItem{Source: key, Tileset: rec.Tileset})
	}
	return res, nil
}

// PauseInStore is SetPaused on the state alone: the pause takes effect
// when the daemon starts.
func PauseInStore(store *state.Store, cfg *config.Config, folders []string, paused bool) (control.ActionResult, error) {
	targets, res := pauseTargets(cfg, folders)
	recorded, err := store.PausedFolders()
	if err != nil {
		return control.ActionResult{}, err
	}
	next := slices.Clone(recorded)
	var changed []string
	for _, f := range targets {
		if slices.Contains(next, f) == paused {
			continue
		}
		changed = append(changed, f)
		if paused {
			next = append(next, f)
		} else {
			next = slices.DeleteFunc(next, func(s string) bool { return s == f })
		}
	}
	if len(changed) > 0 {
		if err := store.SetPausedFolders(next); err != nil {
			return control.ActionResult{}, err
		}
	}
	return pauseResult(res, targets, changed, paused), nil
}

// pauseTargets resolves the folders of a pause or resume: the configured
// watch folders named (every one when none is), and a skipped item for
// each name that is not one.
func pauseTargets(cfg *config.Config, folders []string) ([]string, control.ActionResult) {
	all := watchPaths(cfg)
	if len(folders) == 0 {
		return all, control.ActionResult{}
	}
	var res control.ActionResult
	var targets []string
	for _, f := range folders {
		if !slices.Contains(all, f) {
			res.Skipped = append(res.Skipped, control.ActionItem{Folder: f, Reason: "not a watch folder of this configuration"})
			continue
		}
		if !slices.Contains(targets, f) {
			targets = append(targets, f)
		}
	}
	return targets, res
}

// pauseResult lists the targets changed as done, the others as skipped.
func pauseResult(res control.ActionResult, targets, changed []string, paused bool) control.ActionResult {
	already := "already sending (not paused)"
	if paused {
		already = "already paused"
	}
	for _, f := range targets {
		if slices.Contains(changed, f) {
			res.Done = append(res.Done, control.ActionItem{Folder: f})
		} else {
			res.Skipped = append(res.Skipped, control.ActionItem{Folder: f, Reason: already})
		}
	}
	return res
}

// watchPaths are the configured watch folders' paths (state.FileKey.Watch).
func watchPaths(cfg *config.Config) []string {
	out := make([]string, len(cfg.Watch))
	for i, w := range cfg.Watch {
		out[i] = w.Path
	}
	return out
}
