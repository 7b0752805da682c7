package client

import (
	"reflect"
	"testing"

	"github.com/mitogen-go/mitogend/proto"
)

func TestDetectBecome(t *testing.T) {
	tests := []struct {
		command string
		step    *proto.Step // nil: run as ssh would
		argv    []string
		shell   string
	}{
		{"sudo -u postgres rsync --server -logDtpre.iLsfxCIvu . /srv/", &proto.Step{Method: "sudo", Program: "sudo", User: "postgres", Fallback: true, Command: []string{"rsync", "--server", "-logDtpre.iLsfxCIvu", ".", "/srv/"}}, []string{"rsync", "--server", "-logDtpre.iLsfxCIvu", ".", "/srv/"}, ""},
		{"sudo rsync --server . /d", &proto.Step{Method: "sudo", Program: "sudo", Fallback: true, Command: []string{"rsync", "--server", ".", "/d"}}, []string{"rsync", "--server", ".", "/d"}, ""},
		{"sudo -n -H -u root true", &proto.Step{Method: "sudo", Program: "sudo", User: "root", NonInteractive: true, Fallback: true, Command: []string{"true"}}, []string{"true"}, ""},
		{"/usr/bin/sudo -E -u a id", &proto.Step{Method: "sudo", Program: "/usr/bin/sudo", User: "a", Flags: []string{"-E"}, Fallback: true, Command: []string{"id"}}, []string{"id"}, ""},
		{"doas -u bob ls /", &proto.Step{Method: "doas", Program: "doas", User: "bob", Fallback: true, Command: []string{"ls", "/"}}, []string{"ls", "/"}, ""},
		{"su - alice -c 'echo hi'", &proto.Step{Method: "su", Program: "su", User: "alice", Flags: []string{"-l"}, Fallback: true}, nil, "echo hi"},
		{"sudo -i -u a id", nil, nil, ""},           // a login shell runs the command: not reproduced
		{"sudo -S -u a id", nil, nil, ""},           // the password comes from the caller's stdin
		{"sudo -k id", nil, nil, ""},                // asks every time
		{"sudo -u a id && echo done", nil, nil, ""}, // the shell interprets it
		{"sudo -u a echo $HOME", nil, nil, ""},      // an expansion
		{"su alice", nil, nil, ""},                  // interactive
		{"echo sudo -u a id", nil, nil, ""},         // not a become command
		{"/bin/sh -c 'sudo -u a id && sleep 0'", nil, nil, ""},
	}
	for _, tt := range tests {
		bc, ok := detectBecome(tt.command)
		if ok != (tt.step != nil) {
			t.Errorf("%q: detected %v, want %v", tt.command, ok, tt.step != nil)
			continue
		}
		if !ok {
			continue
		}
		if !reflect.DeepEqual(bc.step, *tt.step) || !reflect.DeepEqual(bc.exec.Argv, tt.argv) || bc.exec.Command != tt.shell || !bc.exec.KeepDir {
			t.Errorf("%q: %+v %+v, want %+v argv %q command %q", tt.command, bc.step, bc.exec, *tt.step, tt.argv, tt.shell)
		}
	}
}
