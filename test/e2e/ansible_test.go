package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/mitogen-go/mitogend/test/sshdtest"
	"github.com/mitogen-go/mitogend/test/testenv"
)

// Debian's ansible (ansible-core 2.14, ansible.posix 1.5.4) against the real sshd and sudo, with
// `mitogend shim` first on PATH: every ssh, sftp and scp Ansible runs, and synchronize's rsync
// -e ssh, ride the daemon's one connection.

// ansibleRig is a rig with an Ansible project directory: ansible.cfg, an inventory and the shim.
type ansibleRig struct {
	*rig
	dir  string // the project: ansible.cfg, inventory, playbooks
	shim string // mitogend shim's directory, first on PATH
}

// newAnsibleRig writes the project for r with inventory lines (INI) under [targets].
func newAnsibleRig(t *testing.T, r *rig, inventory string) *ansibleRig {
	t.Helper()
	testenv.NeedTool(t, "ansible-playbook")
	testenv.NeedTool(t, "rsync")
	a := &ansibleRig{rig: r, dir: t.TempDir(), shim: filepath.Join(t.TempDir(), "shim")}
	r.must(r.run(nil, filepath.Join(binDir, "mitogend"), "shim", "--dir", a.shim))
	// The defaults a new user has, but for host keys (the harness's are fresh each run) and
	// facts (slow, and unused here).
	writeFile(t, filepath.Join(a.dir, "ansible.cfg"), "[defaults]\ninventory = inventory\nhost_key_checking = False\n"+
		"gathering = explicit\ninterpreter_python = /usr/bin/python3\nforks = 2\nretry_files_enabled = False\n"+
		"[ssh_connection]\npipelining = True\n")
	writeFile(t, filepath.Join(a.dir, "inventory"), "[targets]\n"+inventory)
	for i, kv := range r.env {
		if strings.HasPrefix(kv, "PATH=") {
			r.env[i] = "PATH=" + a.shim + ":" + strings.TrimPrefix(kv, "PATH=")
		}
	}
	r.env = append(r.env, "ANSIBLE_CONFIG="+filepath.Join(a.dir, "ansible.cfg"), "ANSIBLE_NOCOLOR=1", "ANSIBLE_FORCE_COLOR=0")
	return a
}

// hostLine is an inventory line for srv as the harness's root login.
func hostLine(name string, srv *sshdtest.Server, extra string) string {
	return fmt.Sprintf("%s ansible_host=%s ansible_port=%d ansible_user=%s ansible_ssh_private_key_file=%s %s\n",
		name, srv.Host, srv.Port, srv.User, srv.ClientKey, extra)
}

// play runs playbook (YAML) with ansible-playbook and extra arguments.
func (a *ansibleRig) play(t *testing.T, playbook string, args ...string) result {
	t.Helper()
	return a.playIn(t, a.env, playbook, args...)
}

// playIn runs playbook with ansible-playbook in the environment env.
func (a *ansibleRig) playIn(t *testing.T, env []string, playbook string, args ...string) result {
	t.Helper()
	f := filepath.Join(a.dir, fmt.Sprintf("play%d.yml", len(a.played())))
	writeFile(t, f, playbook)
	return a.runWith(func(c *exec.Cmd) { c.Env, c.Dir = env, a.dir }, "ansible-playbook", append(args, f)...)
}

// envWithoutShim is the rig's environment with the shim taken out of PATH.
func (a *ansibleRig) envWithoutShim() []string {
	env := append([]string(nil), a.env...)
	for i, kv := range env {
		if strings.HasPrefix(kv, "PATH=") {
			env[i] = "PATH=" + strings.TrimPrefix(kv, "PATH="+a.shim+":")
		}
	}
	return env
}

func (a *ansibleRig) played() []string {
	m, _ := filepath.Glob(filepath.Join(a.dir, "play*.yml"))
	return m
}

