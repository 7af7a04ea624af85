package watcher

import (
	"errors"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/fstype"
)

func TestChooseMode(t *testing.T) {
	tests := []struct {
		mode    Mode
		info    fstype.Info
		err     error
		want    Mode
		wantWhy string
	}{
		{Auto, fstype.Info{Kind: fstype.Local, Name: "ext4"}, nil, Notify, "ext4"},
		{Auto, fstype.Info{Kind: fstype.Network, Name: "nfs"}, nil, Poll, "nfs"},
		{Auto, fstype.Info{Kind: fstype.Network, Name: "smb2"}, nil, Poll, "smb2"},
		{Auto, fstype.Info{Kind: fstype.FUSE, Name: "fuse"}, nil, Poll, "fuse"},
		{Auto, fstype.Info{}, errors.New("statfs: no such file"), Poll, "filesystem unknown"},
		{"", fstype.Info{Kind: fstype.Local, Name: "apfs"}, nil, Notify, "apfs"},
		{Notify, fstype.Info{Kind: fstype.Network, Name: "nfs"}, nil, Notify, ""},
		{Poll, fstype.Info{Kind: fstype.Local, Name: "ext4"}, nil, Poll, ""},
	}
	for _, tt := range tests {
		got, why := chooseMode(tt.mode, tt.info, tt.err)
		if got != tt.want || why != tt.wantWhy {
			t.Errorf("chooseMode(%q, %v, %v) = %q, %q, want %q, %q", tt.mode, tt.info, tt.err, got, why, tt.want, tt.wantWhy)
		}
	}
}

func TestMustOpenAtStartup(t *testing.T) {
	tests := []struct {
		goos string
		info fstype.Info
		err  error
		want bool
	}{
		{"linux", fstype.Info{Kind: fstype.Local, Name: "ext4"}, nil, false},
		{"darwin", fstype.Info{Kind: fstype.Local, Name: "apfs"}, nil, false},
		{"windows", fstype.Info{Kind: fstype.Local, Name: "NTFS"}, nil, true},
		{"linux", fstype.Info{Kind: fstype.Network, Name: "cifs"}, nil, true},
		{"linux", fstype.Info{Kind: fstype.FUSE, Name: "fuse.sshfs"}, nil, true},
		{"linux", fstype.Info{}, errors.New("statfs: no such file"), true},
	}
	for _, tt := range tests {
		if got := mustOpenAtStartup(tt.goos, tt.info, tt.err); got != tt.want {
			t.Errorf("mustOpenAtStartup(%s, %v, %v) = %v, want %v", tt.goos, tt.info, tt.err, got, tt.want)
		}
	}
}

func TestOptionsDefaults(t *testing.T) {
	o, err := Options{Root: "rel/dir"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if o.Mode != Auto || o.Settle != DefaultSettle || o.PollInterval != DefaultPollInterval ||
		o.RescanInterval != DefaultRescanInterval || o.MaxSettle != DefaultMaxSettle || o.Ignore == nil {
		t.Errorf("defaults = %+v", o)
	}
	if o.Root[0] != '/' && (len(o.Root) < 2 || o.Root[1] != ':') {
		t.Errorf("Root %q is not absolute", o.Root)
	}
	if o, _ := (Options{Root: "/x", Settle: time.Minute}).withDefaults(); o.MaxSettle != time.Hour {
		t.Errorf("MaxSettle with a 1m settle = %v, want 1h", o.MaxSettle)
	}
	for _, bad := range []Options{
		{},
		{Root: "/x", Mode: "inotify"},
		{Root: "/x", Settle: -time.Second},
		{Root: "/x", Settle: time.Minute, MaxSettle: time.Second},
	} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("withDefaults(%+v) succeeded, want an error", bad)
		}
	}
}
