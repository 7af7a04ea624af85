package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tilesyncd/tilesyncd/control"
	"github.com/tilesyncd/tilesyncd/state"
	"github.com/tilesyncd/tilesyncd/terminal"
)

// printStatus writes the human view of a status. Every argument is escaped
// (terminal.Fprintf): file names, tileset names and error texts come from
// whoever writes to a watch folder.
// It is long because it prints the status's sections in order, a few lines each.
func printStatus(w io.Writer, st control.Status, now time.Time) {
	snap := st.State
	if st.Source == control.SourceDaemon {
		terminal.Fprintf(w, "tilesyncd %s, running since %s\n", st.Version, when(st.Started, now))
		switch {
		case st.Health == nil:
		case st.Health.OK:
			fmt.Fprintln(w, "Health:       ok")
		default:
			terminal.Fprintf(w, "Health:       PROBLEM: %s\n", st.Health.Reason)
		}
		if st.AuthError != "" {
			terminal.Fprintf(w, "Token:        REFUSED by Mapbox, nothing is sent until it is fixed: %s\n", st.AuthError)
		}
	} else {
		terminal.Fprintf(w, "daemon not running; from the state file %s\n", snap.Path)
		if snap.Taken.IsZero() {
			fmt.Fprintln(w, "The state file does not exist yet: tilesyncd has not run with this configuration.")
			return
		}
	}
	terminal.Fprintf(w, "Last success: %s\n", when(st.LastSuccess, now))
	if len(st.Uploads) > 0 {
		terminal.Fprintf(w, "Since start:  %d uploaded, %d unchanged, %d refused, %d failed, %d cancelled\n",
			st.Uploads["uploaded"], st.Uploads["unchanged"], st.Uploads["refused"], st.Uploads["failed"], st.Uploads["cancelled"])
	}
	var counts []string
	for _, s := range state.Stages {
		counts = append(counts, fmt.Sprintf("%d %s", snap.Counts[s.String()], s))
	}
	terminal.Fprintf(w, "Queue:        %s\n", strings.Join(counts, ", "))
	if len(st.Paused) > 0 {
		terminal.Fprintf(w, "Paused:       %s (watched and queued, nothing sent until 'tilesyncd resume')\n", strings.Join(st.Paused, ", "))
	}
	terminal.Fprintf(w, "State file:   %s (%s, %d files, %d tilesets)\n", snap.Path, size(snap.Bytes), snap.Files, snap.Tilesets)

	transfers := map[uint64]control.Transfer{}
	for _, t := range st.Transfers {
		transfers[t.JobID] = t
	}
	var inFlight, failed []state.Job
	for _, j := range snap.Active {
		if j.Stage == state.StageFailed {
			failed = append(failed, j)
		} else {
			inFlight = append(inFlight, j)
		}
	}
	if len(inFlight) > 0 {
		fmt.Fprintln(w, "\nIn flight:")
		for _, j := range inFlight {
			terminal.Fprintf(w, "  #%-5d %s  %s\n         %s\n", j.ID, j.Tileset, j.Source, jobProgress(j, transfers, now))
		}
	}
	if len(snap.Queued) > 0 {
		terminal.Fprintf(w, "\nQueued (%d", snap.Counts[state.StageQueued.String()])
		if n := snap.Counts[state.StageQueued.String()]; n > len(snap.Queued) {
			terminal.Fprintf(w, ", the first %d shown", len(snap.Queued))
		}
		fmt.Fprintln(w, "):")
		for _, j := range snap.Queued {
			terminal.Fprintf(w, "  #%-5d %s  %s  %s, since %s\n", j.ID, j.Tileset, j.Source, size(j.Size), when(j.CreatedAt, now))
		}
	}
	if len(snap.Recent) > 0 {
		fmt.Fprintln(w, "\nRecently done (newest first):")
		for _, e := range snap.Recent {
			terminal.Fprintf(w, "  %s  %-10s %s  %s", e.Time.Local().Format("2006-01-02 15:04:05"), e.Outcome, e.Tileset, e.Source)
			if e.Message != "" {
				terminal.Fprintf(w, ": %s", e.Message)
			}
			if e.Target == state.TargetMTS && e.Outcome == state.OutcomeUploaded {
				terminal.Fprintf(w, " (published: job %s, %.2f compute units%s)", e.UploadID, e.CU, mtsWarnings(e.Warnings))
			}
			fmt.Fprintln(w)
		}
	}
	if len(failed) > 0 {
		fmt.Fprintln(w, "\nFailed (kept until the file changes, or 'tilesyncd retry'):")
		for _, j := range failed {
			terminal.Fprintf(w, "  #%-5d %s  %s: %s\n", j.ID, j.Tileset, j.Source, j.LastError)
		}
	}
	if len(st.Refused) > 0 {
		fmt.Fprintln(w, "\nRefused files (Mapbox cannot take them; fix the file to retry):")
		for _, r := range st.Refused {
			terminal.Fprintf(w, "  %s: %s\n", r.Source, r.Reason)
		}
	}
	if b := st.Budget; b != nil {
		terminal.Fprintf(w, "\nRate budget:  %d requests per %s, one every %s; %d granted, %d waiting now, %s waited in all, %d × 429",
			b.Limit, seconds(b.WindowSeconds), seconds(b.Spacing), b.Granted, b.Waiting, seconds(b.WaitedSeconds), b.RateLimited)
		if !b.BlockedUntil.IsZero() {
			terminal.Fprintf(w, "; every request held until %s", b.BlockedUntil.Local().Format("15:04:05"))
		}
		fmt.Fprintln(w)
	}
	printBandwidth(w, st.Bandwidth, now)    // status_bandwidth.go
	printFleet(w, st.Fleet, st.Budget, now) // status_fleet.go
	if len(st.Watch) > 0 {
		fmt.Fprintln(w, "\nWatch folders:")
		for _, f := range st.Watch {
			paused, every := "", ""
			if f.Paused {
				paused = " PAUSED"
			}
			if f.PollEverySeconds > 0 {
				every = fmt.Sprintf(", polled every %v", time.Duration(f.PollEverySeconds*float64(time.Second)).Round(time.Millisecond))
			}
			terminal.Fprintf(w, "  %s  mode %s: %d files, %d settling, %d scans%s, last scan %s%s\n",
				f.Folder, f.Mode, f.Files, f.Pending, f.Scans, every, when(f.LastScan, now), paused)
		}
	}
}

