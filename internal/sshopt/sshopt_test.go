package sshopt

import (
	"reflect"
	"testing"
)

// splitLineCases are config lines with the keyword and rest ssh takes from them.
var splitLineCases = []struct {
	line, key, rest string
}{
	{"User bob", "user", "bob"},
	{"  USER   bob  ", "user", "bob"},
	{"User=bob", "user", "bob"},
	{"User = bob", "user", "bob"},
	{"User =bob", "user", "bob"},
	{"User\t=\tbob", "user", "bob"},
	{"User==bob", "user", "=bob"},
	{"# comment", "", ""},
	{"   ", "", ""},
	{"User", "user", ""},
	{"ProxyCommand ssh -W %h:%p j # c", "proxycommand", "ssh -W %h:%p j # c"},
}

func TestSplitLine(t *testing.T) {
	for _, tt := range splitLineCases {
		key, rest := SplitLine(tt.line)
		if key != tt.key || rest != tt.rest {
			t.Errorf("SplitLine(%q) = %q, %q; want %q, %q", tt.line, key, rest, tt.key, tt.rest)
		}
	}
}

// splitArgsCases are argument strings with the words argv_split makes of them.
var splitArgsCases = []struct {
	in      string
	want    []string
	wantErr bool
}{
	{"a b\tc", []string{"a", "b", "c"}, false},
	{`"a b" c`, []string{"a b", "c"}, false},
	{`'a "b"' c`, []string{`a "b"`, "c"}, false},
	{`a\ b`, []string{"a b"}, false},
	{`a\"b`, []string{`a"b`}, false},
	{`a\xb`, []string{`a\xb`}, false},
	{`a # rest`, []string{"a"}, false},
	{`a#b`, []string{"a#b"}, false},
	{`""`, []string{""}, false},
	{`"unterminated`, nil, true},
	{``, nil, false},
}

func TestSplitArgs(t *testing.T) {
	for _, tt := range splitArgsCases {
		got, ok := SplitArgs(tt.in)
		if ok == tt.wantErr || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitArgs(%q) = %q, %v; want %q, ok=%v", tt.in, got, ok, tt.want, !tt.wantErr)
		}
	}
}

// matchPatternCases are match_pattern results.
var matchPatternCases = []struct {
	s, pattern string
	want       bool
}{
	{"foo", "foo", true},
	{"foo", "FOO", false},
	{"foo.example.com", "*.example.com", true},
	{"example.com", "*.example.com", false},
	{"web1", "web?", true},
	{"web12", "web?", false},
	{"anything", "*", true},
	{"", "*", true},
	{"abc", "a*c", true},
	{"abbbc", "a**c", true},
	{"ab", "a*c", false},
	{"*0", "*", true},
	{"a*b", "a*", true},
}

func TestMatchPattern(t *testing.T) {
	for _, tt := range matchPatternCases {
		if got := MatchPattern(tt.s, tt.pattern); got != tt.want {
			t.Errorf("MatchPattern(%q, %q) = %v", tt.s, tt.pattern, got)
		}
	}
}

// matchPatternListCases are match_pattern_list results.
var matchPatternListCases = []struct {
	s, list string
	lower   bool
	want    int
}{
	{"web1", "web*,db*", false, 1},
	{"db1", "web*,db*", false, 1},
	{"mail", "web*,db*", false, 0},
	{"web1", "*,!web1", false, -1},
	{"web2", "*,!web1", false, 1},
	{"web1", "WEB*", true, 1},
	{"web1", "WEB*", false, 0},
}

func TestMatchPatternList(t *testing.T) {
	for _, tt := range matchPatternListCases {
		if got := MatchPatternList(tt.s, tt.list, tt.lower); got != tt.want {
			t.Errorf("MatchPatternList(%q, %q) = %d, want %d", tt.s, tt.list, got, tt.want)
		}
	}
}

// convtimeCases are convtime results.
var convtimeCases = []struct {
	in   string
	want int64
}{
	{"90", 90}, {"1m30s", 90}, {"2h", 7200}, {"1d", 86400}, {"1w", 604800},
	{"10S", 10}, {"", -1}, {"abc", -1}, {"1x", -1}, {"-5", -1}, {"99999999999", -1},
}

func TestConvtime(t *testing.T) {
	for _, tt := range convtimeCases {
		if got := Convtime(tt.in); got != tt.want {
			t.Errorf("Convtime(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}
