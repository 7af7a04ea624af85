package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/tilesyncd/tilesyncd/config"
)

// defaultConfigPath is where commands look without --config: the TILESYNCD_CONFIG
// environment variable, else tilesyncd.yaml in the working folder.
func defaultConfigPath() string {
	if p := os.Getenv("TILESYNCD_CONFIG"); p != "" {
		return p
	}
	return "tilesyncd.yaml"
}

// configFlag declares --config (and -c).
func configFlag(fs *flag.FlagSet) *string {
	p := fs.String("config", defaultConfigPath(), "the configuration file; $TILESYNCD_CONFIG, when set, is the default")
	fs.StringVar(p, "c", defaultConfigPath(), "short for --config")
	return p
}

// loadConfig loads the configuration and prints its warnings on stderr.
func loadConfig(path string, opts config.LoadOptions, stderr io.Writer) (*config.Config, error) {
	cfg, err := config.Load(path, opts)
	if err != nil {
		return nil, configError{err}
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	return cfg, nil
}
