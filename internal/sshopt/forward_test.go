package sshopt

import "testing"

// forwardCases are forward specifications parse_forward accepts or refuses.
var forwardCases = []struct {
	spec            string
	dynamic, remote bool
	want            bool
}{
	{"8080:localhost:80", false, false, true},
	{"127.0.0.1:8080:localhost:80", false, false, true},
	{"[::1]:8080:[::1]:80", false, false, true},
	{"/tmp/sock:localhost:80", false, false, true},
	{"8080:/tmp/sock", false, false, true},
	{"8080", true, false, true},
	{"127.0.0.1:1080", true, false, true},
	{"8080", true, true, true}, // remote dynamic (-R port)
	{"8080:localhost", false, false, false},
	{"0:localhost:80", false, false, false},
	{"0:localhost:80", false, true, true},
	{"8080:localhost:0", false, false, false},
	{"x:y:z:w:v", false, false, false},
}

func TestParseForwardValid(t *testing.T) {
	for _, tt := range forwardCases {
		if _, got := ParseForward(tt.spec, tt.dynamic, tt.remote); got != tt.want {
			t.Errorf("ParseForward(%q, dyn=%v, remote=%v) = %v", tt.spec, tt.dynamic, tt.remote, got)
		}
	}
}
