package mapboxsim

// TB is the part of testing.TB that StartMem uses (declared here so that
// the demo command, which links this package, does not link testing).
type TB interface {
	Helper()
	TempDir() string
	Cleanup(func())
	Fatalf(format string, args ...any)
}

// StartMem starts a Server on a new MemStorage in tb.TempDir(), the store
// following the server's clock (o.Clock), and closes both when the test ends.
// o.Storage is ignored.
func StartMem(tb TB, o Options) (*Server, *MemStorage) {
	tb.Helper()
	store, err := NewMemStorage(MemOptions{Dir: tb.TempDir(), Clock: o.Clock, Logger: o.Logger})
	if err != nil {
		tb.Fatalf("mapboxsim: %v", err)
	}
	o.Storage = store
	s := New(o)
	tb.Cleanup(func() {
		s.Close()
		store.Close()
	})
	return s, store
}
