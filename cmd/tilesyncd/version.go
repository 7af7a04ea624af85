package main

import (
	"flag"
	"fmt"
	"io"
	"runtime"
)

func init() {
	register(&command{
		name:    "version",
		summary: "print the version",
		help:    "Prints tilesyncd's version, and the Go version and platform it was built for.",
		setup: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
			return func(args []string, stdout, _ io.Writer) error {
				if len(args) > 0 {
					return usageError{"takes no arguments"}
				}
				fmt.Fprintf(stdout, "tilesyncd %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
				return nil
			}
		},
	})
}
