package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/format"
	"github.com/tilesyncd/tilesyncd/intake"
	"github.com/tilesyncd/tilesyncd/plan"
	"github.com/tilesyncd/tilesyncd/state"
)

// planMTS converts each file an MTS rule would publish (nothing is kept)
// and shows it as publish with what the conversion gives, or as refused
// when MTS cannot take it.
// With the state database (store, nil if it could not be opened), a file of
// an incremental rule whose change would go as a changeset is shown so.
func planMTS(cfg *config.Config, ds []plan.Decision, store *state.Store) {
	for i, d := range ds {
		if d.Target != config.TargetMTS || d.Action != plan.Upload {
			continue
		}
		c, err := intake.PlanMTS(context.Background(), cfg, d, store)
		ds[i].Conversion = &c
		if err != nil {
			ds[i].Action, ds[i].Reason = plan.Refused, intake.RefusalReason(err)
			continue
		}
		ds[i].Action = plan.Publish
		if c.Changeset {
			ds[i].Action = plan.PublishChangeset
		}
	}
}

// mtsLine is the rest of a publish line: the tileset, its source and
// recipe, and what the conversion gives.
func mtsLine(d plan.Decision) string {
	line := fmt.Sprintf(" → %s %q source %s, recipe %s", d.Tileset, d.Name, d.SourceID, d.Recipe)
	if c := d.Conversion; c != nil && c.Changeset {
		line = fmt.Sprintf(" (%d changed, %d removed)", c.Changed, c.Removed) + line
	}
	if c := d.Conversion; c != nil {
		line += fmt.Sprintf(": %s, %d features, %s of line-delimited GeoJSON", c.Kind, c.Features, format.HumanBytes(c.Bytes))
		if c.SkippedNoGeometry > 0 {
			line += fmt.Sprintf(", %d dropped (no geometry)", c.SkippedNoGeometry)
		}
		if len(c.Nested) > 0 {
			line += ", nested properties MTS drops: " + strings.Join(c.Nested, ", ")
		}
	}
	return line + " [" + d.Rule + "]"
}
