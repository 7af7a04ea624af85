package main

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/tilesyncd/tilesyncd/daemon"
	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/terminal"
)

// uploadTime is how `uploads` prints Mapbox's times, in local time.
const uploadTime = "2006-01-02 15:04"

// printUploadList writes the uploads as a table. Every text from Mapbox (IDs,
// tilesets, error messages) is escaped: an upload may have been made by
// anyone with a token of the account.
func printUploadList(w io.Writer, ups []mapbox.Upload) {
	if len(ups) == 0 {
		fmt.Fprintln(w, "No uploads.")
		return
	}
	rows := [][]string{{"ID", "TILESET", "CREATED", "STATUS"}}
	for _, u := range ups {
		rows = append(rows, []string{terminal.Escape(u.ID), terminal.Escape(u.Tileset),
			u.Created.Local().Format(uploadTime), uploadState(u)})
	}
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		for i, c := range r {
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)+2))
			}
		}
		fmt.Fprintln(w, b.String()) // escaped cell by cell above
	}
}

// uploadState is an upload's state for people, escaped.
func uploadState(u mapbox.Upload) string {
	if msg, failed := u.Failed(); failed {
		return "error: " + terminal.Escape(msg)
	}
	if u.Complete {
		return "complete"
	}
	return fmt.Sprintf("processing %d%%", int(u.Progress*100))
}

// printRemovals says, per upload status, whether it was deleted, kept and
// why, or failed, then counts them.
func printRemovals(w io.Writer, removed []daemon.Removal, dryRun bool) {
	deleted, kept, failed := 0, 0, 0
	for _, r := range removed {
		u := r.Upload
		what := u.ID
		if u.Tileset != "" {
			what += "  " + u.Tileset
		}
		switch {
		case r.Deleted && dryRun:
			deleted++
			terminal.Fprintf(w, "would delete  %s  created %s\n", what, u.Created.Local().Format(uploadTime))
		case r.Deleted:
			deleted++
			terminal.Fprintf(w, "deleted  %s  created %s\n", what, u.Created.Local().Format(uploadTime))
		case r.Err != nil:
			failed++
			terminal.Fprintf(w, "failed   %s: %s\n", what, r.Err)
		default:
			kept++
			terminal.Fprintf(w, "kept     %s: %s\n", what, r.Kept)
		}
	}
	if len(removed) == 0 {
		return
	}
	verb := "deleted (their tilesets stay)"
	if dryRun {
		verb = "would be deleted (--dry-run: nothing was)"
	}
	fmt.Fprintf(w, "%d upload status(es) %s, %d kept, %d failed.\n", deleted, verb, kept, failed)
}
