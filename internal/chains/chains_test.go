package chains

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
