package daemon

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/tilesyncd/tilesyncd/control"
	"github.com/tilesyncd/tilesyncd/notify"
	"github.com/tilesyncd/tilesyncd/state"
	"github.com/tilesyncd/tilesyncd/syncer"
	"sync"
)

// healthEvery is how often the daemon judges its health for notifications
// (a variable for the test).
var healthEvery = 30 * time.Second

// buildNotifier makes the notifier of the configuration's notify list, or
// nil when it has none. Its messages wait in the state's outbox until they
// are delivered; the Mapbox token is never in one.
func (d *Daemon) buildNotifier() error {
	if len(d.cfg.Notify) == 0 {
		return nil
	}
	targets := make([]notify.Target, 0, len(d.cfg.Notify))
	for _, n := range d.cfg.Notify {
		t := notify.Target{URL: n.URL, Format: notify.Format(n.Format)}
		for _, e := range n.Events {
			t.Events = append(t.Events, notify.Kind(e))
		}
		targets = append(targets, t)
	}
	host, _ := os.Hostname()
	n, err := notify.New(notify.Options{Targets: targets, Outbox: d.store, Logger: d.log.With("component", "notify"),
		Clock: d.clock, Host: host, Secrets: []string{d.cfg.Mapbox.Token.Reveal()}})
	if err != nil {
		return err
	}
	d.notifier = n
	return nil
}

// notifyEnded tells the notifier of a job that ended (syncer.Options.Ended).
func (d *Daemon) notifyEnded(e syncer.Ended) {
	if d.notifier == nil {
		return
	}
	ev := notify.Event{Kind: notify.Failed, File: d.pathOf(e.Job.Source), Tileset: e.Job.Tileset, UploadID: e.UploadID,
		Outcome: string(state.OutcomeFailed), Message: e.Reason}
	if e.Uploaded {
		ev.Kind, ev.Outcome, ev.Message = notify.Uploaded, string(state.OutcomeUploaded), ""
	}
	d.notifier.Notify(ev)
}

// notifyRefused tells the notifier of a file refused (intake.Options.Refused).
func (d *Daemon) notifyRefused(key state.FileKey, tileset, reason string) {
	if d.notifier == nil {
		return
	}
	d.notifier.Notify(notify.Event{Kind: notify.Failed, File: d.pathOf(key), Tileset: tileset,
		Outcome: string(state.OutcomeRefused), Message: reason})
}

// pathOf is a file's path as tilesyncd shows it.
func (d *Daemon) pathOf(k state.FileKey) string {
	return filepath.Join(k.Watch, filepath.FromSlash(k.Path))
}

// runNotifier delivers the notifications and, with health, every
// healthEvery judges the daemon's health as /healthz does, telling of each
// change (the first judgement only when it is not OK). It ends with ctx;
// what was not delivered by then waits in the outbox for the next run.
func (d *Daemon) runNotifier(ctx context.Context, health func() control.Health) error {
	if d.notifier == nil {
		return nil
	}
	var wg sync.WaitGroup
	defer wg.Wait() // the watch ends with ctx, before the store may close
	if health != nil {
		every := healthEvery
		wg.Go(func() { d.watchHealth(ctx, health, every) })
	}
	return d.notifier.Run(ctx)
}

func (d *Daemon) watchHealth(ctx context.Context, health func() control.Health, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	known, wasOK := false, true
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		h := health()
		if (known || !h.OK) && h.OK != wasOK {
			ev := notify.Event{Kind: notify.Health, Status: "ok"}
			if !h.OK {
				ev.Status, ev.Reason = "failing", h.Reason
			}
			d.notifier.Notify(ev)
		}
		known, wasOK = true, h.OK
	}
}
