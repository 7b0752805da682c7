package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mitogen-go/mitogend/test/testenv"
)

// testUser makes a throwaway account with a home and the given login shell, removed when the
// test ends.
func testUser(t *testing.T, shell string) (name, home string) {
	t.Helper()
	testenv.NeedRoot(t, "creating test users")
	testenv.NeedTool(t, "useradd")
	b := make([]byte, 3)
	rand.Read(b)
	name = "mg" + hex.EncodeToString(b)
	if out, err := exec.Command("useradd", "-m", "-s", shell, name).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("userdel", "-r", "-f", name).Run() })
	out, err := exec.Command("getent", "passwd", name).Output()
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Split(strings.TrimSpace(string(out)), ":")
	return name, f[5]
}

// fileOwner is the name of the account that owns path.
func fileOwner(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("stat", "-c", "%U", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// sudoLog makes sudo log every invocation as or by user to a file of the test's and returns a
// counter of the invocations so far that ran a command as user.
func sudoLog(t *testing.T, user string) func() int {
	t.Helper()
	log := sudoLogPath(t, user)
	return func() int {
		b, _ := os.ReadFile(log)
		return strings.Count(string(b), "USER="+user+" ; COMMAND=")
	}
}

// sudoLogPath puts sudo's log of every invocation as user (Defaults>user) or by user
// (Defaults:user) in a file of the test's, one entry a line, and returns its path. The drop-in
// is the user's own (removed when the test ends) and the user freshly named, so that tests
// running beside it, in this process or another, neither move the log nor write to it.
func sudoLogPath(t *testing.T, user string) string {
	t.Helper()
	testenv.NeedRoot(t, "a sudoers drop-in")
	testenv.NeedTool(t, "sudo")
	log := filepath.Join(t.TempDir(), "sudo.log")
	dropIn := "/etc/sudoers.d/mitogen-test-log-" + user
	opts := " logfile=\"" + log + "\", loglinelen=0\n"
	if err := os.WriteFile(dropIn, []byte("Defaults>"+user+opts+"Defaults:"+user+opts), 0o440); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(dropIn) })
	return log
}

// chains writes the rig's named-chains file (~/.mitogen/chains in the client HOME).
func (r *rig) chains(t *testing.T, text string) {
	t.Helper()
	writeFile(t, filepath.Join(r.srv.ClientHome, ".mitogen", "chains"), text)
}

// TestChainBecomeSudo: a named chain with Become sudo runs every call as the become user, in one
// context started by one sudo for all of them.
func TestChainBecomeSudo(t *testing.T) {
	r := newRig(t)
	user, home := testUser(t, "/bin/bash")
	sudos := sudoLog(t, user)
	r.chains(t, fmt.Sprintf("Host svc\n  Via target\n  Become sudo\n  BecomeUser %s\n", user))
	for i := range 5 {
		res := r.must(r.fakessh(nil, "svc", fmt.Sprintf("id -un; pwd; touch made-%d", i)))
		if want := user + "\n" + home + "\n"; res.stdout != want {
			t.Fatalf("call %d: %q, want %q", i, res.stdout, want)
		}
	}
	if n := sudos(); n != 1 {
		t.Errorf("sudo ran %d times for 5 calls, want 1", n)
	}
	files, _ := filepath.Glob(filepath.Join(home, "made-*"))
	if len(files) != 5 {
		t.Errorf("%d files made in %s, want 5", len(files), home)
	}
	for _, f := range files {
		if owner := fileOwner(t, f); owner != user {
			t.Errorf("%s belongs to %s, want %s", f, owner, user)
		}
	}
	st := r.status()
	if len(st.Connections) != 1 || len(st.Connections[0].Contexts) != 1 {
		t.Fatalf("status: %+v", st.Connections)
	}
	if c := st.Connections[0].Contexts[0]; c.Name != "sudo -u "+user || c.Parent != st.Connections[0].Context {
		t.Errorf("context %+v", c)
	}
}

