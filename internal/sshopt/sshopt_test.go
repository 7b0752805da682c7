package sshopt

import (
	"reflect"
	"testing"
)

func TestSplitLine(t *testing.T) {
	tests := []struct {
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
	for _, tt := range tests {
		key, rest := SplitLine(tt.line)
		if key != tt.key || rest != tt.rest {
			t.Errorf("SplitLine(%q) = %q, %q; want %q, %q", tt.line, key, rest, tt.key, tt.rest)
		}
	}
}

func TestSplitArgs(t *testing.T) {
	tests := []struct {
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
	for _, tt := range tests {
		got, ok := SplitArgs(tt.in)
		if ok == tt.wantErr || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitArgs(%q) = %q, %v; want %q, ok=%v", tt.in, got, ok, tt.want, !tt.wantErr)
		}
	}
}

func TestMatchPattern(t *testing.T) {
	tests := []struct {
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
	}
	for _, tt := range tests {
		if got := MatchPattern(tt.s, tt.pattern); got != tt.want {
			t.Errorf("MatchPattern(%q, %q) = %v", tt.s, tt.pattern, got)
		}
	}
}

func TestMatchPatternList(t *testing.T) {
	tests := []struct {
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
	for _, tt := range tests {
		if got := MatchPatternList(tt.s, tt.list, tt.lower); got != tt.want {
			t.Errorf("MatchPatternList(%q, %q) = %d, want %d", tt.s, tt.list, got, tt.want)
		}
	}
}

func TestConvtime(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"90", 90}, {"1m30s", 90}, {"2h", 7200}, {"1d", 86400}, {"1w", 604800},
		{"10S", 10}, {"", -1}, {"abc", -1}, {"1x", -1}, {"-5", -1}, {"99999999999", -1},
	}
	for _, tt := range tests {
		if got := Convtime(tt.in); got != tt.want {
			t.Errorf("Convtime(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}
