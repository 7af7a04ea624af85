package packaging

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"path"
	"sort"
	"strings"
)

// LaunchdPlist renders tilesyncd's launchd job: a LaunchDaemon
// (/Library/LaunchDaemons/io.github.tilesyncd.plist) or, in User mode, a
// LaunchAgent (~/Library/LaunchAgents/io.github.tilesyncd.plist).
//
// The job starts at load (RunAtLoad), is restarted when it exits with a
// failure (KeepAlive SuccessfulExit=false, at most every 5 s), gets 15 s to
// stop, starts in StateDir, and writes its output to LogDir/tilesyncd.out.log
// and LogDir/tilesyncd.err.log (launchd does not create LogDir).
func LaunchdPlist(p Params) ([]byte, error) {
	if err := checkPaths(unixAbs, "binary", p.Binary, "config", p.Config,
		"state folder", p.StateDir, "log folder", p.LogDir); err != nil {
		return nil, err
	}
	var args []string
	for _, a := range append([]string{p.Binary}, ServiceArgs(p.Config)...) {
		args = append(args, "\t\t<string>"+xmlText(a)+"</string>")
	}
	vals := map[string]string{
		"Kind":                 "LaunchDaemon",
		"Generator":            xmlText(orDefault(p.Generator, "tilesyncd")),
		"Label":                LaunchdLabel,
		"ProgramArguments":     strings.Join(args, "\n"),
		"WorkingDirectory":     xmlText(p.StateDir),
		"StandardOutPath":      xmlText(path.Join(p.LogDir, "tilesyncd.out.log")),
		"StandardErrorPath":    xmlText(path.Join(p.LogDir, "tilesyncd.err.log")),
		"UserName":             "",
		"EnvironmentVariables": "",
	}
	if p.Mode == User {
		vals["Kind"] = "LaunchAgent"
	} else if p.User != "" {
		vals["UserName"] = "\t<key>UserName</key>\n\t<string>" + xmlText(p.User) + "</string>"
		if p.Group != "" {
			vals["UserName"] += "\n\t<key>GroupName</key>\n\t<string>" + xmlText(p.Group) + "</string>"
		}
	}
	if len(p.Env) > 0 {
		keys := make([]string, 0, len(p.Env))
		for k := range p.Env {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		b.WriteString("\t<key>EnvironmentVariables</key>\n\t<dict>\n")
		for _, k := range keys {
			fmt.Fprintf(&b, "\t\t<key>%s</key>\n\t\t<string>%s</string>\n", xmlText(k), xmlText(p.Env[k]))
		}
		b.WriteString("\t</dict>")
		vals["EnvironmentVariables"] = b.String()
	}
	out, err := expand(templateText("launchd.plist"), vals)
	return []byte(out), err
}

// xmlText escapes s for XML character data.
func xmlText(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s)) // writes to a bytes.Buffer cannot fail
	return b.String()
}
