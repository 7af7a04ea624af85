package syncer

// The token's state: a refused token (401, or a missing scope) stops all
// sending until it works again, loudly, and keeps the queue. Workers and
// the poller report a refusal (reportAuth); the dispatcher alone records
// it, and clears it every authRetry so that the next request probes the
// token; anyone reads it (AuthError).

// AuthError returns the error of a refused token while nothing is being sent
// because of it, else nil.
func (s *Syncer) AuthError() error {
	if p := s.auth.Load(); p != nil {
		return *p
	}
	return nil
}

// reportAuth tells the dispatcher that Mapbox refused the token. A report
// is dropped when one waits already: it says the same.
func (s *Syncer) reportAuth(err error) {
	select {
	case s.authReports <- err:
	default:
	}
}
