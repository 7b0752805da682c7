package e2e

import (
	"os"
	"strings"
	"testing"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/mitogen-go/mitogend/test/sshdtest"
)

// sudoRig is a rig whose ssh user is an ordinary account (not root, whom sudoers lets do
// anything) with a password and the given sudoers rule, and a second account to become.
type sudoRig struct {
	*rig
	login sshdtest.User
	svc   string
	sudos func() int
}

func newSudoRig(t *testing.T, rule string) *sudoRig {
	t.Helper()
	login := sshdtest.AddUser(t, testPassword)
	svc, _ := testUser(t, "/bin/sh")
	home := "/home/" + login.Name
	r := newRig(t, sshdtest.WithAccount(login.Name, home))
	r.srv.AuthorizeAccount(login.Name, home)
	dropIn := "/etc/sudoers.d/mitogen-test-rule-" + login.Name // the machine's: other worktrees' tests run beside this one
	rule = strings.NewReplacer("LOGIN", login.Name, "SVC", svc).Replace(rule)
	if err := os.WriteFile(dropIn, []byte(rule+"\n"), 0o440); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(dropIn) })
	return &sudoRig{rig: r, login: login, svc: svc, sudos: sudoLog(t, svc)}
}

// TestBecomeRuleForOneCommand: sudoers lets the user run one command as svc without a password
// (NOPASSWD: /usr/bin/id) and nothing else, so a become context (which would run the agent
// through sudo) is refused: the call runs as ssh runs it, and sudo judges the command itself.
// Allowed and refused commands read as under ssh.
func TestBecomeRuleForOneCommand(t *testing.T) {
	r := newSudoRig(t, "LOGIN ALL=(SVC) NOPASSWD: /usr/bin/id")
	for _, cmd := range []string{
		"sudo -u " + r.svc + " /usr/bin/id -un",
		"sudo -u " + r.svc + " /usr/bin/id -un",
		"sudo -n -u " + r.svc + " /bin/cat /etc/hostname",
	} {
		fake := r.fakessh(nil, "-l", r.login.Name, "target", cmd)
		real := r.realSSH([]string{"-l", r.login.Name}, cmd)
		sameAsSSH(t, cmd, fake, real)
	}
	if n := len(r.status().Connections[0].Contexts); n != 0 {
		t.Errorf("%d contexts, want none: sudoers refuses them", n)
	}
}

// TestBecomePasswordTyped: sudoers asks the user's password; fakessh on a terminal relays sudo's
// prompt (echo off), the password typed once starts the context, and later calls ask nothing
// and run no sudo.
func TestBecomePasswordTyped(t *testing.T) {
	r := newSudoRig(t, "LOGIN ALL=(SVC) ALL")
	cmd := "sudo -u " + r.svc + " id -un"
	term := r.ttyStart(t, &pty.Winsize{Rows: 24, Cols: 80}, prog(false), "-l", r.login.Name, "target", cmd)
	prompt := "[sudo] password for " + r.login.Name + ": "
	waitCount(t, term, prompt, 1)
	if tio, err := unixTermios(term); err != nil || tio {
		t.Errorf("echo at the prompt: on=%v (%v)", tio, err)
	}
	term.ptmx.WriteString(testPassword + "\n")
	if code := term.wait(t); code != 0 || !strings.HasSuffix(term.output(), r.svc+"\r\n") {
		t.Fatalf("exit %d, terminal %q", code, term.output())
	}
	before := r.sudos()
	for range 3 {
		if res := r.must(r.fakessh(nil, "-l", r.login.Name, "target", cmd)); res.stdout != r.svc+"\n" || res.stderr != "" {
			t.Errorf("a later call: %+v", res)
		}
	}
	if n := r.sudos() - before; n != 0 {
		t.Errorf("later calls ran sudo %d times", n)
	}
}

// TestBecomeWrongPassword: three wrong passwords end the call with sudo's own words and status,
// and the next call asks again (nothing is retried behind the user's back).
func TestBecomeWrongPassword(t *testing.T) {
	r := newSudoRig(t, "LOGIN ALL=(SVC) ALL")
	cmd := "sudo -u " + r.svc + " id -un"
	term := r.ttyStart(t, &pty.Winsize{Rows: 24, Cols: 80}, prog(false), "-l", r.login.Name, "target", cmd)
	prompt := "[sudo] password for " + r.login.Name + ": "
	for i := 1; i <= 3; i++ {
		waitCount(t, term, prompt, i)
		term.ptmx.WriteString("wrong\n")
	}
	code := term.wait(t)
	out := strings.ReplaceAll(term.output(), "\r", "")
	if code != 1 || strings.Count(out, "Sorry, try again.") != 2 || !strings.Contains(out, "sudo: 3 incorrect password attempts") {
		t.Errorf("exit %d, terminal %q", code, out)
	}
	again := r.ttyStart(t, &pty.Winsize{Rows: 24, Cols: 80}, prog(false), "-l", r.login.Name, "target", cmd)
	waitCount(t, again, prompt, 1)
	again.ptmx.WriteString(testPassword + "\n")
	if code := again.wait(t); code != 0 {
		t.Errorf("the next call: exit %d, %q", code, again.output())
	}
}

// unixTermios reports whether the terminal echoes.
func unixTermios(tt *ttyTerm) (bool, error) {
	tio, err := unix.IoctlGetTermios(int(tt.tty.Fd()), unix.TCGETS)
	if err != nil {
		return false, err
	}
	return tio.Lflag&unix.ECHO != 0, nil
}