// TestChainRefusedAsSSH: when the become method refuses, the call ends as the same method's
// refusal does under ssh: its own words on stderr, its exit status.
func TestChainRefusedAsSSH(t *testing.T) {
	testenv.NeedRoot(t, "become methods as root")
	r := newRig(t)
	r.chains(t, "Host nosudo\n  Via target\n  Become sudo\n  BecomeUser nosuchuser-mg\n"+
		"Host nosu\n  Via target\n  Become su\n  BecomeUser nosuchuser-mg\n")
	for _, tc := range []struct{ alias, command string }{
		{"nosudo", "sudo -u nosuchuser-mg true"},
		{"nosu", "su nosuchuser-mg -c true"},
	} {
		fake := r.fakessh(nil, tc.alias, "true")
		real := r.realSSH(nil, tc.command)
		if fake.code != 1 {
			t.Errorf("%s: exit %d, want the method's 1", tc.alias, fake.code)
		}
		sameAsSSH(t, tc.alias, fake, real)
	}
	st := r.status()
	if len(st.Connections[0].Contexts) != 0 {
		t.Errorf("refused contexts are listed: %+v", st.Connections[0].Contexts)
	}
	// A refused start leaves nothing open in the agent that ran it.
	fds := func() int {
		ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", st.Connections[0].Agent.PID))
		return len(ents)
	}
	before := fds()
	for range 3 {
		r.fakessh(nil, "nosudo", "true")
	}
	if after := fds(); after != before {
		t.Errorf("the agent holds %d descriptors after 3 refused starts, %d before", after, before)
	}
}

// TestChainBecomeSuAndDoas: su and doas contexts run calls as their user.
func TestChainBecomeSuAndDoas(t *testing.T) {
	testenv.NeedTool(t, "doas")
	r := newRig(t)
	user, home := testUser(t, "/bin/bash")
	conf := "/etc/doas.conf"
	if _, err := os.Stat(conf); err == nil {
		t.Fatalf("%s exists: the test would replace it", conf)
	}
	writeFile(t, conf, "permit nopass root as "+user+"\n")
	t.Cleanup(func() { os.Remove(conf) })
	r.chains(t, fmt.Sprintf("Host su-svc\n  Via target\n  Become su\n  BecomeUser %s\nHost doas-svc\n  Via target\n  Become doas\n  BecomeUser %s\n", user, user))
	for _, alias := range []string{"su-svc", "doas-svc"} {
		res := r.must(r.fakessh(nil, alias, "id -un; pwd"))
		if want := user + "\n" + home + "\n"; res.stdout != want {
			t.Errorf("%s: %q, want %q", alias, res.stdout, want)
		}
	}
}

// TestChainNested: a context behind a context behind the SSH context (sudo to root, then su to
// a user): the agents between route it, and status shows the tree.
func TestChainNested(t *testing.T) {
	r := newRig(t)
	user, _ := testUser(t, "/bin/sh")
	r.chains(t, fmt.Sprintf("Host deep\n  Via target\n  Become sudo\n  Become su\n  BecomeUser %s\n", user))
	for range 3 {
		if res := r.must(r.fakessh(nil, "deep", "id -un")); res.stdout != user+"\n" {
			t.Fatalf("%q", res.stdout)
		}
	}
	st := r.status()
	ctxs := st.Connections[0].Contexts
	if len(ctxs) != 2 || ctxs[0].Parent != st.Connections[0].Context || ctxs[1].Parent != ctxs[0].Context {
		t.Errorf("contexts %+v, want sudo behind the SSH context and su behind sudo", ctxs)
	}
}

