package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Ansible rows: Debian's ansible-playbook with `mitogend shim` first on PATH beside OpenSSH
// with Ansible's own defaults (ControlMaster=auto, ControlPersist=60s) and pipelining on, on
// loopback and at 50 ms RTT. Each contender's first run is cold (a fresh daemon; a fresh
// ControlPath directory, so a new master) and its logins and sudo runs are counted; the time is
// the median of all runs, which is a warm one.

const (
	runsAnsible  = 3
	ansibleTasks = 100
	syncFiles    = 2000
)

// ansibleRows: 100 `command: true` tasks, without and with become, and one synchronize of 2,000
// files, per network.
func ansibleRows(r *rig) ([]Row, []string) {
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		return nil, []string{"ansible rows skipped: ansible-playbook is not installed (apt-get install ansible)"}
	}
	becomeUser, sudos := "", func() int { return 0 }
	if chainMissing() == "" { // root, sudo and useradd: an account of the bench's own to become
		becomeUser, _ = newAccount(r.tb)
		sudos = r.sudoCounter(becomeUser)
	}
	proj := filepath.Join(r.dir, "ansible")
	shim := filepath.Join(proj, "shim")
	out, err := exec.Command(filepath.Join(r.bin, "mitogend"), "shim", "--dir", shim, "--fakessh", filepath.Join(r.bin, "fakessh")).CombinedOutput()
	if err != nil {
		r.tb.Fatalf("mitogend shim: %v\n%s", err, out)
	}
	src := filepath.Join(proj, "sync-src")
	buf := make([]byte, 4096)
	for i := range syncFiles {
		p := filepath.Join(src, fmt.Sprintf("d%02d", i/100), fmt.Sprintf("f%04d", i))
		if i%100 == 0 {
			must(r.tb, os.MkdirAll(filepath.Dir(p), 0o755))
		}
		buf[0], buf[1] = byte(i), byte(i>>8)
		must(r.tb, os.WriteFile(p, buf, 0o644))
	}
	dst := filepath.Join(proj, "sync-dst")
	plays := []struct{ name, file string }{
		{fmt.Sprintf("Ansible, %d `command: true` tasks", ansibleTasks), r.playbook(proj, "tasks", ansibleTasks, "")},
		{fmt.Sprintf("Ansible, %d tasks with become (sudo)", ansibleTasks), r.playbook(proj, "become", ansibleTasks, "      become: true\n      become_user: "+becomeUser+"\n")},
		{fmt.Sprintf("Ansible synchronize, %d x 4 KiB files", syncFiles), r.playbook(proj, "sync", 1, "")},
	}
	must(r.tb, os.WriteFile(plays[2].file, []byte(fmt.Sprintf("- hosts: target\n  tasks:\n    - ansible.posix.synchronize: {src: %q, dest: %q}\n", src+"/", dst+"/")), 0o644))
	if becomeUser == "" {
		plays = append(plays[:1], plays[2]) // sudo to another account needs root's login here
	}
	var rows []Row
	for _, n := range []*network{r.direct, r.slow} {
		cfg := r.ansibleConfig(proj, n)
		for _, p := range plays {
			var a, b ansibleCounts
			s := interleave(runsAnsible,
				func() time.Duration { os.RemoveAll(dst); return r.ansibleRun(&a, n, cfg, p.file, shim, sudos) },
				func() time.Duration { os.RemoveAll(dst); return r.ansibleRun(&b, n, cfg, p.file, "", sudos) },
			)
			rows = append(rows, Row{Name: p.name + ", " + n.name, A: "shim (fakessh)", SA: s[0], B: "OpenSSH ControlPersist + pipelining", SB: s[1],
				Extra: fmt.Sprintf("cold run: A %s; B %s. Warm run: A %s; B %s", a.cold, b.cold, a.warm, b.warm)})
		}
	}
	return rows, nil
}