// jobProgress describes where an active job is.
func jobProgress(j state.Job, transfers map[uint64]control.Transfer, now time.Time) string {
	switch j.Stage {
	case state.StageStaging:
		if t, ok := transfers[j.ID]; ok && t.Total > 0 {
			return fmt.Sprintf("staging %s of %s (%.0f%%)", size(t.Sent), size(t.Total), 100*float64(t.Sent)/float64(t.Total))
		}
		return fmt.Sprintf("staging %s", size(j.Size))
	case state.StageStaged:
		if j.Target == state.TargetMTS {
			return "source replaced, publishing the tileset"
		}
		return "staged, creating the upload at Mapbox"
	case state.StageProcessing:
		if j.Target == state.TargetMTS {
			return fmt.Sprintf("Mapbox publish job %s (published %s)", j.UploadID, when(j.UploadCreatedAt, now))
		}
		return fmt.Sprintf("Mapbox processing: %.0f%% (upload %s, created %s)", 100*j.Progress, j.UploadID, when(j.UploadCreatedAt, now))
	case state.StageRetryWait:
		return fmt.Sprintf("waiting to retry %s (attempt %d, resumes at %s): %s", when(j.NextAttempt, now), j.Attempts, j.RetryFrom, j.LastError)
	}
	return j.Stage.String()
}

// when prints a time with how long ago (or in how long) it is.
func when(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t).Round(time.Second)
	rel := d.String() + " ago"
	if d < 0 {
		rel = "in " + (-d).String()
	}
	return fmt.Sprintf("%s (%s)", t.Local().Format("2006-01-02 15:04:05"), rel)
}

func seconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond).String()
}

func size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// mtsWarnings lists an MTS job's warnings ("W201 …"), or "".
func mtsWarnings(ws []string) string {
	if len(ws) == 0 {
		return ""
	}
	return "; warnings: " + strings.Join(ws, "; ")
}
