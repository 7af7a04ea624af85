package syncer

import (
	"maps"
	"sync"

	"github.com/tilesyncd/tilesyncd/mapbox"
)

// PublishStats count the MTS publish jobs that ended since the sender
// started: how they ended, the compute units Mapbox billed for them, and
// the warnings of the successful ones by code (W201 …). Safe for
// concurrent use; the zero value is ready.
type PublishStats struct {
	mu sync.Mutex
	c  PublishCounts
}

// PublishCounts is a copy of PublishStats.
type PublishCounts struct {
	// Succeeded, Failed and Superseded count publish jobs by how Mapbox
	// ended them (a superseded one is followed by the job that covers it,
	// or published again).
	Succeeded, Failed, Superseded int64
	// ComputeUnits are those Mapbox reported for the successful jobs.
	ComputeUnits float64
	// Warnings counts the successful jobs' warnings by code.
	Warnings map[string]int64
}

// Counts returns a copy of the counts.
func (p *PublishStats) Counts() PublishCounts {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.c
	c.Warnings = maps.Clone(p.c.Warnings)
	return c
}

// ended counts a publish job Mapbox ended.
func (p *PublishStats) ended(mj mapbox.Job) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch mj.Stage {
	case mapbox.JobSuccess:
		p.c.Succeeded++
		p.c.ComputeUnits += mj.CU
		for _, code := range mj.WarningCodes() {
			if p.c.Warnings == nil {
				p.c.Warnings = map[string]int64{}
			}
			p.c.Warnings[code]++
		}
	case mapbox.JobFailed:
		p.c.Failed++
	case mapbox.JobSuperseded:
		p.c.Superseded++
	}
}
