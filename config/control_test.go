package config

import (
	"slices"
	"strings"
	"testing"
)

func TestControlHosts(t *testing.T) {
	path := writeConfig(t, minimal+"control:\n  listen: 127.0.0.1:7655\n  hosts: [tiles.example.lan, TILESYNCD, \"192.0.2.7\", \"[2001:db8::1]\"]\n")
	cfg, err := Load(path, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"tiles.example.lan", "TILESYNCD", "192.0.2.7", "2001:db8::1"}; !slices.Equal(cfg.Control.Hosts, want) {
		t.Errorf("control.hosts = %q, want %q", cfg.Control.Hosts, want)
	}

	for _, tt := range []struct{ host, want string }{
		{"http://tiles.example.lan", `config.yaml:12: control.hosts[1]: "http://tiles.example.lan" is not a host name or address`},
		{"tiles.example.lan:7655", `config.yaml:12: control.hosts[1]: "tiles.example.lan:7655" is not a host name or address`},
		{"", `config.yaml:12: control.hosts[1]: "" is not a host name or address`},
		{"a b", `config.yaml:12: control.hosts[1]: "a b" is not a host name or address`},
	} {
		path := writeConfig(t, minimal+"control:\n  hosts:\n    - ok.example\n    - \""+tt.host+"\"\n")
		_, err := Load(path, LoadOptions{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("control.hosts %q: %v, want %q", tt.host, err, tt.want)
		}
	}
}
