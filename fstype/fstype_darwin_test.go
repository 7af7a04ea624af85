package fstype

import "testing"

func TestFromName(t *testing.T) {
	tests := []struct {
		name string
		want Kind
	}{
		{"apfs", Local}, {"hfs", Local}, {"nfs", Network}, {"smbfs", Network},
		{"afpfs", Network}, {"webdav", Network}, {"macfuse", FUSE}, {"osxfuse", FUSE},
	}
	for _, tt := range tests {
		if got := FromName(tt.name).Kind; got != tt.want {
			t.Errorf("FromName(%q).Kind = %v, want %v", tt.name, got, tt.want)
		}
	}
}
