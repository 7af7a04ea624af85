package staging

// Clock is the time the bandwidth limit reads and waits on, for tests that
// drive it.
type Clock = clock

// SetClock makes s's bandwidth limit read and wait on c. Call it before
// staging.
func SetClock(s *Stager, c Clock) {
	s.bw.mu.Lock()
	defer s.bw.mu.Unlock()
	s.bw.clock = c
}
