package packaging

import (
	"fmt"
	"strings"
	"testing"
)

func TestWindowsServiceConfig(t *testing.T) {
	p := Params{
		Binary: `C:\Program Files\tilesyncd\tilesyncd.exe`,
		Config: `\\fileserver\gis\tilesyncd\tilesyncd.yaml`,
		User:   `GIS\svc-tilesyncd`,
	}
	c, err := WindowsConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "tilesyncd" || c.DisplayName != "tilesyncd" || c.Description == "" {
		t.Errorf("Name, DisplayName, Description = %q, %q, %q", c.Name, c.DisplayName, c.Description)
	}
	if c.Executable != p.Binary {
		t.Errorf("Executable = %q, want %q", c.Executable, p.Binary)
	}
	wantArgs := []string{"run", "--config", p.Config, "--log-format", "json"}
	if fmt.Sprint(c.Arguments) != fmt.Sprint(wantArgs) {
		t.Errorf("Arguments = %q, want %q", c.Arguments, wantArgs)
	}
	if !windowsAbs(c.Arguments[2]) {
		t.Errorf("config argument %q is not absolute", c.Arguments[2])
	}
	if c.UserName != p.User {
		t.Errorf("UserName = %q, want %q", c.UserName, p.User)
	}
	for key, want := range map[string]any{
		"StartType":              "automatic",
		"DelayedAutoStart":       true,
		"OnFailure":              "restart",
		"OnFailureDelayDuration": "5s",
		"OnFailureResetPeriod":   86400,
	} {
		if got := c.Option[key]; got != want {
			t.Errorf("Option[%s] = %#v, want %#v", key, got, want)
		}
	}
	if _, ok := c.Option["Password"]; ok {
		t.Error("a password is in the service options")
	}
}

func TestWindowsServiceConfigRefusesRelativePaths(t *testing.T) {
	for _, tc := range []struct{ binary, config string }{
		{`tilesyncd.exe`, `C:\tilesyncd\tilesyncd.yaml`},
		{`C:\tilesyncd\tilesyncd.exe`, `tilesyncd.yaml`},
		{`C:\tilesyncd\tilesyncd.exe`, `C:tilesyncd.yaml`},
		{`C:\tilesyncd\tilesyncd.exe`, `/etc/tilesyncd.yaml`},
	} {
		if _, err := WindowsConfig(Params{Binary: tc.binary, Config: tc.config}); err == nil || !strings.Contains(err.Error(), "not an absolute path") {
			t.Errorf("WindowsConfig(%q, %q) error = %v, want a relative path refused", tc.binary, tc.config, err)
		}
	}
}

func TestWindowsServiceGuidance(t *testing.T) {
	for _, want := range []string{"UNC", "LocalSystem", "mapped drive", "sc.exe config tilesyncd obj=", "Event Log"} {
		if !strings.Contains(WindowsGuidance, want) {
			t.Errorf("the Windows guidance does not mention %q", want)
		}
	}
}
