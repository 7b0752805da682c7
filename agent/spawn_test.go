package agent

import "testing"

func TestIsPrompt(t *testing.T) {
	markers := []string{"[mitogen-sudo]"}
	su := []string{"password"}
	tests := []struct {
		out     string
		markers []string
		want    bool
	}{
		{"[mitogen-sudo][sudo] password for alice: ", markers, true},
		{"\r\nSorry, try again.\r\n[mitogen-sudo][sudo] password for alice: ", markers, true},
		{"[mitogen-sudo][sudo] password for alice: \r\nsudo: 3 incorrect password attempts\r\n", markers, false},
		{"Password: ", su, true},
		{"\rdoas (alice@vm) password: ", su, true},
		{"your password expires soon\n", su, false},
		{"MOTD: change your password:\nok\n", su, false},
		{"", su, false},
	}
	for _, tt := range tests {
		if got := isPrompt([]byte(tt.out), tt.markers); got != tt.want {
			t.Errorf("isPrompt(%q) = %v, want %v", tt.out, got, tt.want)
		}
	}
}
