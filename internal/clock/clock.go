// Package clock is tilesyncd's one way to tell the time where a clock must
// be injected. Production code takes a Clock (nil meaning Real) and stamps
// every record from it; tests that step time by hand use a Manual, and tests
// that put Mapbox's clock off this machine's use an Offset. Everywhere else a
// test drives the real clock with testing/synctest, and nothing is injected.
package clock

import (
	"sync"
	"time"
)

// Clock tells the time.
type Clock interface {
	Now() time.Time
}

// Real is the machine's clock.
type Real struct{}

// Now is time.Now.
func (Real) Now() time.Time { return time.Now() }

// Or returns c, or Real when c is nil.
func Or(c Clock) Clock {
	if c == nil {
		return Real{}
	}
	return c
}

// Offset is the machine's clock off by a duration: Mapbox's clock ahead of
// (positive) or behind this machine's.
type Offset time.Duration

// Now is the machine's time plus the offset.
func (o Offset) Now() time.Time { return time.Now().Add(time.Duration(o)) }

// Manual is a clock that moves only when told. The zero value reads the
// zero time; use NewManual.
type Manual struct {
	mu sync.Mutex
	t  time.Time
}

// NewManual returns a clock reading t.
func NewManual(t time.Time) *Manual { return &Manual{t: t} }

// Now reads the clock.
func (c *Manual) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Manual) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set puts the clock at t.
func (c *Manual) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Func is a function as a Clock (a test's clock that steps when it says).
type Func func() time.Time

// Now calls f.
func (f Func) Now() time.Time { return f() }
