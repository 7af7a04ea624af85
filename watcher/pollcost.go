package watcher

import "time"

// maxPollEvery caps a stretched poll interval, so that a share close to
// zero cannot overflow a Duration: polling at least once a day.
const maxPollEvery = 24 * time.Hour

// pollEvery is the wait after a full scan in poll mode that took cycle:
// interval, or cycle/share when that is longer (at most a day, or interval
// if longer). Polling then takes at most cycle/(cycle+cycle/share) =
// share/(1+share) of the time, less than share.
func pollEvery(interval, cycle time.Duration, share float64) time.Duration {
	stretched := time.Duration(min(float64(cycle)/share, float64(maxPollEvery)))
	return max(interval, stretched)
}

// nextPoll returns the wait before the next poll cycle, from the cost of
// the full scan just done (its wall time, or the process's CPU time
// meanwhile when longer: see Options.PollMaxShare), and keeps it for
// Status. It logs at info when the wait first exceeds PollInterval, when
// it has since moved by more than a factor of two from what was logged,
// and when it is back at PollInterval: once per change, not every cycle
// (each cycle's cost differs a little).
func (w *Watcher) nextPoll() time.Duration {
	cycle := w.scanCost
	every := pollEvery(w.opts.PollInterval, cycle, w.opts.PollMaxShare)
	w.st.PollEvery = every
	logged := w.pollLogged
	switch {
	case every > w.opts.PollInterval && (logged == 0 || every > 2*logged || every < logged/2):
		w.log.Info("polling less often: a poll cycle is costly",
			"every", every.Round(time.Millisecond), "poll_interval", w.opts.PollInterval,
			"cycle", cycle.Round(time.Millisecond), "max_share", w.opts.PollMaxShare)
		w.pollLogged = every
	case every == w.opts.PollInterval && logged != 0:
		w.log.Info("polling at the poll interval again", "poll_interval", w.opts.PollInterval,
			"cycle", cycle.Round(time.Millisecond), "max_share", w.opts.PollMaxShare)
		w.pollLogged = 0
	}
	return every
}
