// Package layers holds the test that keeps the import graph along the data
// path (ARCHITECTURE.md): no package imports one on its own line or above
// it, no product package imports a test fake, and only the demo (in
// cmd/tilesyncd) and tests import the simulator.
package layers
