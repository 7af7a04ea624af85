// Command tilesyncd keeps Mapbox tilesets in step with folders.
//
// Each subcommand lives in a file of its own; main only dispatches. Exit codes:
// 0 success, 1 the work failed, 2 a usage or configuration error.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/tilesyncd/tilesyncd/state"
)

// version is set at build time (-ldflags "-X main.version=…").
var version = "dev"

// command is one subcommand.
type command struct {
	name    string
	summary string
	usage   string // the arguments, after the name
	help    string // paragraphs printed by `tilesyncd help NAME`
	// setup declares the command's options on fs and returns the function
	// that runs it with the arguments left after the options.
	setup func(fs *flag.FlagSet) func(args []string, stdout, stderr io.Writer) error
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

// usageError is a mistake in how the command was called: exit 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// configError is a configuration that cannot be used: exit 2.
type configError struct{ err error }

func (e configError) Error() string { return e.err.Error() }
func (e configError) Unwrap() error { return e.err }

// exitError ends the command with a code and, when msg is set, a message.
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

func main() {
	state.CheckProcessMain() // when started to check a state file: check, report, exit
	state.SetDefaultChecker(state.CheckProcess{})
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printUsage(stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				printCommandHelp(stdout, c, nil)
				return 0
			}
		}
		printUsage(stdout)
		return 0
	case "-v", "-version", "--version":
		name = "version"
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "tilesyncd: unknown command %q\n\n", name)
		printUsage(stderr)
		return 2
	}
	err := c.run(args[1:], stdout, stderr)
	var ue usageError
	var ce configError
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "tilesyncd %s: %s\nRun 'tilesyncd help %s' for usage.\n", c.name, ue.msg, c.name)
		return 2
	case errors.As(err, &ce):
		fmt.Fprintf(stderr, "tilesyncd %s: configuration error:\n%s\n", c.name, indent(ce.err.Error()))
		return 2
	case errors.As(err, &ee):
		if ee.msg != "" {
			fmt.Fprintf(stderr, "tilesyncd %s: %s\n", c.name, ee.msg)
		}
		return ee.code
	default:
		fmt.Fprintf(stderr, "tilesyncd %s: %v\n", c.name, err)
		return 1
	}
}

func indent(s string) string { return "  " + strings.ReplaceAll(s, "\n", "\n  ") }

func printUsage(w io.Writer) {
	fmt.Fprint(w, `tilesyncd keeps Mapbox tilesets in step with folders: files dropped into a
watched folder are uploaded to the tileset its rules name, once, when they have
finished arriving; unchanged files are never sent again.

Usage: tilesyncd COMMAND [options]

Commands:
`)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-14s %s\n", n, commands[n].summary)
	}
	fmt.Fprint(w, `
Run 'tilesyncd help COMMAND' for a command's options.
Configuration: see config.example.yaml. The token comes from MAPBOX_ACCESS_TOKEN
or mapbox.token_file, never from the YAML itself.
`)
}

// run parses the options and runs the command.
func (c *command) run(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet(c, stderr)
	do := c.setup(fs)
	fs.Usage = func() { printCommandHelp(stdout, c, fs) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	return do(fs.Args(), stdout, stderr)
}

func printCommandHelp(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: tilesyncd %s %s\n\n%s\n", c.name, c.usage, strings.TrimSpace(c.help))
	if fs == nil {
		fs = newFlagSet(c, io.Discard)
		c.setup(fs)
	}
	if hasFlags(fs) {
		fmt.Fprintln(w, "\nOptions:")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

func newFlagSet(c *command, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}
