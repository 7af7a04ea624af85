package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
)

// uploadOf is the ID of the simulator's upload to tileset ("" if none).
func (e *statusEnv) uploadOf(tileset string) string {
	for _, u := range e.srv.Uploads() {
		if u.Tileset == tileset {
			return u.ID
		}
	}
	return ""
}

// deletedAt reports whether the simulator deleted the status of upload id.
func (e *statusEnv) deletedAt(id string) bool {
	for _, u := range e.srv.Uploads() {
		if u.ID == id {
			return u.Deleted
		}
	}
	return false
}

// uploadsCLI runs `tilesyncd uploads ARGS --config` and checks that no
// output shows the token or a raw escape character.
func (e *statusEnv) uploadsCLI(args ...string) (int, string, string) {
	e.t.Helper()
	code, out, errOut := runCLI(e.t, append(append([]string{"uploads"}, args...), "--config", e.cfgPath)...)
	noToken(e.t, out, errOut)
	if strings.ContainsAny(out+errOut, "\x1b\r") {
		e.t.Errorf("uploads %s printed a raw control character:\n%q", strings.Join(args, " "), out+errOut)
	}
	return code, out, errOut
}

// TestUploadsCommand lists the account's uploads and deletes their
// statuses, beside a running daemon, then with the daemon stopped.
// It is long because it is one story, told in order.
func TestUploadsCommand(t *testing.T) {
	e := newStatusEnv(t)
	e.srv.SetOutcome("acme.broken", "bad \x1b[31mnews\nforged: line")
	d, stop := e.start()
	e.write("roads.geojson", `{"type":"FeatureCollection","features":[]}`)
	e.write("broken.geojson", `{"type":"FeatureCollection","features":[{}]}`)
	statusWait(t, "both processed", func() bool {
		return d.Syncer().Stats().Uploaded.Load() == 1 && d.Syncer().Stats().Failed.Load() == 1
	})
	roads, broken := e.uploadOf("acme.roads"), e.uploadOf("acme.broken")

	code, out, errOut := e.uploadsCLI("list")
	if code != 0 || !strings.Contains(out, "ID") || !strings.Contains(out, "STATUS") ||
		!regexpMatch(out, roads+` +acme\.roads +\d{4}-\d\d-\d\d \d\d:\d\d +complete\n`,
			broken+` +acme\.broken +\S+ \S+ +error: bad \\x1b\[31mnews\\nforged: line\n`) {
		t.Errorf("uploads list: exit %d\n%s%s", code, out, errOut)
	}
	t.Logf("uploads list:\n%s", out)
	code, out, _ = e.uploadsCLI("list", "--json", "--limit", "1")
	var u mapbox.Upload
	if err := json.Unmarshal([]byte(out), &u); code != 0 || err != nil || (u.ID != roads && u.ID != broken) || strings.Count(out, "\n") != 1 {
		t.Errorf("uploads list --json --limit 1: exit %d, %v\n%s", code, err, out)
	}

	code, out, errOut = e.uploadsCLI("delete", "--completed", "--older-than", "0", "--dry-run")
	if code != 0 || !strings.Contains(out, "would delete  "+roads+"  acme.roads  created ") ||
		!strings.Contains(out, "kept     "+broken+"  acme.broken: its processing failed") || e.deletedAt(roads) {
		t.Errorf("uploads delete --completed --dry-run: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = e.uploadsCLI("delete", "--completed", "--older-than", "0")
	if code != 0 || !strings.Contains(out, "deleted  "+roads+"  acme.roads") || !e.deletedAt(roads) || e.deletedAt(broken) ||
		!strings.Contains(out, "1 upload status(es) deleted (their tilesets stay), 1 kept, 0 failed.") {
		t.Errorf("uploads delete --completed: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = e.uploadsCLI("delete", broken, "no-such-upload")
	if code != 1 || !strings.Contains(out, "deleted  "+broken+"  acme.broken") || !e.deletedAt(broken) ||
		!strings.Contains(out, "kept     no-such-upload: Mapbox knows no such upload") {
		t.Errorf("uploads delete ID...: exit %d\n%s%s", code, out, errOut)
	}
	if _, ok := e.srv.Holds("acme.roads"); !ok {
		t.Error("acme.roads holds nothing after its status was deleted")
	}

	// Still processing: never deleted.
	e.srv.SetProcessingTime(time.Hour)
	e.write("slow.geojson", `{"type":"FeatureCollection","features":[]}`)
	statusWait(t, "the slow upload created", func() bool { return e.uploadOf("acme.slow") != "" })
	slow := e.uploadOf("acme.slow")
	code, out, errOut = e.uploadsCLI("delete", slow)
	if code != 1 || !strings.Contains(out, "kept     "+slow+"  acme.slow: still processing") || e.deletedAt(slow) {
		t.Errorf("uploads delete of a processing upload: exit %d\n%s%s", code, out, errOut)
	}

	// Processed while the daemon was stopped: the state file says tilesyncd
	// still waits for its outcome, so it stays.
	e.srv.SetProcessingTime(2 * time.Second)
	e.write("lakes.geojson", `{"type":"FeatureCollection","features":[]}`)
	statusWait(t, "the lakes upload created", func() bool { return e.uploadOf("acme.lakes") != "" })
	stop()
	lakes := e.uploadOf("acme.lakes")
	statusWait(t, "the lakes upload processed", func() bool {
		for _, u := range e.srv.Uploads() {
			if u.ID == lakes {
				return u.Complete
			}
		}
		return false
	})
	for _, args := range [][]string{{"delete", lakes}, {"delete", "--completed", "--older-than", "0"}} {
		code, out, errOut = e.uploadsCLI(args...)
		if !strings.Contains(out, "kept     "+lakes+"  acme.lakes: tilesyncd ") || e.deletedAt(lakes) {
			t.Errorf("uploads %s of an upload the stopped daemon waits for: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
	}
	t.Logf("uploads delete --completed without the daemon:\n%s", out)
}

func TestUploadsUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"uploads"}, "name the action: list or delete"},
		{[]string{"uploads", "frobnicate"}, `unknown action "frobnicate"`},
		{[]string{"uploads", "list", "extra"}, "uploads list takes no arguments"},
		{[]string{"uploads", "list", "--completed"}, "uploads list does not take --completed"},
		{[]string{"uploads", "list", "--limit", "-1"}, "--limit must be 0 (all) or more"},
		{[]string{"uploads", "delete"}, "name the upload IDs to delete, or give --completed --older-than AGE"},
		{[]string{"uploads", "delete", "--completed"}, "--completed needs --older-than AGE"},
		{[]string{"uploads", "delete", "--completed", "--older-than", "a week"}, `--older-than: "a week" is not an age`},
		{[]string{"uploads", "delete", "abc", "--completed", "--older-than", "7d"}, "name the upload IDs to delete, or give --completed"},
		{[]string{"uploads", "delete", "--dry-run", "abc"}, "--older-than and --dry-run go with --completed"},
		{[]string{"uploads", "delete", "--json", "abc"}, "uploads delete does not take --json"},
		{[]string{"uploads", "list", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"uploads", "list", "-"}, "uploads list takes no arguments"},
		{[]string{"uploads", "list", "--", "--json"}, "uploads list takes no arguments"},
	}
	for _, tt := range tests {
		code, out, errOut := runCLI(t, tt.args...)
		if code != 2 || !strings.Contains(errOut, tt.want) {
			t.Errorf("tilesyncd %s: exit %d, stdout %q, stderr %q; want exit 2 and %q", strings.Join(tt.args, " "), code, out, errOut, tt.want)
		}
	}
	code, out, _ := runCLI(t, "help", "uploads")
	if code != 0 || !strings.Contains(out, "--older-than") || !strings.Contains(out, "cleanup_completed_after") {
		t.Errorf("help uploads: exit %d\n%s", code, out)
	}
}