// TestChainContainer: a container hop, here namespaces made with unshare and entered with
// nsenter: the call runs inside (its own hostname and process table).
func TestChainContainer(t *testing.T) {
	testenv.NeedRoot(t, "namespaces")
	testenv.NeedTool(t, "unshare")
	testenv.NeedTool(t, "nsenter")
	r := newRig(t)
	ctr := exec.Command("unshare", "--uts", "--pid", "--fork", "--mount-proc", "sh", "-c", "hostname mg-ctr; echo up; exec sleep 600")
	out, _ := ctr.StdoutPipe()
	if err := ctr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ctr.Process.Kill(); ctr.Wait() })
	line := make([]byte, 3)
	if _, err := out.Read(line); err != nil || string(line) != "up\n" {
		t.Fatalf("container: %q %v", line, err)
	}
	// unshare forks: the container's first process is its child.
	kids, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", ctr.Process.Pid, ctr.Process.Pid))
	pid := strings.Fields(string(kids))
	if len(pid) != 1 {
		t.Fatalf("container pid: %q", kids)
	}
	r.chains(t, "Host ctr\n  Via target\n  Container nsenter "+pid[0]+"\n")
	res := r.must(r.fakessh(nil, "ctr", "hostname; ps -e -o comm= | sort -u"))
	if !strings.HasPrefix(res.stdout, "mg-ctr\n") || strings.Contains(res.stdout, "sshd") {
		t.Errorf("inside the container: %q (want its hostname, and no sshd in its process table)", res.stdout)
	}
}

// TestContextCap: past 20 contexts on one connection, the least recently used idle one goes.
func TestContextCap(t *testing.T) {
	testenv.NeedRoot(t, "sudo as root")
	r := newRig(t)
	var cfg strings.Builder
	for i := range 21 {
		fmt.Fprintf(&cfg, "Host c%d\n  Via target\n  Become sudo\n  BecomeFlags --preserve-env=MG_CAP_%d\n", i, i)
	}
	r.chains(t, cfg.String())
	for i := range 21 {
		r.must(r.fakessh(nil, fmt.Sprintf("c%d", i), "true"))
	}
	ctxs := r.status().Connections[0].Contexts
	if len(ctxs) != 20 {
		t.Fatalf("%d contexts after 21 distinct ones, want 20", len(ctxs))
	}
	for _, c := range ctxs {
		if strings.HasSuffix(c.Name, "=MG_CAP_0") {
			t.Errorf("the least recently used context is still there: %+v", c)
		}
	}
	if !strings.Contains(r.daemonLog(), "recycled context") {
		t.Error("the daemon did not log the recycling")
	}
}

// TestHostileChildContext: a context started through an agent (sudo to an account the attacker
// controls, or a container's root) that attacks: forged answers, exec, spawn and route
// requests to its parent agent and every other context. Its parent refuses it everything, its
// siblings cannot be reached, and every other call runs byte-exact where it was sent.
func TestHostileChildContext(t *testing.T) {
	r := newRig(t)
	r.env = append(r.env, "MITOGEN_AGENT_DIR="+hostileAgentDir(t), hostileOnPath)
	evil, evilHome := testUser(t, "/bin/sh")
	good, goodHome := testUser(t, "/bin/sh")
	writeFile(t, filepath.Join(evilHome, ".mitogen-hostile"), "forge")
	exec.Command("chown", evil, filepath.Join(evilHome, ".mitogen-hostile")).Run()
	r.chains(t, fmt.Sprintf("Host evil\n  Via target\n  Become sudo\n  BecomeUser %s\nHost good\n  Via target\n  Become sudo\n  BecomeUser %s\n", evil, good))
	os.Remove("/tmp/pwned-by-hostile-spawn")
	r.must(r.fakessh(nil, "good", "true"))
	r.must(r.fakessh(nil, "evil", "true")) // the attacker's context starts its sweep
	r.waitLog("refused a service to context")
	payload := strings.Repeat("x", 1<<20)
	for i := range 4 {
		for alias, who := range map[string]string{"good": good, "target": "root"} {
			res := r.must(r.fakessh(strings.NewReader(payload), alias, "id -un; wc -c"))
			if want := fmt.Sprintf("%s\n%d\n", who, len(payload)); res.stdout != want {
				t.Fatalf("call %d to %s gave %q, want %q", i, alias, res.stdout, want)
			}
		}
	}
	for _, dir := range []string{goodHome, evilHome, r.srv.Home} {
		if _, err := os.Stat(filepath.Join(dir, "pwned-by-hostile")); err == nil {
			t.Errorf("the attacker ran a command in %s", dir)
		}
	}
	if _, err := os.Stat("/tmp/pwned-by-hostile-spawn"); err == nil {
		t.Error("the attacker spawned a command")
		os.Remove("/tmp/pwned-by-hostile-spawn")
	}
	if n := len(r.status().Connections[0].Contexts); n != 2 {
		t.Errorf("%d contexts, want the two started", n)
	}
}

