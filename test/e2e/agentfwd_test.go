package e2e

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/mitogen-go/mitogend/test/sshdtest"
	"github.com/mitogen-go/mitogend/test/testenv"
)

// Agent forwarding (-A, ForwardAgent) against a real ssh-agent holding a test key that only the
// agent has: what the target sees is compared with what the real ssh -A gives it on the same
// sshd. fakessh forwards the agent to the one call (a private socket for the command's
// lifetime), where sshd forwards it to the connection.

// agentRig is a rig whose client environment has a running ssh-agent with one key loaded; the
// key is authorised on the rig's sshd but exists nowhere else.
type agentRig struct {
	*rig
	sock        string // the agent's socket
	fingerprint string // what ssh-add -l prints for the key
}

func newAgentRig(t *testing.T, opts ...sshdtest.Option) *agentRig {
	t.Helper()
	agent := testenv.NeedTool(t, "ssh-agent")
	add := testenv.NeedTool(t, "ssh-add")
	r := newRig(t, opts...)
	dir := t.TempDir()
	sock := filepath.Join(dir, "agent.sock")
	// Without -D, ssh-agent forks once its socket listens: its exit is the event to wait for.
	out, err := exec.Command(agent, "-s", "-a", sock).Output()
	if err != nil {
		t.Fatalf("ssh-agent: %v", err)
	}
	_, pid, _ := strings.Cut(string(out), "SSH_AGENT_PID=")
	pid, _, _ = strings.Cut(pid, ";")
	n, err := strconv.Atoi(pid)
	if err != nil {
		t.Fatalf("ssh-agent said %q", out)
	}
	t.Cleanup(func() { syscall.Kill(n, syscall.SIGTERM) })
	key := filepath.Join(dir, "agentkey")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "agent-only", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	addCmd := exec.Command(add, key)
	addCmd.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	if out, err := addCmd.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v %s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(key) // from now on the key is in the agent only
	r.srv.AuthorizeKey(string(pub))
	list := exec.Command(add, "-l")
	list.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	fp, err := list.Output()
	if err != nil {
		t.Fatalf("ssh-add -l: %v", err)
	}
	r.env = append(r.env, "SSH_AUTH_SOCK="+sock)
	return &agentRig{rig: r, sock: sock, fingerprint: string(fp)}
}

// sideBySide runs command through fakessh and the real ssh with the same options before the
// rig's -F and destination (or, with args set, instead of them), and requires the same result.
func (r *agentRig) sideBySide(t *testing.T, opts []string, command string) result {
	t.Helper()
	args := append([]string{"-o", "BatchMode=yes"}, opts...)
	if !slices.Contains(opts, "-F") {
		args = append(args, r.srv.SSHArgs()...)
	}
	args = append(args, command)
	fake := r.fakessh(nil, args...)
	real := r.run(nil, "ssh", args...)
	sameAsSSH(t, strings.Join(opts, " ")+" "+command, fake, real)
	return fake
}

