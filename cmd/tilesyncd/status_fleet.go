package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tilesyncd/tilesyncd/control"
	"github.com/tilesyncd/tilesyncd/terminal"
)

// printFleet writes fleet mode's part of the status: Redis, the shared
// budget, the nodes alive, who holds which lease, and what waits for the
// fleet. Nothing without a fleet.
func printFleet(w io.Writer, f *control.Fleet, b *control.Budget, now time.Time) {
	if f == nil {
		return
	}
	terminal.Fprintf(w, "\nFleet:        node %s of group %s, Redis %s", f.Node, f.Group, f.Redis)
	if f.RedisVersion != "" {
		terminal.Fprintf(w, " (version %s)", f.RedisVersion)
	}
	if f.Reachable {
		fmt.Fprintln(w, ": reachable")
	} else {
		terminal.Fprintf(w, ": UNREACHABLE, shared folders wait: %s\n", f.Error)
	}
	if b != nil && b.Shared {
		terminal.Fprintf(w, "  budget      shared by %d node(s): %d requests per %s", b.Nodes, b.Limit, seconds(b.WindowSeconds))
		if f.LimitFrom != "" {
			terminal.Fprintf(w, " (learned from Mapbox by %s)", f.LimitFrom)
		}
		if b.Fallback {
			terminal.Fprintf(w, "; Redis unreachable: this node spends its share alone, one request every %s", seconds(b.Spacing))
		}
		fmt.Fprintln(w)
	}
	var nodes []string
	for _, n := range f.Nodes {
		nodes = append(nodes, fmt.Sprintf("%s (seen %s ago)", n.Name, seconds(n.SeenSeconds)))
	}
	if len(nodes) > 0 {
		terminal.Fprintf(w, "  nodes       %s\n", strings.Join(nodes, ", "))
	}
	for _, l := range f.Leases {
		terminal.Fprintf(w, "  lease       %s: node %s, token %d, held %s, expires in %s unless renewed\n",
			l.Tileset, l.Node, l.Token, seconds(l.HeldSeconds), seconds(l.ExpiresSeconds))
	}
	if f.LeasesTruncated {
		fmt.Fprintln(w, "  lease       … more not shown")
	}
	for _, j := range f.Waiting {
		terminal.Fprintf(w, "  waiting     #%d %s since %s: %s\n", j.JobID, j.Tileset, when(j.Since, now), j.Reason)
	}
	c := f.Counters
	terminal.Fprintf(w, "  counters    %d waits for the shared budget, %d lease takeovers, %d fallbacks, %d Redis errors, %d Redis data losses\n",
		c.BudgetWaits, c.Takeovers, c.Fallbacks, c.RedisErrors, c.DataLosses)
}