// TestBecomeCommandsAsSSH: a remote command that is a sudo or su command line runs in a become
// context, started once, with what the real tool would give it: the user, the directory, the
// environment, stdin, the exit status and the tool's own messages, side by side with ssh
// running the same command line.
func TestBecomeCommandsAsSSH(t *testing.T) {
	r := newRig(t)
	user, _ := testUser(t, "/bin/bash")
	sudos := sudoLog(t, user)
	env := `env | grep -v -e ^_= -e ^SHLVL= -e ^PWD= -e ^OLDPWD= | sort`
	commands := []string{
		"sudo -u " + user + " sh -c 'id -un; pwd; echo $HOME'",
		"sudo -u " + user + " sh -c '" + env + "'",
		"sudo -H -u " + user + " sh -c 'echo $HOME; exit 3'",
		"sudo -n -u " + user + " -- printenv SUDO_COMMAND USER LOGNAME SHELL PATH",
		"sudo -u " + user + " cat",
		"sudo -u " + user + " no-such-command-mg",
		"sudo sh -c 'id -un'",
		"su " + user + " -c 'id -un; pwd; echo $SHELL $HOME'",
		"su - " + user + " -c 'pwd; " + env + "'",
	}
	fakeSudos := 0
	for _, cmd := range commands {
		t.Run(cmd, func(t *testing.T) {
			before := sudos()
			// The same -F as ssh's (no /etc/ssh/ssh_config, whose SendEnv LANG sshd accepts).
			fake := r.fakessh(strings.NewReader("through stdin\n"), append(r.srv.SSHArgs(), cmd)...)
			fakeSudos += sudos() - before
			real := r.run(strings.NewReader("through stdin\n"), "ssh", append(append([]string{"-o", "BatchMode=yes"}, r.srv.SSHArgs()...), cmd)...)
			sameAsSSH(t, cmd, fake, real)
		})
	}
	// fakessh ran sudo as the user once (the -u user context; the one without -u runs as root),
	// however many calls; -n and -H (which only sets HOME, per command) share it.
	if fakeSudos != 1 {
		t.Errorf("fakessh ran sudo as %s %d times, want 1", user, fakeSudos)
	}
	if n := len(r.status().Connections[0].Contexts); n != 4 {
		t.Errorf("%d contexts, want 4 (sudo -u, sudo, su, su -l)", n)
	}
}

// TestRsyncPathSudo: rsync --rsync-path='sudo -u svc rsync' writes the files as svc, with one
// sudo for every run.
func TestRsyncPathSudo(t *testing.T) {
	testenv.NeedTool(t, "rsync")
	r := newRig(t)
	user, home := testUser(t, "/bin/sh")
	sudos := sudoLog(t, user)
	src := t.TempDir()
	for i := range 3 {
		writeFile(t, filepath.Join(src, "sub", fmt.Sprintf("f%d", i)), strings.Repeat("data", 1000*(i+1)))
		dst := filepath.Join(home, fmt.Sprintf("dst%d", i))
		r.must(r.run(nil, "rsync", "-a", "--rsync-path=sudo -u "+user+" rsync", "-e", filepath.Join(binDir, "fakessh"), src+"/", "target:"+dst+"/"))
		if owner := fileOwner(t, filepath.Join(dst, "sub", "f0")); owner != user {
			t.Errorf("run %d: files belong to %s, want %s", i, owner, user)
		}
		if out, err := exec.Command("diff", "-r", src, dst).CombinedOutput(); err != nil {
			t.Errorf("run %d: trees differ: %s", i, out)
		}
	}
	if n := sudos(); n != 1 {
		t.Errorf("sudo ran %d times for 3 rsync runs, want 1", n)
	}
}

