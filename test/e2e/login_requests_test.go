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
// against MaxAuthTries), then for the password, without the "none" ssh starts with (sent
// later it would cost a try too); prompts, output and status as ssh's, which learns from
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
	if strings.Join(fake, " ") != "publickey password" {
		t.Errorf("fakessh's login requests, in sshd's log: %q; want one key, then the password", fake)
	}
}

// TestKeyAfterPasswordSideBySide: an account sshd wants a password and then a key for
// (AuthenticationMethods password,publickey) gets in as with ssh: the keys fakessh offered
// before any list were refused unseen, and are offered again once the password is taken.
func TestKeyAfterPasswordSideBySide(t *testing.T) {
	user := sshdtest.AddUser(t, testPassword)
	// The harness key is the second factor, authorised in the account's own file (sshd reads
	// it as the account).
	r := &pwRig{user: user, rig: newRig(t, sshdtest.WithExtraConfig("Match User "+user.Name+
		"\n    PasswordAuthentication yes\n    AuthenticationMethods password,publickey\n    AuthorizedKeysFile .ssh/authorized_keys"))}
	authorizeForAccount(t, user.Name, r.srv.ClientKey+".pub")
	got := map[bool]result{}
	for _, real := range []bool{false, true} {
		got[real] = r.detached(askpassEnv(t, filepath.Join(t.TempDir(), "asked"), testPassword, "force"), real)
	}
	sameAsSSH(t, "password, then a key", got[false], got[true])
	if got[false].code != 0 {
		t.Errorf("fakessh: exit %d, stderr %q", got[false].code, got[false].stderr)
	}
}

// TestNoneLastSideBySide: an account with an empty password, on an sshd with
// PermitEmptyPasswords, which lets it in with "none": in BatchMode, with no key of its
// authorised, fakessh gets in as ssh does, sending "none" once nothing else is left; with a
// prompt, it asks for the (empty) password first.
func TestNoneLastSideBySide(t *testing.T) {
	user := sshdtest.AddUser(t, testPassword)
	if out, err := exec.Command("passwd", "-d", user.Name).CombinedOutput(); err != nil {
		t.Fatalf("passwd -d: %v %s", err, out)
	}
	r := &pwRig{user: user, rig: newRig(t, sshdtest.WithExtraConfig("LogLevel DEBUG1\nPermitEmptyPasswords yes"),
		sshdtest.WithPasswordLogin(user.Name, sshdtest.Login{Password: true}))}
	got := map[bool]result{}
	var fake []string
	for _, real := range []bool{false, true} {
		got[real] = r.detached(nil, real, "-o", "BatchMode=yes")
		if !real {
			fake = loginRequests(r.srv.Log())
		}
	}
	sameAsSSH(t, "empty password, BatchMode", got[false], got[true])
	if got[false].code != 0 || strings.Join(fake, " ") != "publickey none" {
		t.Errorf("fakessh: exit %d, login requests %q; want in, after the key and none", got[false].code, fake)
	}

	// The intended difference (README): where a prompt can be given, fakessh asks for the
	// password (an empty answer lets the account in), where ssh's "none" lets it in unasked.
	r.forget()
	asked := map[bool]string{}
	for _, real := range []bool{false, true} {
		log := filepath.Join(t.TempDir(), "asked")
		got[real] = r.detached(askpassEnv(t, log, "", "force"), real)
		asked[real] = readAsked(t, log)
	}
	sameAsSSH(t, "empty password, askpass", got[false], got[true])
	if strings.Count(asked[false], "\n") != 1 || asked[true] != "" {
		t.Errorf("askpass asked fakessh %q and ssh %q; want once and never (README's intended difference)", asked[false], asked[true])
	}
}

// authorizeForAccount puts the public key file pub in name's ~/.ssh/authorized_keys, owned by
// the account (its home goes with it: sshdtest.AddUser).
func authorizeForAccount(t *testing.T, name, pub string) {
	t.Helper()
	script := `set -e; h=$(getent passwd "$1" | cut -d: -f6); mkdir -p "$h/.ssh"; cp "$2" "$h/.ssh/authorized_keys"; ` +
		`chown -R "$1:" "$h/.ssh"; chmod 700 "$h/.ssh"; chmod 600 "$h/.ssh/authorized_keys"`
	if out, err := exec.Command("sh", "-c", script, "sh", name, pub).CombinedOutput(); err != nil {
		t.Fatalf("authorising a key for %s: %v %s", name, err, out)
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
