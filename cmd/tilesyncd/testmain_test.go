package main

import (
	"os"
	"testing"

	"github.com/tilesyncd/tilesyncd/state"
)

// TestMain makes the test binary serve as the state check process, as main
// does, so that the commands the tests run in-process check state files the
// way the real binary does.
func TestMain(m *testing.M) {
	state.CheckProcessMain()
	state.SetDefaultChecker(state.CheckProcess{})
	code := m.Run()
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	os.Exit(code)
}