// TestAgentForwardingListsKeys: ssh-add -l on the target lists the caller's key with -A, with
// ForwardAgent yes or a socket path, as under ssh -A; without it (or with ForwardAgent=no
// overriding the config file) the target has no SSH_AUTH_SOCK, as under ssh.
func TestAgentForwardingListsKeys(t *testing.T) {
	r := newAgentRig(t)
	r.env = append(r.env, "FWD_AGENT_SOCK="+r.sock) // for ${FWD_AGENT_SOCK} below
	yesConfig := filepath.Join(t.TempDir(), "config")
	base, err := os.ReadFile(r.srv.SSHConfig)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, yesConfig, string(base)+"    ForwardAgent yes\n")
	cfg := func(opts ...string) []string {
		return append(opts, "-F", yesConfig, sshdtest.HostAlias)
	}
	tokenDir := t.TempDir() // %r: the remote user's name, a link to the agent
	if err := os.Symlink(r.sock, filepath.Join(tokenDir, r.srv.User+".sock")); err != nil {
		t.Fatal(err)
	}
	on := [][]string{
		{"-o", "ForwardAgent=" + filepath.Join(tokenDir, "%r.sock")},
		{"-o", "ForwardAgent=$FWD_AGENT_SOCK"},
		{"-t", "-A"},
		{"-tt", "-A"},                   // a pty: fakessh's own stream to the agent, not passed descriptors
		{"-A", "-o", "ForwardAgent=no"}, // -A sets it, and -o's first value counts
		{"-o", "ForwardAgent=no", "-A"},
		{"-A"},
		{"-o", "ForwardAgent=yes"},
		{"-o", "ForwardAgent=" + r.sock},
		{"-o", "ForwardAgent=${FWD_AGENT_SOCK}"},
		cfg(),
	}
	for _, opts := range on {
		t.Run(strings.Join(opts, " "), func(t *testing.T) {
			res := r.sideBySide(t, opts, "ssh-add -l")
			if strings.ReplaceAll(res.stdout, "\r\n", "\n") != r.fingerprint {
				t.Errorf("ssh-add -l on the target: %q, want the caller's %q", res.stdout, r.fingerprint)
			}
		})
	}
	off := [][]string{nil, {"-a"}, {"-A", "-a"}, {"-o", "ForwardAgent=no"}, cfg("-o", "ForwardAgent=no")}
	for _, opts := range off {
		t.Run("off "+strings.Join(opts, " "), func(t *testing.T) {
			res := r.sideBySide(t, opts, "echo ${SSH_AUTH_SOCK-unset}")
			if res.stdout != "unset\n" {
				t.Errorf("SSH_AUTH_SOCK on the target: %q", res.stdout)
			}
		})
	}
	t.Run("socket made as sshd makes it", func(t *testing.T) {
		// The directory's name and the pid in the socket's differ between the two; the shape and
		// the modes must not.
		r.sideBySide(t, []string{"-A"}, `d=$(dirname "$SSH_AUTH_SOCK"); `+
			`echo "$SSH_AUTH_SOCK" | sed 's,^/tmp/ssh-[A-Za-z0-9]*/agent\.[0-9]*$,shape ok,'; `+
			`stat -c '%a %U %F' "$d"; stat -c '%a %U %F' "$SSH_AUTH_SOCK"`)
	})
	t.Run("sudo resets it", func(t *testing.T) {
		// A -A call is never run in a become context: sudo judges the environment, as under ssh.
		testenv.NeedTool(t, "sudo")
		r.sideBySide(t, []string{"-A"}, "sudo -n sh -c 'echo ${SSH_AUTH_SOCK-unset}'")
		r.sideBySide(t, []string{"-A"}, "sudo -n --preserve-env=SSH_AUTH_SOCK ssh-add -l")
	})
	t.Run("IdentityAgent names the agent yes forwards", func(t *testing.T) {
		// ssh.c puts IdentityAgent in its own SSH_AUTH_SOCK, which ForwardAgent yes forwards.
		env := r.env
		defer func() { r.env = env }()
		r.env = append(append([]string(nil), env...), "SSH_AUTH_SOCK="+filepath.Join(t.TempDir(), "none.sock"))
		res := r.sideBySide(t, []string{"-A", "-o", "IdentityAgent=" + r.sock}, "ssh-add -l")
		if res.stdout != r.fingerprint {
			t.Errorf("ssh-add -l on the target: %q, want the caller's %q", res.stdout, r.fingerprint)
		}
		r.env = append(r.env[:len(r.env)-1], "SSH_AUTH_SOCK="+r.sock)
		r.sideBySide(t, []string{"-A", "-o", "IdentityAgent=none"}, "ssh-add -l >/dev/null 2>&1; echo $?")
		r.sideBySide(t, []string{"-A", "-o", "IdentityAgent=none"}, "echo ${SSH_AUTH_SOCK-unset}")
		r.sideBySide(t, []string{"-A", "-o", "IdentityAgent=SSH_AUTH_SOCK"}, "ssh-add -l")
		r.sideBySide(t, []string{"-A", "-o", "IdentityAgent=${FWD_AGENT_SOCK}"}, "ssh-add -l")
		r.sideBySide(t, []string{"-A", "-o", "IdentityAgent=$FWD_AGENT_SOCK"}, "ssh-add -l")
		r.env = append(r.env[:len(r.env)-1], "SSH_AUTH_SOCK=")
		r.sideBySide(t, []string{"-A"}, "echo ${SSH_AUTH_SOCK-unset}")
		r.env = append(r.env[:len(r.env)-1], "SSH_AUTH_SOCK="+filepath.Join(t.TempDir(), "none.sock"))
		r.sideBySide(t, []string{"-A"}, "echo ${SSH_AUTH_SOCK-unset}")
	})
	t.Run("no agent at that path", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "none.sock")
		// ssh-add's own ending races the socket's close under both (a SIGPIPE or "communication
		// with agent failed"), so only the clients' words and the call's going on are compared.
		r.sideBySide(t, []string{"-o", "ForwardAgent=" + missing}, "ssh-add -l >/dev/null 2>&1; echo went on")
		r.sideBySide(t, []string{"-o", "ForwardAgent=" + missing, "-o", "ExitOnForwardFailure=yes"}, "echo ran")
	})
}