// TestBecomeRequiresTTY: under sudoers' requiretty, sudo refuses a command ssh runs without -t;
// a become context has a terminal, so it runs. This is a difference on purpose (the README
// says so): the call is not worse than ssh's, and -t is not needed.
func TestBecomeRequiresTTY(t *testing.T) {
	testenv.NeedRoot(t, "a sudoers drop-in")
	r := newRig(t)
	user, _ := testUser(t, "/bin/sh")
	// requiretty for sudo as this user only: a global one would refuse every other sudo on the
	// machine run without a terminal meanwhile (other tests', other processes').
	dropIn := "/etc/sudoers.d/mitogen-test-tty-" + user
	if err := os.WriteFile(dropIn, []byte("Defaults>"+user+" requiretty\n"), 0o440); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(dropIn) })
	cmd := "sudo -u " + user + " id -un"
	if real := r.realSSH(nil, cmd); real.code != 1 || !strings.Contains(real.stderr, "you must have a tty") {
		t.Fatalf("ssh without -t under requiretty: %+v (the test expects sudo to refuse it)", real)
	}
	res := r.must(r.fakessh(nil, "-v", "target", cmd))
	if res.stdout != user+"\n" {
		t.Errorf("stdout %q", res.stdout)
	}
	if !strings.Contains(res.stderr, "debug1: mitogend: started context") {
		t.Errorf("-v does not say the context was started: %q", res.stderr)
	}
	again := r.must(r.fakessh(nil, "-v", "target", cmd))
	if !strings.Contains(again.stderr, "debug1: mitogend: reusing context") {
		t.Errorf("-v does not say the context was reused: %q", again.stderr)
	}
	human := r.must(r.run(nil, filepath.Join(binDir, "mitogend"), "status", "--socket", r.socket))
	if !strings.Contains(human.stdout, "└ sudo -u "+user) {
		t.Errorf("status does not show the context under its connection:\n%s", human.stdout)
	}
}

// TestBecomeOptions: fakessh's own -o keys start contexts for one call, in order (here sudo, then
// su to a user inside it), and ssh -G does not list them.
func TestBecomeOptions(t *testing.T) {
	r := newRig(t)
	user, _ := testUser(t, "/bin/sh")
	res := r.must(r.fakessh(nil, "-o", "mitogen.become=sudo", "-o", "mitogen.become=su:"+user, "target", "id -un"))
	if res.stdout != user+"\n" {
		t.Errorf("%q", res.stdout)
	}
	if ctxs := r.status().Connections[0].Contexts; len(ctxs) != 2 || ctxs[1].Parent != ctxs[0].Context {
		t.Errorf("contexts %+v", ctxs)
	}
	with := r.must(r.fakessh(nil, "-G", "-o", "mitogen.become=sudo", "target"))
	without := r.must(r.fakessh(nil, "-G", "target"))
	if with.stdout != without.stdout {
		t.Errorf("-G lists fakessh's own options")
	}
	bad := r.fakessh(nil, "-o", "mitogen.become=pkexec", "target", "true")
	if bad.code != 255 || !strings.Contains(bad.stderr, "mitogen.become") {
		t.Errorf("a bad become option: %+v", bad)
	}
}

// TestBecomeIntoEveryShell: su runs the command with the target account's own login shell, and
// the context's bootstrap must survive each of them; sudo runs it directly. Side by side with
// ssh, for accounts whose shell is each of the shells Debian packages.
func TestBecomeIntoEveryShell(t *testing.T) {
	r := newRig(t)
	for _, shell := range []string{"dash", "bash", "zsh", "fish", "tcsh", "bsd-csh"} {
		path := testenv.NeedTool(t, shell)
		user, _ := testUser(t, path)
		for _, cmd := range []string{
			"su " + user + " -c 'echo $SHELL; id -un; pwd'",
			"sudo -u " + user + " id -un",
		} {
			sameAsSSH(t, shell+": "+cmd, r.fakessh(nil, "target", cmd), r.realSSH(nil, cmd))
		}
	}
}
