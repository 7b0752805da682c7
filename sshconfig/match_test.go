package sshconfig

import "testing"

func TestHostLine(t *testing.T) {
	tests := []struct {
		host     string
		patterns []string
		want     bool
	}{
		{"a", []string{"b", "a"}, true},
		{"a", []string{"*", "!a"}, false},
		{"a", []string{"!a", "*"}, false},
		{"b", []string{"*", "!a"}, true},
		{"b", []string{"!a"}, false},
	}
	for _, tt := range tests {
		if got := hostLine(tt.host, tt.patterns); got != tt.want {
			t.Errorf("hostLine(%q, %q) = %v", tt.host, tt.patterns, got)
		}
	}
}