// TestAgentForwardingSocketLifetime: the socket and its directory are gone once the command
// ends, and a call running beside a -A call, without -A, neither has SSH_AUTH_SOCK nor, as
// another user, can reach the -A call's socket.
func TestAgentForwardingSocketLifetime(t *testing.T) {
	r := newAgentRig(t)
	path := trim(r.must(r.fakessh(nil, "-A", "target", `echo "$SSH_AUTH_SOCK"`)).stdout)
	if !strings.HasPrefix(path, "/tmp/ssh-") {
		t.Fatalf("SSH_AUTH_SOCK %q", path)
	}
	for _, p := range []string{path, filepath.Dir(path)} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s after the call: %v, want it gone", p, err)
		}
	}

	// A -A call that holds its socket open until told to end.
	cmd := exec.Command(filepath.Join(binDir, "fakessh"), "-A", "target", `echo "$SSH_AUTH_SOCK"; read x; ssh-add -l`)
	cmd.Env = r.env
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	out := bufio.NewReader(stdout)
	line, err := out.ReadString('\n')
	if err != nil {
		t.Fatalf("first call: %v", err)
	}
	held := strings.TrimSpace(line)
	if fi, err := os.Stat(held); err != nil || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("the held call's socket %s: %v", held, err)
	}
	beside := r.must(r.fakessh(nil, "target", "echo ${SSH_AUTH_SOCK-unset}"))
	if beside.stdout != "unset\n" {
		t.Errorf("a call beside it without -A: SSH_AUTH_SOCK %q", beside.stdout)
	}
	if os.Geteuid() == 0 {
		other, _ := testUser(t, "/bin/sh")
		res := r.fakessh(nil, "target", fmt.Sprintf("su -s /bin/sh %s -c 'SSH_AUTH_SOCK=%s ssh-add -l'", other, held))
		if res.code == 0 || !strings.Contains(res.stderr, "Permission denied") {
			t.Errorf("another user reached the held socket: exit %d stdout %q stderr %q", res.code, res.stdout, res.stderr)
		}
	}
	io.WriteString(stdin, "go on\n")
	stdin.Close()
	rest, _ := io.ReadAll(out)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("held call: %v", err)
	}
	if string(rest) != r.fingerprint {
		t.Errorf("held call's ssh-add -l: %q, want %q", rest, r.fingerprint)
	}
	if _, err := os.Lstat(filepath.Dir(held)); !os.IsNotExist(err) {
		t.Errorf("%s after the held call: %v, want it gone", filepath.Dir(held), err)
	}
}

