package sshdtest

import (
	"crypto/rand"
	"encoding/hex"
	"os/exec"
	"strings"
	"testing"

	"github.com/mitogen-go/mitogend/test/testenv"
)

// User is a local account made for one test, with a known password.
type User struct {
	Name     string
	Password string
}

// AddUser creates a local account with a fresh name, a home directory, /bin/sh and the given
// password (useradd, chpasswd), and removes it with its home (userdel -r -f) when the test
// ends, whether it passed or not. It needs root: the test is skipped otherwise (it fails under
// testenv's require switch), and so it is when useradd is missing.
func AddUser(t testing.TB, password string) User {
	t.Helper()
	testenv.NeedRoot(t, "sshdtest: creating a local account")
	useradd := testenv.NeedTool(t, "useradd")
	chpasswd := testenv.NeedTool(t, "chpasswd")
	userdel := testenv.NeedTool(t, "userdel")
	suffix := make([]byte, 4)
	rand.Read(suffix)
	u := User{Name: "mgpw" + hex.EncodeToString(suffix), Password: password}
	if out, err := exec.Command(useradd, "-m", "-s", "/bin/sh", u.Name).CombinedOutput(); err != nil {
		t.Fatalf("sshdtest: useradd %s: %v: %s", u.Name, err, out)
	}
	t.Cleanup(func() {
		// -f: the daemon's agent for this account may still be on its way out.
		if out, err := exec.Command(userdel, "-r", "-f", u.Name).CombinedOutput(); err != nil {
			t.Errorf("sshdtest: userdel %s: %v: %s", u.Name, err, out)
		}
	})
	cmd := exec.Command(chpasswd)
	cmd.Stdin = strings.NewReader(u.Name + ":" + password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sshdtest: chpasswd %s: %v: %s", u.Name, err, out)
	}
	return u
}

// Login says how sshd lets a password User in (WithPasswordLogin).
type Login struct {
	Password       bool // PasswordAuthentication yes
	KbdInteractive bool // KbdInteractiveAuthentication yes
	// PAM turns UsePAM on for the whole server: without it sshd 9.2 on Linux has no
	// keyboard-interactive device, offers the method and fails it without a question.
	// With it, passwords are checked by PAM too, and each failure costs pam_unix's delay.
	PAM bool
}

// WithPasswordLogin lets user log in as l says, checked against /etc/shadow (or PAM). sshd
// refuses the user's public keys (AuthorizedKeysFile none), so a client holding Server's
// ClientKey is refused it and goes on to the password methods, as a password-only host
// makes it. Other accounts log in by key as usual.
func WithPasswordLogin(user string, l Login) Option {
	yesNo := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	var b strings.Builder
	if l.PAM {
		b.WriteString("UsePAM yes\n")
	}
	b.WriteString("Match User " + user + "\n")
	b.WriteString("    AuthorizedKeysFile none\n")
	b.WriteString("    PasswordAuthentication " + yesNo(l.Password) + "\n")
	b.WriteString("    KbdInteractiveAuthentication " + yesNo(l.KbdInteractive) + "\n")
	return WithExtraConfig(b.String())
}
