package intake

import (
	"fmt"

	"github.com/tilesyncd/tilesyncd/format"
)

// spoolMargin is the free space left in the spool's filesystem after a zip:
// the state database and the system live there too.
const spoolMargin = 100 * 1000 * 1000

// zipBound is the most a zip of parts of n bytes together can take:
// deflate stores what it cannot compress, at 5 bytes a 64 KiB block, and
// each entry has headers of well under 64 KiB.
func zipBound(n int64) int64 { return n + n/8192 + 64<<10 }

// checkSpoolRoom refuses to zip file into the spool folder dir when its
// filesystem has less than need bytes and spoolMargin free, naming the file
// and the sizes. Where free space cannot be told it allows the zip.
func checkSpoolRoom(dir, file string, need int64) error {
	free, ok := freeSpace(dir)
	if !ok || free-spoolMargin >= need {
		return nil
	}
	return fmt.Errorf("not enough room in the spool %s to zip %s: the zip needs up to %s and %s kept free, and %s is free",
		dir, file, format.HumanBytes(need), format.HumanBytes(spoolMargin), format.HumanBytes(free))
}
