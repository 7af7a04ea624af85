package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/control"
	"github.com/tilesyncd/tilesyncd/daemon"
	"github.com/tilesyncd/tilesyncd/state"
	"github.com/tilesyncd/tilesyncd/terminal"
)

func init() {
	register(&command{
		name:    "pause",
		summary: "stop sending a watch folder's files (still watched and queued) until resume",
		usage:   "[--config FILE] [FOLDER...]",
		help: `Holds the sending of watch folders' files: a paused folder is still watched
and its changes still queue, but nothing of it is sent to Mapbox until
'tilesyncd resume'. Files already being staged or created finish, and uploads
Mapbox is processing are still followed to their end. Name watch folders as
the configuration does (or by any path to the same folder); none: every
watch folder.

The pause is recorded in the state file: it survives a restart of the daemon.
With a daemon running, pause asks it through its control endpoint
(control.listen) and takes effect at once; with none running, the daemon
starts with the folders paused. 'tilesyncd status' and the status page list
the paused folders; 'tilesyncd sync --once' sends their files anyway.`,
		setup: pauseCommand(true),
	})
	register(&command{
		name:    "resume",
		summary: "send a paused watch folder's files again",
		usage:   "[--config FILE] [FOLDER...]",
		help: `Ends the pause of watch folders (see 'tilesyncd help pause'): what queued
while they were paused is sent now. Name watch folders as the configuration
does (or by any path to the same folder); none: every watch folder.

With a daemon running, resume asks it through its control endpoint
(control.listen); with none running, it changes the state file.`,
		setup: pauseCommand(false),
	})
}

// pauseCommand is the setup of pause (paused true) and resume.
func pauseCommand(paused bool) func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
	return func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
		path := configFlag(fs)
		return func(args []string, stdout, stderr io.Writer) error {
			cfg, err := loadConfig(*path, config.LoadOptions{}, stderr)
			if err != nil {
				return err
			}
			var req control.PauseRequest
			for _, a := range args {
				folder, err := watchFolderOf(cfg, a)
				if err != nil {
					return usageError{err.Error()}
				}
				req.Folders = append(req.Folders, folder)
			}
			apiPath, verb := control.PathResume, "resumed"
			if paused {
				apiPath, verb = control.PathPause, "paused"
			}
			res, viaDaemon, err := act(cfg, apiPath, req, func(store *state.Store) (control.ActionResult, error) {
				return daemon.PauseInStore(store, cfg, req.Folders, paused)
			})
			if err != nil {
				return err
			}
			for _, d := range res.Done {
				terminal.Fprintf(stdout, "%s: %s\n", verb, d.Folder)
			}
			printSkipped(stderr, res)
			switch {
			case len(res.Done) == 0:
			case viaDaemon && paused:
				fmt.Fprintln(stdout, "the running daemon sends nothing of these folders until 'tilesyncd resume'; their changes still queue")
			case viaDaemon:
				fmt.Fprintln(stdout, "the running daemon sends what these folders queued now")
			case paused:
				fmt.Fprintln(stdout, "recorded in the state file: the daemon starts with these folders paused")
			default:
				fmt.Fprintln(stdout, "recorded in the state file: the daemon sends these folders' files at its next start")
			}
			return nil
		}
	}
}

// watchFolderOf returns the configured path of the watch folder that path
// (absolute, or relative to the working folder) names.
func watchFolderOf(cfg *config.Config, path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	var names []string
	for _, w := range cfg.Watch {
		if filepath.Clean(w.Path) == abs {
			return w.Path, nil
		}
		names = append(names, w.Path)
	}
	if w, _, ok := cfg.WatchFor(abs); ok {
		return "", fmt.Errorf("%s is inside the watch folder %s: pause and resume take whole watch folders", path, w.Path)
	}
	return "", fmt.Errorf("%s is not a watch folder (the configuration's: %s)", path, strings.Join(names, ", "))
}
