package packaging

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"path"
	"strings"
	"testing"
)

// plistValue is a decoded property-list value: a string, bool, integer
// (as its text), []plistValue or map[string]plistValue.
type plistValue any

// parsePlist decodes an XML property list with encoding/xml.
func parsePlist(t *testing.T, data []byte) map[string]plistValue {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("no <dict> in the plist: %v\n%s", err, data)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "dict" {
			v, err := plistElement(dec, se)
			if err != nil {
				t.Fatalf("plist: %v\n%s", err, data)
			}
			return v.(map[string]plistValue)
		}
	}
}

func plistElement(dec *xml.Decoder, se xml.StartElement) (plistValue, error) {
	switch se.Name.Local {
	case "true", "false":
		return se.Name.Local == "true", dec.Skip()
	case "string", "integer":
		var s string
		err := dec.DecodeElement(&s, &se)
		return s, err
	case "array", "dict":
		var items []plistValue
		for {
			tok, err := dec.Token()
			if err != nil {
				return nil, err
			}
			switch tok := tok.(type) {
			case xml.StartElement:
				v, err := plistElement(dec, tok)
				if err != nil {
					return nil, err
				}
				if tok.Name.Local == "key" {
					v = plistKey(v.(string))
				}
				items = append(items, v)
			case xml.EndElement:
				if se.Name.Local == "array" {
					return items, nil
				}
				m := map[string]plistValue{}
				for i := 0; i < len(items); i += 2 {
					k, ok := items[i].(plistKey)
					if !ok || i+1 >= len(items) {
						return nil, fmt.Errorf("dict: a value without a key, or a key without a value")
					}
					m[string(k)] = items[i+1]
				}
				return m, nil
			}
		}
	case "key":
		var s string
		err := dec.DecodeElement(&s, &se)
		return s, err
	}
	return nil, fmt.Errorf("unexpected <%s>", se.Name.Local)
}

type plistKey string

func TestLaunchdPlistParses(t *testing.T) {
	for _, mode := range []Mode{System, User} {
		t.Run(mode.String(), func(t *testing.T) {
			p := Params{
				Mode:     mode,
				Binary:   "/usr/local/bin/tilesyncd",
				Config:   "/Users/ana/Tiles & Maps/tilesyncd.yaml",
				StateDir: "/Library/Application Support/tilesyncd",
				LogDir:   "/Library/Logs/tilesyncd",
				User:     "_tilesyncd",
				Env:      map[string]string{"TZ": "UTC", "LANG": "en_GB.UTF-8"},
			}
			data, err := LaunchdPlist(p)
			if err != nil {
				t.Fatal(err)
			}
			// The whole document is well-formed XML.
			dec := xml.NewDecoder(bytes.NewReader(data))
			for {
				if _, err := dec.Token(); err == io.EOF {
					break
				} else if err != nil {
					t.Fatalf("not well-formed XML: %v\n%s", err, data)
				}
			}
			d := parsePlist(t, data)
			if d["Label"] != LaunchdLabel {
				t.Errorf("Label = %v, want %s", d["Label"], LaunchdLabel)
			}
			args, _ := d["ProgramArguments"].([]plistValue)
			want := []string{p.Binary, "run", "--config", p.Config, "--log-format", "json"}
			if fmt.Sprint(args) != fmt.Sprint(want) {
				t.Errorf("ProgramArguments = %q, want %q", args, want)
			}
			if s, _ := args[0].(string); !path.IsAbs(s) {
				t.Errorf("program %q is not absolute", s)
			}
			if s, _ := args[3].(string); !path.IsAbs(s) {
				t.Errorf("config %q is not absolute", s)
			}
			if d["RunAtLoad"] != true {
				t.Errorf("RunAtLoad = %v, want true", d["RunAtLoad"])
			}
			ka, ok := d["KeepAlive"].(map[string]plistValue)
			if !ok || ka["SuccessfulExit"] != false {
				t.Errorf("KeepAlive = %v, want {SuccessfulExit: false}", d["KeepAlive"])
			}
			if d["StandardOutPath"] != "/Library/Logs/tilesyncd/tilesyncd.out.log" ||
				d["StandardErrorPath"] != "/Library/Logs/tilesyncd/tilesyncd.err.log" {
				t.Errorf("log paths = %v, %v", d["StandardOutPath"], d["StandardErrorPath"])
			}
			if d["WorkingDirectory"] != p.StateDir {
				t.Errorf("WorkingDirectory = %v, want %s", d["WorkingDirectory"], p.StateDir)
			}
			env, _ := d["EnvironmentVariables"].(map[string]plistValue)
			if env["TZ"] != "UTC" || env["LANG"] != "en_GB.UTF-8" {
				t.Errorf("EnvironmentVariables = %v", d["EnvironmentVariables"])
			}
			user, hasUser := d["UserName"]
			if mode == System && user != "_tilesyncd" {
				t.Errorf("UserName = %v, want _tilesyncd", user)
			}
			if mode == User && hasUser {
				t.Errorf("a LaunchAgent has UserName %v", user)
			}
			if kind := map[Mode]string{System: "LaunchDaemon", User: "LaunchAgent"}[mode]; !strings.Contains(string(data), kind) {
				t.Errorf("the header does not say %s", kind)
			}
		})
	}
}

func TestLaunchdPlistRefusesRelativePaths(t *testing.T) {
	_, err := LaunchdPlist(Params{Binary: "/usr/local/bin/tilesyncd", Config: "tilesyncd.yaml", StateDir: "/tmp", LogDir: "/tmp"})
	if err == nil || !strings.Contains(err.Error(), "not an absolute path") {
		t.Fatalf("err = %v, want a relative config refused", err)
	}
}
