package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mitogen-go/mitogend/test/sshdtest"
)

// Logins take two round trips fewer than ssh's after the key exchange: no "none" request, and
// the first key query goes out with the service request
// (third_party/golang.org/x/crypto/PATCHES.md). sshd's log (LogLevel DEBUG1) names each request.

const requestLine = "userauth-request for user "

// TestLoginSendsNoNone: a key login by fakessh asks sshd "none" never and publickey at once;
// ssh's login, on the same sshd, starts with "none" (were it not in the log, the line this test
// reads would have changed).
func TestLoginSendsNoNone(t *testing.T) {
	r := newRig(t, sshdtest.WithExtraConfig("LogLevel DEBUG1"))
	r.must(r.fakessh(nil, "target", "true"))
	fake := loginRequests(r.srv.Log())
	if len(fake) == 0 || fake[0] != "publickey" || strings.Contains(strings.Join(fake, " "), "none") {
		t.Errorf("fakessh's login requests, in sshd's log: %q; want publickey first and no none", fake)
	}
	r.must(r.run(nil, "ssh", append(r.srv.SSHArgs(), "true")...))
	if all := loginRequests(r.srv.Log()); len(all) <= len(fake) || all[len(fake)] != "none" {
		t.Errorf("ssh's login requests, in sshd's log: %q; want none first", all[len(fake):])
	}
}

// TestPasswordHostAsksOneKey: an account sshd takes no key for (PubkeyAuthentication no) is
// asked about one of the three keys fakessh holds, not each (every one a failure counted
// against MaxAuthTries), then "none", which ssh starts with (a server may let an account in
// with it), before the password; prompts, output and status as ssh's, which learns from
// "none" that keys are out and asks about none.
func TestPasswordHostAsksOneKey(t *testing.T) {
	user := sshdtest.AddUser(t, testPassword)
	r := &pwRig{user: user, rig: newRig(t, sshdtest.WithExtraConfig("LogLevel DEBUG1"),
		sshdtest.WithPasswordLogin(user.Name, sshdtest.Login{Password: true}),
		sshdtest.WithExtraConfig("Match User "+user.Name+"\n    PubkeyAuthentication no"))}
	var keys []string
	for _, name := range []string{"k1", "k2"} {
		k := filepath.Join(t.TempDir(), name)
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", k).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v %s", err, out)
		}
		keys = append(keys, "-i", k)
	}
	got := map[bool]result{}
	asked := map[bool]string{}
	var fake []string
	for _, real := range []bool{false, true} {
		log := filepath.Join(t.TempDir(), "asked")
		got[real] = r.detached(askpassEnv(t, log, testPassword, "force"), real, keys...)
		asked[real] = readAsked(t, log)
		if !real {
			fake = loginRequests(r.srv.Log())
		}
	}
	sameAsSSH(t, "password after keys", got[false], got[true])
	if asked[false] != asked[true] {
		t.Errorf("askpass got\nfrom fakessh: %q\nfrom ssh:     %q", asked[false], asked[true])
	}
	if strings.Join(fake, " ") != "publickey none password" {
		t.Errorf("fakessh's login requests, in sshd's log: %q; want one key, then none (as ssh starts with), then the password", fake)
	}
}

// loginRequests are the methods of the userauth requests in sshd's log, in order.
func loginRequests(log string) []string {
	var methods []string
	for _, line := range strings.Split(log, "\n") {
		if _, rest, ok := strings.Cut(line, requestLine); ok {
			if _, m, ok := strings.Cut(rest, " method "); ok {
				methods = append(methods, strings.Fields(m)[0])
			}
		}
	}
	return methods
}
