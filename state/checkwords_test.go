package state

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

// A damaged file's page check can find several things, one of them a panic
// bbolt's check recovered ("panic: assertion failed: …", seed
// 1796173704238082576, corruption 73, of the corruption campaign). The
// refusal says them on one line, and no line of it reads as the Go
// runtime's report of a crash: an operator would take it for tilesyncd
// crashing, and the campaign counts such a line as a crash.
func TestCheckFindingsOnOneLine(t *testing.T) {
	findings := []error{
		errors.New("the first key[0]=(hex)2f73 on leaf page(78) needs to be >= the key in the ancestor (2f73). Stack: [163 146 78]"),
		errors.New("panic: assertion failed: page 181: has unexpected type/flags: 202"),
	}
	err := corrupt("/srv/state.db", checkFindings(findings))
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("the refusal spans lines:\n%s", msg)
	}
	if crash := regexp.MustCompile(`(?m)^(panic: |fatal error: )`); crash.MatchString(msg) {
		t.Errorf("a line of the refusal reads as a Go crash:\n%s", msg)
	}
	for _, want := range []string{"leaf page(78)", "the page check panicked: assertion failed: page 181", "/srv/state.db"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the refusal lacks %q:\n%s", want, msg)
		}
	}
	if !errors.Is(err, ErrCorrupt) {
		t.Errorf("not ErrCorrupt: %v", err)
	}
	if checkFindings(nil) != nil {
		t.Error("no findings is not sound")
	}
}
