package mapboxsim

// SetListCap lowers the 1 MB cap of a list answer, so that a test can cut a
// page by size with a few uploads.
func (s *Server) SetListCap(bytes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listCap = bytes
}
