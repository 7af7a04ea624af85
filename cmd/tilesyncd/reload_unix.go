//go:build !windows

package main

import (
	"os"
	"os/signal"
	"syscall"
)

// notifyReload delivers SIGHUP, the signal to reload the configuration.
func notifyReload(ch chan<- os.Signal) { signal.Notify(ch, syscall.SIGHUP) }