// TestAgentForwardingGitClone: a git clone on the target, over ssh to the same sshd, authenticated
// by the forwarded agent alone (the key is in no file), succeeds with -A and fails without it.
func TestAgentForwardingGitClone(t *testing.T) {
	testenv.NeedTool(t, "git")
	r := newAgentRig(t)
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo.git")
	work := filepath.Join(dir, "work")
	for _, args := range [][]string{
		{"init", "-q", "--bare", repo},
		{"init", "-q", work},
		{"-C", work, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-m", "forwarded"},
		{"-C", work, "push", "-q", repo, "HEAD:refs/heads/main"},
	} {
		if out, err := exec.Command("git", args...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	// The target's ssh: no identity file at all, so only an agent can log it in.
	innerConfig := filepath.Join(dir, "inner_config")
	writeFile(t, innerConfig, fmt.Sprintf("Host inner\n  HostName %s\n  Port %d\n  User %s\n  IdentityFile none\n"+
		"  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n  BatchMode yes\n", r.srv.Host, r.srv.Port, r.srv.User, r.srv.KnownHosts))
	clone := func(dst string) string {
		return fmt.Sprintf("GIT_SSH_COMMAND='ssh -F %s' git clone -q -b main inner:%s %s && git -C %s log --format=%%s",
			innerConfig, repo, dst, dst)
	}
	res := r.must(r.fakessh(nil, "-A", "target", clone(filepath.Join(dir, "clone"))))
	if res.stdout != "forwarded\n" {
		t.Errorf("clone with -A: log %q", res.stdout)
	}
	if res := r.fakessh(nil, "target", clone(filepath.Join(dir, "clone2"))); res.code == 0 || !strings.Contains(res.stderr, "Permission denied (publickey") {
		t.Errorf("clone without -A: exit %d stdout %q stderr %q, want sshd's refusal", res.code, res.stdout, res.stderr)
	}
}

// TestAgentForwardingDespiteSSHDPolicy is an intended difference (README): sshd's
// AllowAgentForwarding no keeps the socket from ssh -A's command, while fakessh's agent makes
// it as the target user, who could run such a relay anyway.
func TestAgentForwardingDespiteSSHDPolicy(t *testing.T) {
	r := newAgentRig(t, sshdtest.WithExtraConfig("AllowAgentForwarding no"))
	real := r.realSSH([]string{"-A"}, "echo ${SSH_AUTH_SOCK-unset}")
	if real.code != 0 || real.stdout != "unset\n" {
		t.Fatalf("ssh -A under AllowAgentForwarding no: exit %d stdout %q stderr %q", real.code, real.stdout, real.stderr)
	}
	fake := r.fakessh(nil, "-A", "target", "ssh-add -l")
	if fake.code != 0 || fake.stdout != r.fingerprint {
		t.Errorf("fakessh -A under AllowAgentForwarding no: exit %d stdout %q stderr %q, want the key listed (README: Intended differences)",
			fake.code, fake.stdout, fake.stderr)
	}
}

// TestAgentForwardingOffAfterChangedKey: when StrictHostKeyChecking=no lets a changed host key
// through, ssh says "Agent forwarding is disabled to avoid man-in-the-middle attacks." and
// forwards nothing; fakessh does the same, on the first call and on one that reuses the
// connection.
func TestAgentForwardingOffAfterChangedKey(t *testing.T) {
	r := newAgentRig(t)
	writeFile(t, r.srv.KnownHosts, fmt.Sprintf("[127.0.0.1]:%d %s\n", r.srv.Port, otherHostKey(t)))
	opts := []string{"-A", "-o", "StrictHostKeyChecking=no"}
	for _, call := range []string{"first call", "call that reuses the connection"} {
		res := r.sideBySide(t, opts, "echo ${SSH_AUTH_SOCK-unset}")
		if res.stdout != "unset\n" || !strings.Contains(res.stderr, "Agent forwarding is disabled") {
			t.Errorf("%s: stdout %q stderr %q", call, res.stdout, res.stderr)
		}
	}
}

// TestAgentForwardingInBecomeContext: in a named chain's become context the context's agent
// makes the socket, as the become user, for the one call; the next call there has none.
func TestAgentForwardingInBecomeContext(t *testing.T) {
	r := newAgentRig(t)
	user, _ := testUser(t, "/bin/sh")
	sudoLogPath(t, user) // root's sudo to user, logged in the test's own file
	r.chains(t, fmt.Sprintf("Host svc\n  Via target\n  Become sudo\n  BecomeUser %s\n", user))
	res := r.must(r.fakessh(nil, "-A", "svc", `id -un; stat -c %U "$(dirname "$SSH_AUTH_SOCK")"; ssh-add -l`))
	if want := user + "\n" + user + "\n" + r.fingerprint; res.stdout != want {
		t.Errorf("-A in the become context: %q, want %q", res.stdout, want)
	}
	if res := r.must(r.fakessh(nil, "svc", "echo ${SSH_AUTH_SOCK-unset}")); res.stdout != "unset\n" {
		t.Errorf("the next call without -A: SSH_AUTH_SOCK %q", res.stdout)
	}
}
