package sshopt

import (
	"strings"
	"testing"
)

func TestDelim(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		rest bool // something left unread after the tokens listed
	}{
		{in: `exec "a b"c`, want: []string{"exec", "a b", "c"}},
		{in: `exec a"b c"`, want: []string{"exec", "ab c", ""}}, // strdelim returns "" once after a closing quote
		{in: `exec "t \"x\""`, want: []string{"exec", `t \`, `x\`, ""}},
		{in: `host=h exec = x`, want: []string{"host", "h", "exec", "x"}},
		{in: `exec "unterminated`, want: []string{"exec"}},
	} {
		d := NewDelim(tc.in)
		var got []string
		for {
			tok, ok := d.Next()
			if !ok {
				break
			}
			got = append(got, tok)
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
			t.Errorf("Delim(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if !d.Consumed() {
			t.Errorf("Delim(%q): not consumed after the last token", tc.in)
		}
	}
}
