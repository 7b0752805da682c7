package e2e

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/test/testenv"
)

// TestStatusSortedAndOneDestination: the status lists connections sorted by destination (the
// daemon keeps them in a map, so an unsorted listing comes out in any order), the same order in
// JSON and text, every time; `mitogend status DESTINATION` resolves the destination as fakessh -O
// check does and shows its connection alone, exiting 1 when it has none.
func TestStatusSortedAndOneDestination(t *testing.T) {
	f := newFleet(t, map[string]string{"a": "", "b": "", "c": ""}, nil)
	for _, alias := range []string{"c", "a", "b"} {
		f.must(f.fakessh(nil, alias, "true"))
	}
	mitogend := filepath.Join(binDir, "mitogend")
	status := func(args ...string) result {
		return f.run(nil, mitogend, append([]string{"status", "--socket", f.socket}, args...)...)
	}
	var dests []string
	for _, alias := range []string{"a", "b", "c"} {
		s := f.srv[alias]
		dests = append(dests, s.User+"@127.0.0.1:"+strconv.Itoa(s.Port))
	}
	sort.Strings(dests)

	for i := 0; i < 5; i++ {
		var st proto.Status
		if err := json.Unmarshal([]byte(f.must(status("--json")).stdout), &st); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range st.Connections {
			got = append(got, c.Destination)
		}
		if strings.Join(got, " ") != strings.Join(dests, " ") {
			t.Fatalf("status --json lists %v, want %v", got, dests)
		}
		if rows := destinationRows(f.must(status()).stdout); strings.Join(rows, " ") != strings.Join(dests, " ") {
			t.Fatalf("status lists %v, want %v", rows, dests)
		}
	}

	b := f.srv["b"]
	wantB := b.User + "@127.0.0.1:" + strconv.Itoa(b.Port)
	if rows := destinationRows(f.must(status("b")).stdout); len(rows) != 1 || rows[0] != wantB {
		t.Errorf("status b lists %v, want %s alone", rows, wantB)
	}
	var one proto.Status
	if err := json.Unmarshal([]byte(f.must(status("--json", "b")).stdout), &one); err != nil {
		t.Fatal(err)
	}
	if one.Destination != wantB || len(one.Connections) != 1 || one.Connections[0].Destination != wantB {
		t.Errorf("status --json b: %+v", one)
	}
	// Options as ssh takes them, after --: another port is another destination, not connected.
	res := status("--", "-p", "1", "b")
	if res.code != 1 || !strings.Contains(res.stderr, "no connection to "+b.User+"@127.0.0.1:1") {
		t.Errorf("status -- -p 1 b: exit %d, stderr %q; want 1 and no connection", res.code, res.stderr)
	}
	if check := f.fakessh(nil, "-O", "check", "-p", "1", "b"); check.code != 255 {
		t.Errorf("fakessh -O check -p 1 b: exit %d, where status said none", check.code)
	}
	if res := status("b", "true"); res.code == 0 {
		t.Errorf("status b true (a command): exit 0")
	}
}

// destinationRows are the first words of the connection rows of mitogend status's table.
func destinationRows(out string) []string {
	var rows []string
	_, table, _ := strings.Cut(out, "DESTINATION")
	for _, l := range strings.Split(table, "\n")[1:] {
		if f := strings.Fields(l); len(f) > 0 && strings.Contains(f[0], "@") {
			rows = append(rows, f[0])
		}
	}
	return rows
}

// TestCheckAndStatusWithAnAgent: with SSH_AUTH_SOCK set, the connection a call opened is keyed by
// that agent too; fakessh -O check and mitogend status DESTINATION, run in the same environment,
// must find it (they once asked without the agent and answered "no tunnel").
func TestCheckAndStatusWithAnAgent(t *testing.T) {
	agent := testenv.NeedTool(t, "ssh-agent")
	r := newRig(t)
	sock := filepath.Join(t.TempDir(), "agent.sock")
	// Without -D, ssh-agent forks once its socket listens: its exit is the event to wait for.
	out, err := exec.Command(agent, "-s", "-a", sock).Output()
	if err != nil {
		t.Fatalf("ssh-agent: %v", err)
	}
	_, pid, _ := strings.Cut(string(out), "SSH_AGENT_PID=")
	pid, _, _ = strings.Cut(pid, ";")
	if n, err := strconv.Atoi(pid); err == nil {
		t.Cleanup(func() { syscall.Kill(n, syscall.SIGTERM) })
	} else {
		t.Fatalf("ssh-agent said %q", out)
	}
	r.env = append(r.env, "SSH_AUTH_SOCK="+sock)
	r.must(r.fakessh(nil, "target", "true"))
	if res := r.fakessh(nil, "-O", "check", "target"); res.code != 0 || !strings.HasPrefix(res.stderr, "Master running") {
		t.Errorf("fakessh -O check: exit %d, %q", res.code, res.stderr)
	}
	if res := r.run(nil, filepath.Join(binDir, "mitogend"), "status", "--socket", r.socket, "target"); res.code != 0 {
		t.Errorf("mitogend status target: exit %d, %q", res.code, res.stderr)
	}
}
