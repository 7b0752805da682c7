package shquote

import (
	"os/exec"
	"testing"

	"github.com/mitogen-go/mitogend/test/testenv"
)

// The words, quoted, come back from a real sh as they were.
func TestRoundTripThroughSh(t *testing.T) {
	sh := testenv.NeedTool(t, "sh")
	for _, w := range []string{"", "plain", "a b", "it's", `back\slash`, "$HOME", "*", "new\nline", "=x", "-n"} {
		for _, q := range []string{Quote(w), Word(w)} {
			out, err := exec.Command(sh, "-c", "printf %s "+q).Output()
			if err != nil || string(out) != w {
				t.Errorf("%q quoted as %s: sh gives %q, %v", w, q, out, err)
			}
		}
	}
	if Word("plain") != "plain" || Word("a b") == "a b" {
		t.Errorf("Word quotes what it need not or leaves what it must")
	}
}