// mustPlay fails the test unless the play ran with no failed or unreachable host.
func (a *ansibleRig) mustPlay(t *testing.T, playbook string, args ...string) string {
	t.Helper()
	res := a.play(t, playbook, args...)
	if res.code != 0 {
		t.Fatalf("ansible-playbook exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	return res.stdout
}

// TestAnsiblePlaybook: one play of commands, become, sftp transfers both ways, pipelining on
// and off (-tt, the module uploaded), synchronize push, pull, rsync_opts, link_dest, paths with
// spaces and become, then the same through ansible_ssh_executable: one sshd login for all of
// it, one sudo per become context, and files where Ansible put them, owned by whom it says.
func TestAnsiblePlaybook(t *testing.T) {
	r := newRig(t)
	svc, svcHome := testUser(t, "/bin/sh")
	sudos := sudoLogPath(t, svc)
	a := newAnsibleRig(t, r, hostLine("target", r.srv, "")+
		"down ansible_host=127.0.0.1 ansible_port="+strconv.Itoa(sshdtest.FreePort(t))+" ansible_user=root\n")
	base := t.TempDir()
	src, remote, back := filepath.Join(base, "src dir"), filepath.Join(base, "remote"), filepath.Join(base, "back dir")
	callersTree(t, src)
	writeFile(t, filepath.Join(src, "skip-me"), "excluded by rsync_opts\n")
	os.MkdirAll(remote, 0o755)
	vars := fmt.Sprintf("    src: %q\n    remote: %q\n    back: %q\n    svc: %s\n    svc_home: %s\n", src, remote, back, svc, svcHome)
	out := a.mustPlay(t, `
- hosts: target
  vars:
`+vars+`
  tasks:
    - command: id -un
      register: plain
    - command: id -un
      become: true
      become_user: "{{ svc }}"
      register: become1
    - shell: id -un; pwd
      become: true
      become_user: "{{ svc }}"
      register: become2
    - copy: {content: "put by sftp\n", dest: "{{ remote }}/copied"}
    - fetch: {src: "{{ remote }}/copied", dest: "{{ back }}/fetched", flat: true}
    - copy: {content: "as svc\n", dest: "{{ svc_home }}/copied-as-svc"}
      become: true
      become_user: "{{ svc }}"
    - name: push, with spaces and rsync_opts
      ansible.posix.synchronize: {src: "{{ src }}/", dest: "{{ remote }}/push tree/", rsync_opts: ["--exclude=skip-me"]}
    - name: push without spaces (synchronize does not quote link_dest)
      ansible.posix.synchronize: {src: "{{ src }}/", dest: "{{ remote }}/plain/", rsync_opts: ["--exclude=skip-me"]}
    - name: link_dest
      ansible.posix.synchronize: {src: "{{ src }}/", dest: "{{ remote }}/linked/", link_dest: ["{{ remote }}/plain"], rsync_opts: ["--exclude=skip-me"]}
    - name: pull
      ansible.posix.synchronize: {mode: pull, src: "{{ remote }}/push tree/", dest: "{{ back }}/pulled/"}
    - name: under become, twice
      ansible.posix.synchronize: {src: "{{ src }}/", dest: "{{ svc_home }}/synced/", rsync_opts: ["--exclude=skip-me"]}
      become: true
      become_user: "{{ svc }}"
    - ansible.posix.synchronize: {src: "{{ src }}/", dest: "{{ svc_home }}/synced-again/", rsync_opts: ["--exclude=skip-me"]}
      become: true
      become_user: "{{ svc }}"
    - name: rsync_path naming sudo, without become
      ansible.posix.synchronize: {src: "{{ src }}/", dest: "{{ svc_home }}/by-rsync-path/", rsync_opts: ["--exclude=skip-me"], rsync_path: "sudo -u {{ svc }} rsync"}
    - debug: {msg: "plain={{ plain.stdout }} become={{ become1.stdout }} {{ become2.stdout_lines | join(',') }}"}

- hosts: target
  vars:
    ansible_pipelining: false
`+vars+`
  tasks:
    - command: id -un
      become: true
      become_user: "{{ svc }}"
      register: tt
    - debug: {msg: "unpipelined={{ tt.stdout }}"}
`)
	for _, want := range []string{"plain=root become=" + svc + " " + svc + "," + svcHome, "unpipelined=" + svc} {
		if !strings.Contains(out, want) {
			t.Errorf("play output lacks %q:\n%s", want, out)
		}
	}
	if b, err := os.ReadFile(filepath.Join(back, "fetched")); err != nil || string(b) != "put by sftp\n" {
		t.Errorf("fetched: %q %v", b, err)
	}
	for _, f := range []string{filepath.Join(svcHome, "copied-as-svc"), filepath.Join(svcHome, "synced", "sub", "a"), filepath.Join(svcHome, "by-rsync-path", "sub", "a")} {
		if owner := fileOwner(t, f); owner != svc {
			t.Errorf("%s belongs to %s, want %s", f, owner, svc)
		}
	}
	os.Remove(filepath.Join(src, "skip-me"))
	for _, d := range []string{filepath.Join(remote, "push tree"), filepath.Join(remote, "plain"), filepath.Join(remote, "linked"), filepath.Join(back, "pulled"), filepath.Join(svcHome, "synced"), filepath.Join(svcHome, "synced-again"), filepath.Join(svcHome, "by-rsync-path")} {
		sameTree(t, src, d)
	}
	if !sameInode(t, filepath.Join(remote, "plain", "big"), filepath.Join(remote, "linked", "big")) {
		t.Error("link_dest: linked/big is not a hard link to plain/big")
	}

	// Without the shim on PATH, ansible.cfg's way (README): ansible_ssh_executable naming
	// fakessh, and the shim's sftp and scp named too, sftp and then scp as the transfer method.
	res := a.playIn(t, a.envWithoutShim(), `
- hosts: target
  vars:
    ansible_ssh_executable: `+filepath.Join(binDir, "fakessh")+`
    ansible_sftp_executable: `+filepath.Join(a.shim, "sftp")+`
    ansible_scp_executable: `+filepath.Join(a.shim, "scp")+`
  tasks:
    - command: id -un
      become: true
      become_user: `+svc+`
    - copy: {content: "put by sftp\n", dest: "`+remote+`/by-sftp"}
    - copy: {content: "put by scp\n", dest: "`+remote+`/by-scp"}
      vars: {ansible_ssh_transfer_method: scp}
`)
	if res.code != 0 {
		t.Fatalf("ansible_ssh_executable: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	for name, want := range map[string]string{"by-sftp": "put by sftp\n", "by-scp": "put by scp\n"} {
		if b, _ := os.ReadFile(filepath.Join(remote, name)); string(b) != want {
			t.Errorf("%s: %q, want %q", name, b, want)
		}
	}

	// An unreachable host reads as UNREACHABLE, as under OpenSSH.
	res = a.play(t, "- hosts: down\n  tasks:\n    - command: \"true\"\n")
	if res.code != 4 || !strings.Contains(res.stdout, "UNREACHABLE!") || !strings.Contains(res.stdout, "Connection refused") {
		t.Errorf("unreachable host: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}

	if n := r.srv.Logins(); n != 1 {
		t.Errorf("%d sshd logins for the whole run, want 1", n)
	}
	// Ansible's become (sudo -H -u svc) and synchronize's (--rsync-path='sudo -u svc rsync')
	// share one context for the account, started by one sudo for the whole run.
	ctxs := r.status().Connections[0].Contexts
	if len(ctxs) != 1 || ctxs[0].Name != "sudo -u "+svc {
		t.Errorf("contexts %+v, want sudo -u %s alone", ctxs, svc)
	}
	if n := len(sudoRuns(t, "USER="+svc+" ;", sudos)); n != 1 {
		t.Errorf("sudo ran %d times for the whole run, want 1", n)
	}
}

// sameInode reports whether a and b are one file.
func sameInode(t *testing.T, a, b string) bool {
	t.Helper()
	sa, err := os.Stat(a)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := os.Stat(b)
	if err != nil {
		t.Fatal(err)
	}
	return sa.Sys().(*syscall.Stat_t).Ino == sb.Sys().(*syscall.Stat_t).Ino
}

// TestAnsibleBecomePassword: a login that needs its password for sudo, given to Ansible as
// ansible_become_password. None fails the task with Ansible's "Missing sudo password"; a wrong
// one fails it with Ansible's "Incorrect sudo password" and is not tried again; the right one
// starts each account's context once, Ansible seeing its prompt and writing the password on
// stdin the first time (on a pipe, and under -tt on a terminal without pipelining), and
// BECOME-SUCCESS without a prompt every later time.
func TestAnsibleBecomePassword(t *testing.T) {
	r := newSudoRig(t, "LOGIN ALL=(ALL) ALL")
	line := fmt.Sprintf("target ansible_host=%s ansible_port=%d ansible_user=%s ansible_ssh_private_key_file=%s\n",
		r.srv.Host, r.srv.Port, r.login.Name, r.srv.ClientKey)
	a := newAnsibleRig(t, r.rig, line)
	// The login's runs as root and as svc, wherever sudo's precedence puts the latter.
	logs := []string{sudoLogPath(t, r.login.Name), sudoLogPath(t, r.svc)}
	play := `
- hosts: target
  tasks:
    - command: id -un
      become: true
      become_user: ` + r.svc + `
      register: one
    - command: id -un
      become: true
      become_user: ` + r.svc + `
    - command: id -un
      become: true
      register: root
      vars: {ansible_pipelining: false} # the first sudo to root: its prompt under -tt
    - command: id -un
      become: true
      become_user: ` + r.svc + `
      vars: {ansible_pipelining: false}
    - debug: {msg: "as={{ one.stdout }},{{ root.stdout }}"}
`
	res := a.play(t, play)
	if res.code != 2 || !strings.Contains(res.stdout, `"msg": "Missing sudo password"`) {
		t.Fatalf("no password: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	res = a.play(t, play, "-e", "ansible_become_password=wrong")
	if res.code != 2 || !strings.Contains(res.stdout, `"msg": "Incorrect sudo password"`) {
		t.Fatalf("wrong password: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	wrong := sudoRuns(t, " : "+r.login.Name+" : ", logs...)
	if n := strings.Count(strings.Join(wrong, "\n"), "incorrect password attempt"); n != 1 {
		t.Errorf("the wrong password was tried %d times, want once:\n%s", n, strings.Join(wrong, "\n"))
	}
	out := a.mustPlay(t, play, "-e", "ansible_become_password="+testPassword)
	if !strings.Contains(out, "as="+r.svc+",root") {
		t.Errorf("play output:\n%s", out)
	}
	// One sudo that ran a command per account (the rest are sudo's own refusals and checks).
	all := sudoRuns(t, " : "+r.login.Name+" : ", logs...)
	ran := commandsRun(all) - commandsRun(wrong)
	if ctxs := r.status().Connections[0].Contexts; len(ctxs) != 2 || ran != 2 {
		t.Errorf("%d sudo runs for contexts %+v, want one for each of 2:\n%s", ran, ctxs, strings.Join(all, "\n"))
	}
	if n := r.srv.Logins(); n != 1 {
		t.Errorf("%d sshd logins, want 1", n)
	}
}

// commandsRun counts the sudo log entries that ran a command: not sudo's refusals and checks.
func commandsRun(entries []string) int {
	n := 0
	for _, e := range entries {
		if strings.Contains(e, "COMMAND=") && !strings.Contains(e, "password is required") &&
			!strings.Contains(e, "incorrect password") && !strings.Contains(e, "COMMAND=list") {
			n++
		}
	}
	return n
}

// sudoRuns are the entries of the logs sudoLogPath set up that hold what (the user who ran
// sudo, " : alice : ", or the target, "USER=svc ;").
func sudoRuns(t *testing.T, what string, logs ...string) []string {
	t.Helper()
	var out []string
	for _, log := range logs {
		text, err := os.ReadFile(log)
		if err != nil && !os.IsNotExist(err) { // sudo makes the file on its first entry
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(text), "\n") {
			if strings.Contains(l, what) {
				out = append(out, l)
			}
		}
	}
	return out
}

// TestAnsibleBastion: a host behind a jump host (ProxyJump in ansible_ssh_common_args, which
// synchronize passes on with use_ssh_args): one login on the bastion and one on the target for
// the commands, the sftp transfers and synchronize, plain and under become.
func TestAnsibleBastion(t *testing.T) {
	r := newRig(t)
	bastion := sshdtest.Start(t)
	pub, err := os.ReadFile(r.srv.ClientKey + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	bastion.AuthorizeKey(strings.TrimSpace(string(pub)))
	cfg, _ := os.ReadFile(r.srv.SSHConfig)
	writeFile(t, r.srv.SSHConfig, string(cfg)+fmt.Sprintf("Host bastion\n    HostName %s\n    Port %d\n    User %s\n    IdentityFile %s\n    UserKnownHostsFile %s\n",
		bastion.Host, bastion.Port, bastion.User, r.srv.ClientKey, bastion.KnownHosts))
	svc, svcHome := testUser(t, "/bin/sh")
	a := newAnsibleRig(t, r, hostLine("behind", r.srv, `ansible_ssh_common_args="-o ProxyJump=bastion"`))
	src, dst := filepath.Join(t.TempDir(), "src"), t.TempDir()
	callersTree(t, src)
	out := a.mustPlay(t, `
- hosts: behind
  tasks:
    - command: id -un
      become: true
      become_user: `+svc+`
      register: who
    - copy: {content: "through the bastion\n", dest: "`+dst+`/copied"}
    - ansible.posix.synchronize: {src: "`+src+`/", dest: "`+dst+`/synced/", use_ssh_args: true}
    - ansible.posix.synchronize: {src: "`+src+`/", dest: "`+svcHome+`/synced/", use_ssh_args: true}
      become: true
      become_user: `+svc+`
    - debug: {msg: "as={{ who.stdout }}"}
`)
	if !strings.Contains(out, "as="+svc) {
		t.Errorf("play output:\n%s", out)
	}
	sameTree(t, src, filepath.Join(dst, "synced"))
	sameTree(t, src, filepath.Join(svcHome, "synced"))
	if b, _ := os.ReadFile(filepath.Join(dst, "copied")); string(b) != "through the bastion\n" {
		t.Errorf("copied: %q", b)
	}
	if b, t2 := bastion.Logins(), r.srv.Logins(); b != 1 || t2 != 1 {
		t.Errorf("logins: bastion %d, target %d; want 1 each", b, t2)
	}
}

// TestAnsibleNamedChain: a named chain (Via target, Become sudo) as the inventory host: every
// task runs as the chain's user, files copied land as that user's, with one login and one sudo.
func TestAnsibleNamedChain(t *testing.T) {
	r := newRig(t)
	svc, svcHome := testUser(t, "/bin/sh")
	sudos := sudoLogPath(t, svc)
	r.chains(t, "Host svc-chain\n  Via target\n  Become sudo\n  BecomeUser "+svc+"\n")
	a := newAnsibleRig(t, r, "chained ansible_host=svc-chain\n")
	out := a.mustPlay(t, `
- hosts: chained
  tasks:
    - command: id -un
      register: who
    - copy: {content: "by the chain\n", dest: "`+svcHome+`/copied"}
    - command: id -un
    - debug: {msg: "as={{ who.stdout }}"}
`)
	if !strings.Contains(out, "as="+svc) {
		t.Errorf("play output:\n%s", out)
	}
	if owner := fileOwner(t, filepath.Join(svcHome, "copied")); owner != svc {
		t.Errorf("copied belongs to %s, want %s", owner, svc)
	}
	if n, s := r.srv.Logins(), len(sudoRuns(t, "USER="+svc+" ;", sudos)); n != 1 || s != 1 {
		t.Errorf("%d logins and %d sudo runs, want 1 and 1", n, s)
	}
}

// TestAnsibleSynchronizeDelegate: synchronize to one inventory host delegated to another
// (delegate_to): Ansible runs the module on the delegate through the shim, and the delegate's
// rsync reaches the destination with the delegate's own ssh, as under OpenSSH. Here both are
// the one sshd, so that second ssh is the target's /usr/bin/ssh: the run's second login.
func TestAnsibleSynchronizeDelegate(t *testing.T) {
	r := newRig(t)
	a := newAnsibleRig(t, r, hostLine("target", r.srv, "")+hostLine("dest", r.srv, ""))
	src, dst := filepath.Join(t.TempDir(), "src"), filepath.Join(t.TempDir(), "dst")
	callersTree(t, src)
	a.mustPlay(t, `
- hosts: dest
  tasks:
    - ansible.posix.synchronize: {src: "`+src+`/", dest: "`+dst+`/"}
      delegate_to: target
`)
	sameTree(t, src, dst)
	if n := r.srv.Logins(); n != 2 {
		t.Errorf("%d logins, want 2: the delegate's through the daemon, its rsync's own", n)
	}
}
