package vis

import "testing"

func TestSafe(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text, tabs\tand\nnewlines", "plain text, tabs\tand\nnewlines"},
		{"\x1b]0;owned\a", `\033]0;owned` + "\a"},
		{"clear\x1b[2J", `clear\033[2J`},
		{"caf\xc3\xa9", `caf\303\251`},
		{"nul\x00del\x7f", `nul\000del\177`},
	}
	for _, tt := range tests {
		if got := Safe(tt.in); got != tt.want {
			t.Errorf("Safe(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := Cut("abcdef\x1b", 3); got != "abc..." {
		t.Errorf("Cut = %q", got)
	}
}

func TestLog(t *testing.T) {
	for in, want := range map[string]string{
		`plain`:        `plain`,
		`a\b`:          `a\\b`,
		"esc\x1b[2J\\": `esc\033[2J\\`,
	} {
		if got := Log(in); got != want {
			t.Errorf("Log(%q) = %q, want %q", in, got, want)
		}
	}
}