// playbook writes a play of n `command: true` tasks, each with extra lines.
func (r *rig) playbook(dir, name string, n int, extra string) string {
	var b strings.Builder
	b.WriteString("- hosts: target\n  tasks:\n")
	for range n {
		b.WriteString("    - command: \"true\"\n" + extra)
	}
	p := filepath.Join(dir, name+".yml")
	must(r.tb, os.MkdirAll(dir, 0o755))
	must(r.tb, os.WriteFile(p, []byte(b.String()), 0o644))
	return p
}

// ansibleConfig writes an ansible.cfg and inventory reaching the sshd over n.
func (r *rig) ansibleConfig(dir string, n *network) string {
	inv := filepath.Join(dir, "inventory-"+n.name)
	// OpenSSH reads ~/.ssh from the password database, not $HOME: name the network's own
	// known_hosts, so that neither contender writes to the account's.
	must(r.tb, os.WriteFile(inv, []byte(fmt.Sprintf("target ansible_host=127.0.0.1 ansible_port=%d ansible_user=%s ansible_ssh_private_key_file=%s ansible_ssh_common_args='-o UserKnownHostsFile=%s'\n",
		n.port, r.srv.User, r.srv.ClientKey, filepath.Join(n.home, ".ssh", "known_hosts"))), 0o644))
	cfg := filepath.Join(dir, "ansible-"+n.name+".cfg")
	must(r.tb, os.WriteFile(cfg, []byte("[defaults]\ninventory = "+inv+"\nhost_key_checking = False\ngathering = explicit\n"+
		"interpreter_python = /usr/bin/python3\nretry_files_enabled = False\n[ssh_connection]\npipelining = True\n"), 0o644))
	return cfg
}

// ansibleCounts are the logins and sudo runs of a contender's cold run and of a warm one.
type ansibleCounts struct {
	runs       int
	cold, warm string
	cp         string // the OpenSSH contender's ControlPath directory, fresh for the cold run
	sock       string // the shim contender's daemon socket, fresh for the cold run
}

// ansibleRun runs the playbook once, through the shim when shim is set, else through OpenSSH,
// and counts what it cost the target.
func (r *rig) ansibleRun(c *ansibleCounts, n *network, cfg, playbook, shim string, sudos func() int) time.Duration {
	if c.runs == 0 {
		c.sock, c.cp = r.newSocket(), r.tb.TempDir()
	}
	c.runs++
	env := append(os.Environ(), "ANSIBLE_CONFIG="+cfg, "ANSIBLE_SSH_CONTROL_PATH_DIR="+c.cp, "HOME="+n.home)
	if shim != "" {
		env = append(r.env(n, c.sock), "ANSIBLE_CONFIG="+cfg, "PATH="+shim+":"+r.bin+":"+os.Getenv("PATH"))
	}
	cmd := exec.Command("ansible-playbook", playbook)
	cmd.Env, cmd.Dir = env, filepath.Dir(cfg)
	logins, runs := r.srv.Logins(), sudos()
	start := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(start)
	if err != nil {
		r.tb.Fatalf("ansible-playbook %s: %v\n%s", playbook, err, out)
	}
	counts := fmt.Sprintf("logins %d, sudo runs %d", r.srv.Logins()-logins, sudos()-runs)
	if c.runs == 1 {
		c.cold = counts
	} else {
		c.warm = counts
	}
	return d
}

// sudoCounter makes sudo log its invocations as user to a file of the rig's (Defaults>user in
// a drop-in of the account's own, removed when the bench ends: sudo runs of tests beside it
// neither move the log nor count) and counts them. The drop-in also keeps a requiretty that a
// test beside the bench may set for the whole machine off the account.
func (r *rig) sudoCounter(user string) func() int {
	log := filepath.Join(r.dir, "sudo-"+user+".log")
	dropIn := "/etc/sudoers.d/mitogen-bench-log-" + user
	must(r.tb, os.WriteFile(dropIn, []byte("Defaults>"+user+" logfile=\""+log+"\", loglinelen=0, !requiretty\n"), 0o440))
	r.tb.Cleanup(func() { os.Remove(dropIn) })
	return func() int {
		b, _ := os.ReadFile(log)
		return strings.Count(string(b), "USER="+user+" ; COMMAND=")
	}
}
