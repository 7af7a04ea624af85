package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/fleet"
)

// checkFleet, with a fleet section, joins the fleet's Redis for a moment
// (as a node of its own, check.NODE, which leaves at once) and reports what
// it found: Redis' version, the nodes alive, the shared limit in force and
// any hold. It returns earlier, the token check's error, when there is
// one; else an exit error when Redis cannot be reached.
func checkFleet(ctx context.Context, cfg *config.Config, w io.Writer, earlier error) error {
	fc := cfg.Fleet
	if fc == nil {
		return earlier
	}
	fmt.Fprintln(w)
	node := "check." + fc.Node
	if len(node) > 64 {
		node = node[:64]
	}
	f, err := fleet.Open(ctx, fleet.Options{URL: fc.Redis, Password: fc.Password.Reveal(), Node: node, Group: fc.Group,
		LeaseTTL: fc.LeaseTTL, Timeout: 5 * time.Second})
	if err != nil {
		fmt.Fprintf(w, "Fleet:         FAILED: %v\n", err)
		return firstErr(earlier, exitError{code: 1, msg: "the fleet's Redis cannot be reached"})
	}
	defer f.Close()
	info, err := f.Info(ctx)
	if err != nil {
		fmt.Fprintf(w, "Fleet:         FAILED: %v\n", err)
		return firstErr(earlier, exitError{code: 1, msg: "the fleet's Redis does not answer"})
	}
	fmt.Fprintf(w, "Fleet:         %s: Redis %s, group %s, this node %s, leases of %s\n", info.URL, info.RedisVersion, fc.Group, fc.Node, fc.LeaseTTL)
	var nodes []string
	for _, n := range info.Nodes {
		if n.Name != node {
			nodes = append(nodes, fmt.Sprintf("%s (seen %s ago)", n.Name, n.Seen.Round(time.Second)))
		}
	}
	if len(nodes) == 0 {
		nodes = []string{"none (no tilesyncd of this group runs now)"}
	}
	fmt.Fprintf(w, "  nodes alive  %d: %s\n", len(info.Nodes)-1, strings.Join(nodes, ", "))
	if info.Limit > 0 {
		fmt.Fprintf(w, "  shared limit %d requests per %s, learned from Mapbox by %s\n", info.Limit, info.Window, info.LimitFrom)
	} else {
		fmt.Fprintf(w, "  shared limit none learned yet: every node spaces by mapbox.requests_per_minute (%d a minute here)\n", cfg.Mapbox.RequestsPerMinute)
	}
	if info.Held > 0 {
		fmt.Fprintf(w, "  held         every node waits %s more (a 429 or an outage)\n", info.Held.Round(time.Second))
	}
	return earlier
}

func firstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
