package daemon

import (
	"reflect"
	"testing"

	"github.com/mitogen-go/mitogend/proto"
)

func TestSpawnRequest(t *testing.T) {
	for _, tt := range []struct {
		st       proto.Step
		head     []string // argv up to the bootstrap shell
		answerOn string
	}{
		{proto.Step{Method: "sudo", User: "svc", Flags: []string{"-H"}}, []string{"sudo", "-H", "-u", "svc", "-p", sudoMarker + "[sudo] password for %p: ", "--", "/bin/sh", "-c"}, "tty"},
		{proto.Step{Method: "sudo", NonInteractive: true}, []string{"sudo", "-n", "-p", sudoMarker + "[sudo] password for %p: ", "--", "/bin/sh", "-c"}, "tty"},
		{proto.Step{Method: "sudo", Program: "/usr/bin/sudo", User: "a", Group: "g"}, []string{"/usr/bin/sudo", "-u", "a", "-g", "g", "-p", sudoMarker + "[sudo] password for %p: ", "--", "/bin/sh", "-c"}, "tty"},
		{proto.Step{Method: "su", User: "alice", Flags: []string{"-l"}}, []string{"su", "-l", "alice", "-c"}, "stdin"},
		{proto.Step{Method: "doas", User: "bob"}, []string{"doas", "-u", "bob", "--", "/bin/sh", "-c"}, "tty"},
		{proto.Step{Method: "exec", Argv: []string{"docker", "exec", "-i", "app"}}, []string{"docker", "exec", "-i", "app", "/bin/sh", "-c"}, ""},
	} {
		req := spawnRequest(tt.st, 9, "x")
		if head := req.Argv[:len(req.Argv)-1]; !reflect.DeepEqual(head, tt.head) || req.AnswerOn != tt.answerOn || req.ID != 9 {
			t.Errorf("%+v: argv %q answer on %q, want %q on %q", tt.st, req.Argv, req.AnswerOn, tt.head, tt.answerOn)
		}
	}
	if stepKey(proto.Step{Method: "sudo", User: "a"}) != stepKey(proto.Step{Method: "sudo", User: "a", NonInteractive: true}) {
		t.Error("sudo -n starts a context of its own")
	}
	if stepKey(proto.Step{Method: "sudo", User: "a"}) == stepKey(proto.Step{Method: "sudo", User: "a", Flags: []string{"-H"}}) {
		t.Error("sudo -H shares the context of sudo without it")
	}
}
