package e2e

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mitogen-go/mitogend/test/sshdtest"
	"github.com/mitogen-go/mitogend/test/testenv"
)

// The real programs that drive ssh (scp, sftp, git, rsync), run against fakessh as their ssh,
// and fakessh's own command surface (-G, -O, the option policy, the ControlPersist probe).

// callersMtime is a past modification time that scp -p must carry over.
var callersMtime = time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)

// callersTree writes a small tree with a nested directory and fixed mtimes on the files.
func callersTree(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "sub", "deeper"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"big", "sub/a", "sub/deeper/b", "name with space"} {
		p := filepath.Join(dir, name)
		sshdtest.RandomFile(t, p, int64(1+i*300000))
		if err := os.Chtimes(p, callersMtime, callersMtime); err != nil {
			t.Fatal(err)
		}
	}
}

// callersSameMtimes fails unless every regular file under dir has callersMtime.
func callersSameMtimes(t *testing.T, dir string) {
	t.Helper()
	for rel := range digest(t, dir) {
		st, err := os.Stat(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		if !st.ModTime().Equal(callersMtime) {
			t.Errorf("%s: mtime %v after -p, want %v", rel, st.ModTime().UTC(), callersMtime)
		}
	}
}

// callersSCP copies a tree up and back down with scp -r -p through ssh (a program name or path).
func callersSCP(t *testing.T, r *rig, ssh string, extra ...string) {
	t.Helper()
	base := t.TempDir()
	src, remote, back := filepath.Join(base, "src"), filepath.Join(base, "remote"), filepath.Join(base, "back")
	callersTree(t, src)
	args := append([]string{"-S", ssh, "-r", "-p", "-q"}, extra...)
	r.must(r.run(nil, "scp", append(args, src, "target:"+remote)...))
	sameTree(t, src, remote)
	callersSameMtimes(t, remote)
	r.must(r.run(nil, "scp", append(args, "target:"+remote, back)...))
	sameTree(t, src, back)
	callersSameMtimes(t, back)
	// A single file, without -r or -p, to a directory that exists.
	one := append([]string{"-S", ssh}, extra...)
	r.must(r.run(nil, "scp", append(one, filepath.Join(src, "big"), "target:"+remote+"/sub/")...))
	if a, b := sshdtest.SHA256File(t, filepath.Join(src, "big")), sshdtest.SHA256File(t, filepath.Join(remote, "sub", "big")); a != b {
		t.Fatalf("single-file scp: digests differ")
	}
}

func TestCallersSCP(t *testing.T) {
	testenv.NeedTool(t, "scp")
	r := newRig(t)
	fakessh := filepath.Join(binDir, "fakessh")
	for _, c := range []struct {
		name  string
		extra []string
	}{
		{"sftp mode", nil},
		{"legacy -O", []string{"-O"}},
		{"sftp mode with -C and -o", []string{"-C", "-o", "BatchMode=yes"}},
	} {
		t.Run(c.name, func(t *testing.T) { callersSCP(t, r, fakessh, c.extra...) })
	}
	if n := r.srv.Logins(); n != 1 {
		t.Errorf("every scp run shared one tunnel: want 1 sshd login, got %d", n)
	}
}

// callersSFTPBatch puts a file and gets it back with sftp -b.
func callersSFTPBatch(t *testing.T, r *rig, ssh string) {
	t.Helper()
	base := t.TempDir()
	local, remoteDir := filepath.Join(base, "local"), filepath.Join(base, "remote dir")
	sshdtest.RandomFile(t, local, 3<<20)
	batch := filepath.Join(base, "batch")
	script := strings.Join([]string{
		`mkdir "` + remoteDir + `"`,
		`cd "` + remoteDir + `"`,
		`put "` + local + `" up`,
		`rename up moved`,
		`ls -l`,
		`get moved "` + filepath.Join(base, "back") + `"`,
		`pwd`,
	}, "\n") + "\n"
	if err := os.WriteFile(batch, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	res := r.must(r.run(nil, "sftp", "-S", ssh, "-b", batch, "target"))
	if !strings.Contains(res.stdout, "moved") || !strings.Contains(res.stdout, "Remote working directory: "+remoteDir) {
		t.Errorf("sftp output lacks the listing or pwd:\n%s", res.stdout)
	}
	want := sshdtest.SHA256File(t, local)
	for _, p := range []string{filepath.Join(remoteDir, "moved"), filepath.Join(base, "back")} {
		if got := sshdtest.SHA256File(t, p); got != want {
			t.Errorf("%s: sha256 %s, want %s", p, got, want)
		}
	}
}

func TestCallersSFTPBatch(t *testing.T) {
	testenv.NeedTool(t, "sftp")
	r := newRig(t)
	callersSFTPBatch(t, r, filepath.Join(binDir, "fakessh"))
}

// callersNoSFTPServer starts sshd in a private mount namespace where sftp-server is hidden
// (a character device stands in its place), so the agent must serve SFTP itself.
func callersNoSFTPServer(t *testing.T) *rig {
	t.Helper()
	testenv.NeedRoot(t, "hiding sftp-server in a mount namespace")
	if err := exec.Command("unshare", "-m", "mount", "--bind", "/dev/null", sshdtest.DefaultSFTPServer).Run(); err != nil {
		testenv.Skip(t, "cannot bind-mount in a private mount namespace: %v", err)
	}
	wrapper := filepath.Join(t.TempDir(), "sshd-without-sftp-server")
	script := "#!/bin/sh\nexec unshare -m sh -c 'mount --bind /dev/null " + sshdtest.DefaultSFTPServer +
		" && exec " + sshdtest.DefaultSSHD + " \"$@\"' sshd \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	r := newRig(t, sshdtest.WithSSHD(wrapper), sshdtest.WithSFTP(false))
	// The real ssh shows the target as a caller sees it: no sftp-server anywhere.
	out, err := exec.Command("ssh", append(r.srv.SSHArgs(), "test -f "+sshdtest.DefaultSFTPServer+" || echo hidden")...).CombinedOutput()
	if err != nil || trim(string(out)) != "hidden" {
		t.Fatalf("sftp-server still visible on the target: %v %s", err, out)
	}
	return r
}

func TestCallersBuiltinSFTPServer(t *testing.T) {
	testenv.NeedTool(t, "scp")
	testenv.NeedTool(t, "sftp")
	r := callersNoSFTPServer(t)
	fakessh := filepath.Join(binDir, "fakessh")
	t.Run("scp", func(t *testing.T) { callersSCP(t, r, fakessh) })
	t.Run("sftp batch", func(t *testing.T) { callersSFTPBatch(t, r, fakessh) })
	t.Run("relative paths start in the home directory", func(t *testing.T) {
		want := r.must(r.fakessh(nil, "target", "pwd")).stdout
		batch := filepath.Join(t.TempDir(), "batch")
		if err := os.WriteFile(batch, []byte("pwd\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		res := r.must(r.run(nil, "sftp", "-S", fakessh, "-b", batch, "target"))
		if !strings.Contains(res.stdout, "Remote working directory: "+trim(want)) {
			t.Errorf("sftp pwd %q, a session starts in %q", res.stdout, trim(want))
		}
	})
}

// callersBareRepo makes a bare repository holding one commit, for clone and push.
func callersBareRepo(t *testing.T, r *rig) string {
	t.Helper()
	r = callersGitEnv(r, "false")
	base := t.TempDir()
	work, bare := filepath.Join(base, "work"), filepath.Join(base, "repo.git")
	r.must(r.run(nil, "git", "init", "-q", "-b", "main", work))
	if err := os.WriteFile(filepath.Join(work, "README"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r.must(r.run(nil, "git", "-C", work, "add", "README"))
	r.must(r.run(nil, "git", "-C", work, "commit", "-q", "-m", "first"))
	r.must(r.run(nil, "git", "clone", "-q", "--bare", work, bare))
	return bare
}

// callersGitEnv runs git with sshCommand as GIT_SSH_COMMAND and a fixed identity.
func callersGitEnv(r *rig, sshCommand string, extra ...string) *rig {
	c := *r
	c.env = append(append(append([]string(nil), r.env...),
		"GIT_SSH_COMMAND="+sshCommand, "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_NOSYSTEM=1"), extra...)
	return &c
}

// callersGitCloneAndPush clones over ssh, commits, pushes, and checks that the remote saw the
// commit and that protocol v2 was negotiated through SendEnv=GIT_PROTOCOL.
func callersGitCloneAndPush(t *testing.T, r *rig, sshCommand string) (trace string) {
	t.Helper()
	bare := callersBareRepo(t, r)
	base := t.TempDir()
	envFile := filepath.Join(base, "remote-env")
	g := callersGitEnv(r, sshCommand, "GIT_TRACE_PACKET=1", "GIT_TRACE=1")
	clone := filepath.Join(base, "clone")
	// The remote side records its environment before running git-upload-pack.
	res := g.must(g.run(nil, "git", "clone", "-u", "env >'"+envFile+"'; git-upload-pack", "target:"+bare, clone))
	env, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^GIT_PROTOCOL=version=2$`).Match(env) {
		t.Errorf("GIT_PROTOCOL=version=2 did not reach the remote; its environment:\n%s", env)
	}
	if !strings.Contains(res.stderr, "version 2") {
		t.Errorf("git did not speak protocol v2:\n%s", res.stderr)
	}
	if b, err := os.ReadFile(filepath.Join(clone, "README")); err != nil || string(b) != "hello\n" {
		t.Fatalf("clone: README %q, %v", b, err)
	}
	if err := os.WriteFile(filepath.Join(clone, "second"), []byte("pushed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g.must(g.run(nil, "git", "-C", clone, "add", "second"))
	g.must(g.run(nil, "git", "-C", clone, "commit", "-q", "-m", "second"))
	g.must(g.run(nil, "git", "-C", clone, "push", "-q", "origin", "main"))
	local := trim(g.must(g.run(nil, "git", "-C", clone, "rev-parse", "HEAD")).stdout)
	remote := trim(g.must(g.run(nil, "git", "--git-dir", bare, "rev-parse", "main")).stdout)
	if local != remote {
		t.Fatalf("after push the remote main is %s, the clone's HEAD %s", remote, local)
	}
	return res.stderr
}

func TestCallersGit(t *testing.T) {
	testenv.NeedTool(t, "git")
	r := newRig(t)
	t.Run("fakessh", func(t *testing.T) {
		trace := callersGitCloneAndPush(t, r, "fakessh")
		if !strings.Contains(trace, "fakessh -G") {
			t.Errorf("git did not probe fakessh with -G:\n%s", trace)
		}
	})
	t.Run("a program not named ssh answers the -G probe", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Symlink(filepath.Join(binDir, "fakessh"), filepath.Join(dir, "myssh")); err != nil {
			t.Fatal(err)
		}
		trace := callersGitCloneAndPush(t, r, filepath.Join(dir, "myssh"))
		if !strings.Contains(trace, "myssh -G") {
			t.Errorf("git did not probe myssh with -G:\n%s", trace)
		}
		// The probe's exact form (git 2.39): it must exit 0 without connecting.
		logins := r.srv.Logins()
		res := r.must(r.run(nil, filepath.Join(dir, "myssh"), "-G", "-o", "SendEnv=GIT_PROTOCOL", "-p", "2222", "u@h5"))
		if !strings.Contains(res.stdout, "port 2222\n") || !strings.Contains(res.stdout, "user u\n") {
			t.Errorf("-G output lacks port 2222 and user u:\n%s", res.stdout)
		}
		if n := r.srv.Logins(); n != logins {
			t.Errorf("-G logged in (%d logins, was %d)", n, logins)
		}
	})
}

// TestCallersDumpConfig compares -G with OpenSSH's own -G for the same arguments and config
// file, line by line.
func TestCallersDumpConfig(t *testing.T) {
	r := newRig(t)
	cfg := r.srv.SSHConfig
	// ssh expands ~ with the password database's home and ignores $HOME; fakessh honours $HOME.
	// Give both the same one.
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	g := *r
	g.env = append(append([]string(nil), r.env...), "HOME="+u.HomeDir)
	cases := [][]string{
		{"-F", cfg, "target"},
		{"-F", cfg, "-o", "SendEnv=GIT_PROTOCOL", "-p", "2222", "alice@target"},
		{"-F", cfg, "-C", "-q", "-4", "-T", "-o", "BatchMode=yes", "-o", "ConnectTimeout=7", "-o", "ServerAliveInterval=1m", "target"},
		{"-F", cfg, "-vv", "-l", "bob", "-i", cfg, "-o", "ControlMaster=auto", "-o", "ControlPersist=60s", "-o", "ControlPath=/tmp/cm-%r@%h:%p", "target"},
		{"-F", cfg, "-x", "-oPermitLocalCommand=no", "-oClearAllForwardings=yes", "-oRemoteCommand=none", "-oRequestTTY=no", "-oForwardAgent=no", "-s", "--", "target", "sftp"},
		{"-F", cfg, "-L", "8080:localhost:80", "-R", "9090:localhost:22", "-D", "1080", "-o", "StrictHostKeyChecking=accept-new", "other.example"},
		{"-F", "none", "-J", "u@10.0.0.1:23,jump", "-o", "Ciphers=+aes128-cbc", "-tt", "h"},
		{"-F", "none", "-L", "8080::80", "-R", "9090::22", "-L", "[]:5050:[]:50", "h"}, // empty connect hosts
		// Ansible's ssh connection plugin (ansible-core 2.14), its values in double quotes.
		{"-F", cfg, "-C", "-o", "ControlMaster=auto", "-o", "ControlPersist=60s", "-o", "StrictHostKeyChecking=no",
			"-o", "Port=2222", "-o", `IdentityFile="/tmp/key dir/id"`, "-o", "KbdInteractiveAuthentication=no",
			"-o", "PreferredAuthentications=gssapi-with-mic,gssapi-keyex,hostbased,publickey", "-o", "PasswordAuthentication=no",
			"-o", `User="root"`, "-o", "ConnectTimeout=10", "-o", `ControlPath="/root/.ansible/cp/7f3a9c"`, "-tt", "target"},
	}
	for _, args := range cases {
		t.Run(strings.Join(args[2:], " "), func(t *testing.T) {
			want, err := exec.Command("ssh", append([]string{"-G"}, args...)...).Output()
			if err != nil {
				t.Fatalf("ssh -G: %v", err)
			}
			res := g.must(g.fakessh(nil, append([]string{"-G"}, args...)...))
			if res.stdout != string(want) {
				t.Errorf("fakessh -G differs from ssh -G:\n%s", lineDiff(string(want), res.stdout))
			}
		})
	}
	if _, err := os.Stat(r.socket); err == nil {
		t.Errorf("-G started a daemon")
	}
	if n := r.srv.Logins(); n != 0 {
		t.Errorf("-G logged in %d times", n)
	}
}

// lineDiff lists the lines only one side has.
func lineDiff(want, got string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	w, g := in(want), in(got)
	var b strings.Builder
	for _, l := range strings.Split(want, "\n") {
		if !g[l] {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range strings.Split(got, "\n") {
		if !w[l] {
			b.WriteString("+ " + l + "\n")
		}
	}
	if b.Len() == 0 {
		return "(same lines, different order)"
	}
	return b.String()
}

func TestCallersControlPersistProbe(t *testing.T) {
	r := newRig(t)
	want := exec.Command("ssh", "-o", "ControlPersist")
	var stderr strings.Builder
	want.Stderr = &stderr
	err := want.Run()
	ee, ok := err.(*exec.ExitError)
	if !ok {
		t.Fatalf("ssh -o ControlPersist: %v", err)
	}
	// ssh ends the lines it logs on stderr with \r\n; Ansible matches substrings.
	wantErr := strings.ReplaceAll(stderr.String(), "\r\n", "\n")
	for _, prog := range []string{filepath.Join(binDir, "fakessh"), callersSSHDir(t)} {
		res := r.run(nil, prog, "-o", "ControlPersist")
		if res.code != ee.ExitCode() || strings.ReplaceAll(res.stderr, "\r\n", "\n") != wantErr || res.stdout != "" {
			t.Errorf("%s -o ControlPersist: exit %d stderr %q, ssh: exit %d stderr %q",
				prog, res.code, res.stderr, ee.ExitCode(), stderr.String())
		}
	}
}

// callersSSHDir returns the path of a symlink named ssh to fakessh, in a directory of its own.
func callersSSHDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "ssh")
	if err := os.Symlink(filepath.Join(binDir, "fakessh"), p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCallersControlCommands(t *testing.T) {
	r := newRig(t)
	noTunnel := func(step string, res result) {
		t.Helper()
		if res.code != 255 || !strings.HasPrefix(res.stderr, "Control socket connect(") {
			t.Errorf("%s: exit %d stderr %q, want 255 and ssh's control socket message", step, res.code, res.stderr)
		}
	}
	noTunnel("check with no daemon", r.fakessh(nil, "-O", "check", "target"))
	noTunnel("exit with no daemon", r.fakessh(nil, "-O", "exit", "target"))
	if _, err := os.Stat(r.socket); err == nil {
		t.Fatalf("-O started a daemon")
	}
	r.must(r.fakessh(nil, "target", "true"))
	res := r.must(r.fakessh(nil, "-O", "check", "target"))
	if !regexp.MustCompile(`^Master running \(pid=[1-9][0-9]*\)\r\n$`).MatchString(res.stderr) {
		t.Errorf("-O check: stderr %q", res.stderr)
	}
	// Another destination (same sshd, another host key alias in the key) has no tunnel.
	noTunnel("check another destination", r.fakessh(nil, "-O", "check", "-o", "HostKeyAlias=other", "target"))
	res = r.must(r.fakessh(nil, "-O", "exit", "target"))
	if res.stderr != "Exit request sent.\r\n" {
		t.Errorf("-O exit: stderr %q", res.stderr)
	}
	noTunnel("check after exit", r.fakessh(nil, "-O", "check", "target"))
	// The next call connects afresh.
	r.must(r.fakessh(nil, "target", "true"))
	if n := r.srv.Logins(); n != 2 {
		t.Errorf("want 2 sshd logins (before and after -O exit), got %d", n)
	}
	res = r.must(r.fakessh(nil, "-O", "stop", "target"))
	if res.stderr != "Stop listening request sent.\r\n" {
		t.Errorf("-O stop: stderr %q", res.stderr)
	}
	noTunnel("check after stop", r.fakessh(nil, "-O", "check", "target"))
}

// TestCallersOptionPolicy: options that do not apply to a tunnel pass silently; options whose
// behaviour fakessh cannot honour fail with status 255 before connecting.
func TestCallersOptionPolicy(t *testing.T) {
	r := newRig(t)
	refused := [][]string{
		{"-X"},
		{"-Y"},
		{"-o", "ForwardX11=yes"},
		{"-o", "RemoteCommand=echo hi"},
		{"-w", "0"},
		{"-o", "PermitLocalCommand=yes", "-o", "LocalCommand=touch /tmp/x"},
	}
	for _, opts := range refused {
		t.Run("refused "+strings.Join(opts, " "), func(t *testing.T) {
			res := r.fakessh(nil, append(opts, "target", "echo ran")...)
			if res.code != 255 || res.stdout != "" || !strings.HasPrefix(res.stderr, "fakessh: ") || !strings.Contains(res.stderr, "not supported") {
				t.Errorf("exit %d stdout %q stderr %q, want 255 and a fakessh: ... not supported message", res.code, res.stdout, res.stderr)
			}
		})
	}
	if n := r.srv.Logins(); n != 0 {
		t.Errorf("refused options still logged in %d times", n)
	}
	accepted := [][]string{
		{"-x", "-oPermitLocalCommand=no", "-oClearAllForwardings=yes", "-oRemoteCommand=none", "-oRequestTTY=no", "-oForwardAgent=no"},
		{"-oForwardX11 no", "-oPermitLocalCommand no", "-oClearAllForwardings yes", "-obatchmode yes"},
		{"-S", "none", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"},
		{"-C", "-o", "ControlMaster=auto", "-o", "ControlPersist=60s", "-o", "ControlPath=/tmp/cp-%C"},
		{"-M", "-S", "/tmp/ctl", "-o", "ServerAliveCountMax=2", "-o", "ServerAliveInterval=5"},
		{"-c", "aes128-ctr", "-m", "hmac-sha2-256", "-o", "KexAlgorithms=curve25519-sha256", "-o", "Compression=yes"},
		{"-a", "-k", "-y", "-e", "none", "-o", "LogLevel=ERROR", "-o", "ProxyCommand=none", "-o", "LocalCommand=x"},
		{"-E", filepath.Join(t.TempDir(), "log"), "-q"},
	}
	for _, opts := range accepted {
		t.Run("accepted "+strings.Join(opts, " "), func(t *testing.T) {
			res := r.fakessh(nil, append(opts, "target", "echo ran")...)
			// ssh's own warnings (a host key added to /dev/null) may appear, nothing of fakessh's.
			if res.code != 0 || res.stdout != "ran\n" || strings.Contains(res.stderr, "fakessh") {
				t.Errorf("exit %d stdout %q stderr %q, want the command's output", res.code, res.stdout, res.stderr)
			}
		})
	}
}

// TestCallersAsSSHOnPath runs every caller through a directory holding ssh -> fakessh first on
// PATH. The real ssh cannot reach "target" (it reads ~/.ssh/config from the password database,
// not $HOME), so success means fakessh answered.
func TestCallersAsSSHOnPath(t *testing.T) {
	testenv.NeedTool(t, "rsync")
	testenv.NeedTool(t, "scp")
	testenv.NeedTool(t, "git")
	base := newRig(t)
	link := callersSSHDir(t)
	r := *base
	r.env = append(append([]string(nil), base.env...), "PATH="+filepath.Dir(link)+":"+os.Getenv("PATH"))
	rp := &r

	// exec.Command looks programs up in the test's PATH: run the link by its path here; the
	// callers below look ssh up in the PATH of their environment.
	res := rp.must(rp.run(nil, link, "-V"))
	if !strings.Contains(res.stderr, "fakessh") {
		t.Fatalf("ssh on PATH is not fakessh: ssh -V says %q", res.stderr)
	}
	t.Run("ssh", func(t *testing.T) {
		res := rp.must(rp.run(nil, "/bin/sh", "-c", "ssh target echo hi"))
		if res.stdout != "hi\n" {
			t.Errorf("stdout %q", res.stdout)
		}
	})
	t.Run("rsync -e ssh", func(t *testing.T) {
		dir := t.TempDir()
		src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
		callersTree(t, src)
		rp.must(rp.run(nil, "rsync", "-a", "-e", "ssh", src+"/", "target:"+dst+"/"))
		sameTree(t, src, dst)
		callersSameMtimes(t, dst)
	})
	t.Run("scp -S ssh", func(t *testing.T) { callersSCP(t, rp, "ssh") })
	t.Run("scp -S ssh -O", func(t *testing.T) { callersSCP(t, rp, "ssh", "-O") })
	t.Run("sftp -S ssh", func(t *testing.T) { callersSFTPBatch(t, rp, "ssh") })
	t.Run("GIT_SSH_COMMAND=ssh", func(t *testing.T) {
		trace := callersGitCloneAndPush(t, rp, "ssh")
		if strings.Contains(trace, "ssh -G") {
			t.Errorf("git probed a program named ssh with -G:\n%s", trace)
		}
	})
	t.Run("-G", func(t *testing.T) {
		res := rp.must(rp.run(nil, "/bin/sh", "-c", "ssh -G target"))
		if !strings.Contains(res.stdout, "hostname 127.0.0.1\n") {
			t.Errorf("ssh -G through the symlink:\n%s", res.stdout)
		}
	})
	if n := base.srv.Logins(); n != 1 {
		t.Errorf("every caller shared one tunnel: want 1 sshd login, got %d", n)
	}
}

// TestCallersShim: the directory mitogend shim creates, put on PATH the way it says, makes ssh
// fakessh; the undo it prints removes it.
func TestCallersShim(t *testing.T) {
	r := newRig(t)
	dir := filepath.Join(t.TempDir(), "shim bin")
	mitogend := filepath.Join(binDir, "mitogend")
	res := r.must(r.run(nil, mitogend, "shim", "--dir", dir))
	if target, err := os.Readlink(filepath.Join(dir, "ssh")); err != nil || target != filepath.Join(binDir, "fakessh") {
		t.Fatalf("shim link: %q, %v", target, err)
	}
	if !strings.Contains(res.stdout, "export PATH=") || !strings.Contains(res.stdout, "rmdir") {
		t.Errorf("shim output does not say how to use and undo it:\n%s", res.stdout)
	}
	// Run again: it replaces its own link rather than failing.
	r.must(r.run(nil, mitogend, "shim", "--dir", dir))
	printed := res.stdout
	script := `eval "$1"; ssh -V 2>&1; ssh target echo via-shim`
	res = r.must(r.run(nil, "/bin/sh", "-c", script, "sh", printed))
	if !strings.Contains(res.stdout, "fakessh") || !strings.Contains(res.stdout, "via-shim\n") {
		t.Errorf("after eval, ssh is not fakessh:\n%s", res.stdout)
	}
	// It never replaces something that is not its symlink.
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "ssh"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if res := r.run(nil, mitogend, "shim", "--dir", other); res.code == 0 {
		t.Errorf("shim replaced a regular file named ssh")
	}
	// The undo it prints removes the directory.
	undo := regexp.MustCompile(`(?m)^#\s+(rm .*rmdir .*)$`).FindStringSubmatch(printed)
	if undo == nil {
		t.Fatalf("no undo command in:\n%s", printed)
	}
	r.must(r.run(nil, "/bin/sh", "-c", undo[1]))
	if _, err := os.Lstat(dir); err == nil {
		t.Errorf("%s still exists after the undo command %q", dir, undo[1])
	}
}
