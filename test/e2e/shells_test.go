package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mitogen-go/mitogend/test/sshdtest"
	"github.com/mitogen-go/mitogend/test/testenv"
)

// loginShells are the login shells tested, each with the startup file it reads for sshd's
// "-c" and what it says there: a line printed (before the bootstrap's platform line too) and a
// variable that grows each time the file runs, so that an agent that kept what the file
// exported at bootstrap would show it twice.
var loginShells = []struct {
	shell, rc, text string
}{
	{"dash", "", ""}, // dash reads no file for -c
	{"bash", ".bashrc", "echo bashrc says hi; export MG_RC=\"x$MG_RC\"\n"},
	{"zsh", ".zshenv", "echo zshenv says hi; export MG_RC=\"x$MG_RC\"\n"},
	{"fish", ".config/fish/config.fish", "echo config.fish says hi; set -gx MG_RC \"x$MG_RC\"\n"},
	{"tcsh", ".tcshrc", "echo tcshrc says hi\n" + cshGrow},
	{"bsd-csh", ".cshrc", "echo cshrc says hi\n" + cshGrow}, // Debian's csh package
}

const cshGrow = "if ( $?MG_RC ) then\n\tsetenv MG_RC x$MG_RC\nelse\n\tsetenv MG_RC x\nendif\n"

// shellCases are commands that each shell reads its own way: quotes, $0, the directory, SHELL
// and environment a session starts with, descriptors, exit codes, stdin. An empty command is a
// login shell reading its commands from stdin.
var shellCases = []struct {
	name, command, stdin string
}{
	{"quotes", `echo "it's" 'a "quoted" arg' x\ y`, ""},
	{"$0", `echo $0`, ""},
	{"pwd", `pwd`, ""},
	{"SHELL", `echo "$SHELL"`, ""},
	{"what the rc file exported", `echo "$MG_RC"`, ""},
	{"environment in order", `env | grep -v '^SSH_C'`, ""},
	{"descriptors", `ls /proc/self/fd`, ""},
	{"exit code", `exit 3`, ""},
	{"failing command", `ls /nonexistent`, ""},
	{"stdin through cat", `cat`, "line one\nline 'two' \"three\"\n"},
	{"login shell reading stdin", "", "echo hello from $SHELL\npwd\nexit 5\n"},
}

// TestLoginShells: for an account of each login shell, every case run through fakessh gives
// what the real ssh gives on the same sshd: output, messages and status.
func TestLoginShells(t *testing.T) {
	testenv.NeedRoot(t, "creating accounts with other login shells")
	names := map[string]string{}
	var opts []sshdtest.Option
	for _, sh := range loginShells {
		name, home := addAccount(t, testenv.NeedTool(t, sh.shell))
		if sh.rc != "" {
			prependAsUser(t, name, filepath.Join(home, sh.rc), sh.text)
		}
		names[sh.shell] = name
		opts = append(opts, sshdtest.WithAccount(name, home))
	}
	r := newRig(t, opts...)
	for _, sh := range loginShells {
		name := names[sh.shell]
		r.srv.AuthorizeAccount(name, "/home/"+name)
		t.Run(sh.shell, func(t *testing.T) {
			// An account that has logged in before: fakessh's first call to a fresh target starts
			// the command's login shell beside the agent's, and fish creates its data directory
			// on its first start, racing with itself (README, Limitations).
			r.run(nil, "ssh", append([]string{"-o", "BatchMode=yes", "-l", name}, append(r.srv.SSHArgs(), "true")...)...)
			for _, tc := range shellCases {
				var cmd []string
				if tc.command != "" {
					cmd = []string{tc.command}
				}
				// The same -F as ssh's: without it fakessh also reads /etc/ssh/ssh_config, whose
				// SendEnv LANG the sshd accepts.
				fake := r.fakessh(strings.NewReader(tc.stdin), append(append([]string{"-l", name}, r.srv.SSHArgs()...), cmd...)...)
				sshArgs := append(append([]string{"-o", "BatchMode=yes", "-l", name}, r.srv.SSHArgs()...), cmd...)
				sameAsSSH(t, tc.name, fake, r.run(strings.NewReader(tc.stdin), "ssh", sshArgs...))
			}
		})
	}
}

// addAccount creates an account whose login shell is shell, with a home made from /etc/skel and
// a password field sshd does not take for locked, and removes both with the test.
func addAccount(t *testing.T, shell string) (name, home string) {
	t.Helper()
	b := make([]byte, 3)
	rand.Read(b)
	name = "mgsh" + hex.EncodeToString(b)
	home = "/home/" + name
	if out, err := exec.Command("useradd", "-m", "-d", home, "-s", shell, "-p", "*", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v: %s", err, out)
	}
	t.Cleanup(func() {
		// -f: the account's agent may still be on its way out after the daemon stopped.
		if out, err := exec.Command("userdel", "-r", "-f", name).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v: %s", name, err, out)
		}
	})
	return name, home
}

// prependAsUser puts text at the start of the account's file at path (what /etc/skel put there
// follows), creating it and its directories owned by the account.
func prependAsUser(t *testing.T, name, path, text string) {
	t.Helper()
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	old, _ := os.ReadFile(path)
	for dir := filepath.Dir(path); dir != u.HomeDir; dir = filepath.Dir(dir) {
		defer os.Chown(dir, uid, gid) // after MkdirAll, innermost first
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append([]byte(text), old...), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, uid, gid); err != nil {
		t.Fatal(err)
	}
}
