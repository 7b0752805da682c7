package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mitogen-go/mitogend/test/sshdtest"
)

// otherHostKey makes a key that is not the server's, in known_hosts form.
func otherHostKey(t *testing.T) string {
	t.Helper()
	key := filepath.Join(t.TempDir(), "other")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	b, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// realSSH runs OpenSSH's ssh on the rig's sshd with extra options before the destination.
func (r *rig) realSSH(opts []string, command string) result {
	r.t.Helper()
	args := append(append([]string{"-o", "BatchMode=yes"}, opts...), r.srv.SSHArgs()...)
	return r.run(nil, "ssh", append(args, command)...)
}

// sameAsSSH requires fakessh's result to be ssh's: status, stdout and stderr.
func sameAsSSH(t *testing.T, what string, fake, real result) {
	t.Helper()
	if fake != real {
		t.Errorf("%s:\nfakessh: exit %d stdout %q stderr %q\nssh:     exit %d stdout %q stderr %q",
			what, fake.code, fake.stdout, fake.stderr, real.code, real.stdout, real.stderr)
	}
}

// TestReuseRechecksHostKey: a call that would ride a connection opened earlier is checked against
// its own known_hosts and policy as they are now, as the fresh connection ssh makes would be: a
// key revoked, changed or removed since is refused with ssh's words, side by side with ssh; once
// known_hosts is right again, the same connection serves.
func TestReuseRechecksHostKey(t *testing.T) {
	r := newRig(t)
	good, err := os.ReadFile(r.srv.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	r.must(r.fakessh(nil, "target", "true"))
	hostPattern := fmt.Sprintf("[127.0.0.1]:%d", r.srv.Port)
	cases := []struct {
		name, knownHosts string
		opts             []string
	}{
		{"revoked since", string(good) + "@revoked * " + r.srv.HostPublicKey + "\n", nil},
		{"changed since", hostPattern + " " + otherHostKey(t) + "\n", nil},
		{"removed since, strict", "", []string{"-o", "StrictHostKeyChecking=yes"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			writeFile(t, r.srv.KnownHosts, tc.knownHosts)
			defer writeFile(t, r.srv.KnownHosts, string(good))
			fake := r.fakessh(nil, append(tc.opts, "target", "echo ran")...)
			real := r.realSSH(tc.opts, "echo ran")
			if fake.code != 255 {
				t.Errorf("fakessh ran on a connection its known_hosts now refuses: %+v", fake)
			}
			sameAsSSH(t, tc.name, fake, real)
		})
	}
	if res := r.must(r.fakessh(nil, "target", "echo again")); res.stdout != "again\n" {
		t.Errorf("after known_hosts was restored: %q", res.stdout)
	}
	if st := r.status(); len(st.Connections) != 1 {
		t.Errorf("status lists %d connections, want the one opened first", len(st.Connections))
	}
}

// TestChangedKeyUnderNoDisablesForwarding: when StrictHostKeyChecking=no lets a changed host key
// through, ssh prints the banner, says what it turns off, and sets up no -L forward. Every
// fakessh call on that connection does the same as ssh, the first and the ones that reuse it.
func TestChangedKeyUnderNoDisablesForwarding(t *testing.T) {
	r := newRig(t)
	writeFile(t, r.srv.KnownHosts, fmt.Sprintf("[127.0.0.1]:%d %s\n", r.srv.Port, otherHostKey(t)))
	port := sshdtest.FreePort(t)
	opts := []string{"-o", "StrictHostKeyChecking=no", "-L", fmt.Sprintf("127.0.0.1:%d:127.0.0.1:%d", port, r.srv.Port)}
	// The target is this machine: the remote command can see whether the forward listens.
	probe := fmt.Sprintf(`bash -c '(exec 3<>/dev/tcp/127.0.0.1/%d) 2>/dev/null && echo bound || echo unbound'`, port)
	real := r.realSSH(opts, probe)
	if real.stdout != "unbound\n" {
		t.Fatalf("ssh itself gave %q: the probe cannot tell", real.stdout)
	}
	for _, call := range []string{"first call", "call that reuses the connection"} {
		sameAsSSH(t, call, r.fakessh(nil, append(opts, "target", probe)...), real)
	}
	if r.srv.Logins() != 2 { // ssh's and the one fakessh connection
		t.Errorf("sshd saw %d logins, want 2", r.srv.Logins())
	}
}

// TestPolicyDecidesSharing: a call whose known_hosts and policy would refuse the host never rides
// a connection another call verified with other files; it is refused as ssh refuses it. A call
// with other keepalive settings, which decide nothing about the connection, shares it.
func TestPolicyDecidesSharing(t *testing.T) {
	r := newRig(t)
	empty := filepath.Join(t.TempDir(), "empty_known_hosts")
	writeFile(t, empty, "")
	// The first call knows the host from a global file only.
	first := []string{"-o", "UserKnownHostsFile=/dev/null", "-o", "GlobalKnownHostsFile=" + r.srv.KnownHosts, "-o", "StrictHostKeyChecking=yes"}
	r.must(r.fakessh(nil, append(first, "target", "true")...))
	// The second differs in the global file alone, and that one does not know the host.
	second := []string{"-o", "UserKnownHostsFile=/dev/null", "-o", "GlobalKnownHostsFile=" + empty, "-o", "StrictHostKeyChecking=yes"}
	sameAsSSH(t, "other global known_hosts", r.fakessh(nil, append(second, "target", "echo ran")...), r.realSSH(second, "echo ran"))
	r.must(r.fakessh(nil, append(first, "-o", "ServerAliveInterval=7", "target", "true")...))
	if n := r.srv.Logins(); n != 1 { // ssh and the second call are refused before they log in
		t.Errorf("sshd saw %d logins, want the first call's alone", n)
	}
	if st := r.status(); len(st.Connections) != 1 {
		t.Errorf("status lists %d connections, want the first call's alone", len(st.Connections))
	}
}
