package packaging

import (
	"os/exec"
	"strings"
	"testing"
)

func TestPackageVersion(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"v1.2.3", "1.2.3"},
		{"v1.2.3-rc1", "1.2.3~rc1"},
		{"v1.2.3-4-gabc1234", "1.2.3+4.gabc1234"},
		{"v1.2.3-4-gabc1234-dirty", "1.2.3+4.gabc1234.dirty"},
		{"abc1234-dirty", "0.0.0+git.abc1234.dirty"},
		{"0abc123", "0.0.0+git.0abc123"},
		{"dev", "0.0.0+git.dev"},
	} {
		out, err := exec.Command("sh", "pkgversion.sh", tc.in).Output()
		if got := strings.TrimSpace(string(out)); err != nil || got != tc.want {
			t.Errorf("pkgversion.sh %s = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
