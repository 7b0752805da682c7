package client

import (
	"reflect"
	"strings"
	"testing"

	"github.com/mitogen-go/mitogend/proto"
)

// The command lines below are what ansible-core 2.14.18 sends (captured from real plays, see
// ../shared/reference/ssh-callers.md), and near misses that must run as ssh would.
func TestAnsibleBecome(t *testing.T) {
	const id = "gebobvawxhczzcydawysjbuzrywraihf"
	inner := `'"'"'echo BECOME-SUCCESS-` + id + ` ; /usr/bin/python3'"'"'`
	wrap := func(sudo string) string { return `/bin/sh -c '` + sudo + ` /bin/sh -c ` + inner + ` && sleep 0'` }
	success := []string{"/bin/sh", "-c", "echo BECOME-SUCCESS-" + id + " ; /usr/bin/python3"}
	prompt := "[sudo via ansible, key=" + id + "] password:"
	tests := []struct {
		name        string
		command     string
		step        *proto.Step // nil: run as ssh would
		stdinPrompt bool
	}{
		{"no password", wrap("sudo -H -S -n  -u svc"), &proto.Step{Method: "sudo", Program: "sudo", User: "svc", NonInteractive: true, Fallback: true, Command: success}, false},
		{"no user", wrap("sudo -H -S -n "), &proto.Step{Method: "sudo", Program: "sudo", NonInteractive: true, Fallback: true, Command: success}, false},
		{"password", wrap(`sudo -H -S -p "` + prompt + `" -u root`), &proto.Step{Method: "sudo", Program: "sudo", User: "root", Fallback: true, Command: success, Prompt: prompt}, true},
		{"become_exe", wrap("/usr/bin/sudo -H -S -n  -u svc"), &proto.Step{Method: "sudo", Program: "/usr/bin/sudo", User: "svc", NonInteractive: true, Fallback: true, Command: success}, false},
		{"no sleep", strings.Replace(wrap("sudo -H -S -n -u svc"), " && sleep 0", "", 1), nil, false},
		{"another shell", strings.Replace(wrap("sudo -H -S -n -u svc"), "/bin/sh -c '", "/bin/bash -c '", 1), nil, false},
		{"not the success command", `/bin/sh -c 'sudo -H -S -n -u svc /bin/sh -c '"'"'echo hello ; id'"'"' && sleep 0'`, nil, false},
		{"short id", `/bin/sh -c 'sudo -H -S -n -u svc /bin/sh -c '"'"'echo BECOME-SUCCESS-abc ; id'"'"' && sleep 0'`, nil, false},
		{"password without a prompt", wrap("sudo -H -S -u root"), nil, false},
		{"askpass", wrap(`sudo -H -A -p "x:" -u root`), nil, false},
		{"login shell", wrap("sudo -i -S -n -u root"), nil, false},
		{"more after sleep", wrap("sudo -H -S -n -u svc") + "; id", nil, false},
		{"shell syntax around sudo", `/bin/sh -c 'cd /tmp && sudo -H -S -n -u svc /bin/sh -c '"'"'echo BECOME-SUCCESS-` + id + ` ; id'"'"' && sleep 0'`, nil, false},
		{"no become", `/bin/sh -c 'echo ~root && sleep 0'`, nil, false},
	}
	for _, tt := range tests {
		bc, ok := detectBecome(tt.command)
		if ok != (tt.step != nil) {
			t.Errorf("%s: %q: detected %v, want %v", tt.name, tt.command, ok, tt.step != nil)
			continue
		}
		if !ok {
			continue
		}
		if !reflect.DeepEqual(bc.step, *tt.step) || !reflect.DeepEqual(bc.exec.Argv, success) || !bc.exec.KeepDir || !bc.exec.SetHome {
			t.Errorf("%s: %+v %+v, want %+v", tt.name, bc.step, bc.exec, *tt.step)
		}
		if bc.stdinPrompt != tt.stdinPrompt || !bc.shellStatus {
			t.Errorf("%s: stdinPrompt %v shellStatus %v, want %v true", tt.name, bc.stdinPrompt, bc.shellStatus, tt.stdinPrompt)
		}
	}
}

func TestShellExit(t *testing.T) {
	for _, tt := range []struct {
		in   ExitError
		want ExitError
	}{
		{ExitError{Status: 255, Signal: "TERM"}, ExitError{Status: 143}},
		{ExitError{Status: 255, Signal: "SEGV", CoreDumped: true}, ExitError{Status: 139}},
		{ExitError{Status: 3}, ExitError{Status: 3}},
		{ExitError{Status: 255, Signal: "NOSUCH"}, ExitError{Status: 255, Signal: "NOSUCH"}},
	} {
		if got := shellExit(&tt.in); *got != tt.want {
			t.Errorf("%+v: %+v, want %+v", tt.in, *got, tt.want)
		}
	}
}

func TestReadAnswerLine(t *testing.T) {
	r := strings.NewReader("s3cret\r\nmodule bytes")
	if s, ok := readAnswerLine(r); s != "s3cret" || !ok {
		t.Fatalf("%q %v", s, ok)
	}
	if rest := r.Len(); rest != len("module bytes") {
		t.Errorf("%d bytes left for the command, want %d", rest, len("module bytes"))
	}
	if s, ok := readAnswerLine(strings.NewReader("")); ok {
		t.Errorf("empty input: %q %v, want no answer", s, ok)
	}
	if s, ok := readAnswerLine(strings.NewReader("tail")); s != "tail" || !ok {
		t.Errorf("unterminated: %q %v", s, ok)
	}
}
