package fstype

import "testing"

func TestFromMagic(t *testing.T) {
	tests := []struct {
		magic int64
		want  Info
	}{
		{0x6969, Info{Network, "nfs"}},
		{0xff534d42, Info{Network, "cifs"}},
		{0xfe534d42, Info{Network, "smb2"}},
		{0x517b, Info{Network, "smb"}},
		{0x65735546, Info{FUSE, "fuse"}},
		{0xef53, Info{Local, "ext4"}},
		{0x01021994, Info{Local, "tmpfs"}},
		{0x12345678, Info{Local, "unknown"}},
		// statfs f_type is signed on some architectures: the upper bits must not matter.
		{int64(int32(-11317950)), Info{Network, "cifs"}}, // 0xff534d42 as int32
	}
	for _, tt := range tests {
		if got := FromMagic(tt.magic); got != tt.want {
			t.Errorf("FromMagic(%#x) = %v, want %v", tt.magic, got, tt.want)
		}
	}
}

func TestDetectTempDir(t *testing.T) {
	info, err := Detect(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if info.Remote() {
		t.Errorf("Detect(t.TempDir()) = %v, want a local filesystem", info)
	}
	if _, err := Detect("/does/not/exist"); err == nil {
		t.Error("Detect of a missing path: want an error")
	}
}
