package main

import "os"

// notifyReload: Windows has no SIGHUP; the configuration file is watched instead.
func notifyReload(chan<- os.Signal) {}
