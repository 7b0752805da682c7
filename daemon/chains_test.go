package daemon

import (
	"bufio"
	"reflect"
	"strings"
	"testing"

	"github.com/mitogen-go/mitogend/proto"
)

func TestParseChain(t *testing.T) {
	const file = `# named chains
Host db-as-postgres pg-*
    Via db.example.com
    Become sudo
    BecomeUser postgres
    BecomeFlags -H
Host web !web-old
    Via web1
    Container docker app
Host deep
    Via db-as-postgres
    Become su
    BecomeUser alice
Host broken
    BecomeUser nobody
`
	tests := []struct {
		host    string
		want    chain
		found   bool
		wantErr string
	}{
		{"db-as-postgres", chain{via: "db.example.com", steps: []proto.Step{{Method: "sudo", User: "postgres", Flags: []string{"-H"}}}}, true, ""},
		{"pg-main", chain{via: "db.example.com", steps: []proto.Step{{Method: "sudo", User: "postgres", Flags: []string{"-H"}}}}, true, ""},
		{"web", chain{via: "web1", steps: []proto.Step{{Method: "exec", Argv: []string{"docker", "exec", "-i", "app"}}}}, true, ""},
		{"web-old", chain{}, false, ""},
		{"other", chain{}, false, ""},
		{"broken", chain{}, false, "BecomeUser without a Become"},
	}
	for _, tt := range tests {
		got, found, err := parseChain(bufio.NewScanner(strings.NewReader(file)), "chains", tt.host)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err %v, want %q", tt.host, err, tt.wantErr)
			}
			continue
		}
		if err != nil || found != tt.found || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %+v %v %v, want %+v %v", tt.host, got, found, err, tt.want, tt.found)
		}
	}
}

func TestContainerArgv(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"podman", "c1"}, []string{"podman", "exec", "-i", "c1"}},
		{[]string{"kubectl", "pod"}, []string{"kubectl", "exec", "-i", "pod", "--"}},
		{[]string{"lxc", "c"}, []string{"lxc-attach", "-n", "c", "--"}},
		{[]string{"nsenter", "42"}, []string{"nsenter", "-t", "42", "-a"}},
		{[]string{"chroot", "/srv/root"}, []string{"chroot", "/srv/root"}},
		{[]string{"exec", "ip", "netns", "exec", "n1"}, []string{"ip", "netns", "exec", "n1"}},
	} {
		if got, err := containerArgv(tt.args); err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%v: %v %v, want %v", tt.args, got, err, tt.want)
		}
	}
	if _, err := containerArgv([]string{"lxd", "x"}); err == nil {
		t.Error("an unknown runtime was taken")
	}
}

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
