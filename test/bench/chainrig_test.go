package bench

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mitogen-go/mitogend/test/sshdtest"
)

// sudoersDropIn makes sudo log to the bench's file. It sorts before the e2e tests' drop-in
// (mitogen-test-log), so that when both exist theirs wins (sudo keeps the last logfile) and
// their counts stay right; ours then reads low, which the notes show as sudo 0 on the
// OpenSSH side.
const sudoersDropIn = "/etc/sudoers.d/mitogen-bench-log"

// chainRig is the delegation-chain part of the bench: a bastion sshd in front of the rig's
// sshd, a throwaway account to become, and sudo's log.
type chainRig struct {
	*rig
	bastion *sshdtest.Server
	svc     string // the account `sudo -u` becomes (svc plus a random suffix)
	svcHome string
	sudoLog string
}

// chainMissing says why the chain rows cannot run here, or "" when they can.
func chainMissing() string {
	if os.Geteuid() != 0 {
		return "they need root (a test account and a sudoers drop-in)"
	}
	for _, tool := range []string{"sudo", "useradd", "userdel"} {
		if _, err := exec.LookPath(tool); err != nil {
			return tool + " is not installed"
		}
	}
	return ""
}

// newChainRig adds the account and the sudo log (removed when the bench ends), then the bastion.
func newChainRig(r *rig) *chainRig {
	c := &chainRig{rig: r, sudoLog: filepath.Join(r.dir, "sudo.log")}
	c.addAccount()
	must(r.tb, os.WriteFile(sudoersDropIn, []byte("Defaults logfile=\""+c.sudoLog+"\"\n"), 0o440))
	r.tb.Cleanup(func() { os.Remove(sudoersDropIn) })
	c.bastion = sshdtest.Start(r.tb)
	return c
}

// addAccount makes the account svc, with a home that rsync writes into.
func (c *chainRig) addAccount() { c.svc, c.svcHome = newAccount(c.tb) }

// newAccount makes a throwaway account (svc plus a random suffix) with a home, removed when the
// bench ends.
func newAccount(tb testing.TB) (name, home string) {
	b := make([]byte, 2)
	rand.Read(b)
	name = "svc" + hex.EncodeToString(b)
	if out, err := exec.Command("useradd", "-m", "-s", "/bin/sh", name).CombinedOutput(); err != nil {
		tb.Fatalf("useradd: %v %s", err, out)
	}
	tb.Cleanup(func() { exec.Command("userdel", "-r", "-f", name).Run() })
	out, err := exec.Command("getent", "passwd", name).Output()
	must(tb, err)
	return name, strings.Split(strings.TrimSpace(string(out)), ":")[5]
}

// chainNet is the target behind the bastion as one network sees it: loopback, or a DelayProxy
// in front of each hop (the client's to the bastion, and the bastion's to the target).
type chainNet struct {
	*network        // home, config, socket and the target master's ControlPath
	bcm      string // the bastion master's ControlPath
	masters  tally  // what starting the OpenSSH masters cost
}

// chainNet writes a HOME whose ssh config reaches the bastion on bastionPort and, through it,
// the target on targetPort (both on 127.0.0.1, known by HostKeyAlias whatever the port), and
// starts the OpenSSH masters: the bastion's, then the target's, whose ProxyJump rides the first.
func (c *chainRig) chainNet(name string, bastionPort, targetPort int, rtt time.Duration) *chainNet {
	home := filepath.Join(c.dir, "chain-"+name)
	sshDir := filepath.Join(home, ".ssh")
	must(c.tb, os.MkdirAll(sshDir, 0o700))
	n := &chainNet{
		network: &network{name: "chain-" + name, home: home, config: filepath.Join(sshDir, "config"), rtt: rtt,
			cm: filepath.Join(c.dir, "chain-"+name+".cm"), socket: c.newSocket()},
		bcm: filepath.Join(c.dir, "chain-"+name+".bastion.cm"),
	}
	kh := filepath.Join(sshDir, "known_hosts")
	hostKey := func(s *sshdtest.Server) string { return strings.Join(strings.Fields(s.HostPublicKey)[:2], " ") }
	must(c.tb, os.WriteFile(kh, []byte("bastion "+hostKey(c.bastion)+"\ntarget "+hostKey(c.srv)+"\n"), 0o600))
	cfg := chainHost("bastion", bastionPort, c.bastion, kh, n.bcm, "") +
		chainHost(sshdtest.HostAlias, targetPort, c.srv, kh, n.cm, "    ProxyJump bastion\n")
	must(c.tb, os.WriteFile(n.config, []byte(cfg), 0o600))
	before := c.tally()
	c.startChainMaster(n, "bastion", n.bcm)
	c.startChainMaster(n, sshdtest.HostAlias, n.cm)
	n.masters = c.tally().minus(before)
	return n
}

// chainHost is one Host block: OpenSSH shares a master per host (ControlMaster auto, which the
// bench's calls override with no once the masters run); fakessh ignores those three keys.
func chainHost(alias string, port int, s *sshdtest.Server, kh, cm, extra string) string {
	return fmt.Sprintf("Host %s\n    HostName 127.0.0.1\n    Port %d\n    HostKeyAlias %s\n    User %s\n    IdentityFile %s\n    IdentitiesOnly yes\n    UserKnownHostsFile %s\n    StrictHostKeyChecking yes\n    BatchMode yes\n    ControlMaster auto\n    ControlPath %s\n    ControlPersist yes\n%s",
		alias, port, alias, s.User, s.ClientKey, kh, cm, extra)
}

// startChainMaster starts the OpenSSH master for host at cm, as startMaster does for the
// direct networks, and stops it when the bench ends.
func (c *chainRig) startChainMaster(n *chainNet, host, cm string) {
	logf, err := os.Create(filepath.Join(c.dir, n.name+"."+host+".master.log"))
	must(c.tb, err)
	defer logf.Close()
	cmd := exec.Command("ssh", "-F", n.config, "-o", "ControlMaster=yes", "-o", "ControlPath="+cm,
		"-c", "aes128-gcm@openssh.com", "-f", "-N", host)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Run(); err != nil {
		b, _ := os.ReadFile(logf.Name())
		c.tb.Fatalf("ssh master %s: %v\n%s", host, err, b)
	}
	c.tb.Cleanup(func() {
		exec.Command("ssh", "-F", n.config, "-o", "ControlPath="+cm, "-O", "exit", host).Run()
	})
}

// tally is what one side's calls cost outside the client: logins the bastion's and the
// target's sshd accepted, and sudo runs into the account.
type tally struct{ bastion, target, sudo int }

func (c *chainRig) tally() tally {
	b, _ := os.ReadFile(c.sudoLog)
	return tally{c.bastion.Logins(), c.srv.Logins(), strings.Count(string(b), "USER="+c.svc+" ; COMMAND=")}
}

func (t tally) minus(u tally) tally {
	return tally{t.bastion - u.bastion, t.target - u.target, t.sudo - u.sudo}
}

func (t tally) plus(u tally) tally {
	return tally{t.bastion + u.bastion, t.target + u.target, t.sudo + u.sudo}
}

// counted wraps a contender so that what each run causes adds to t.
func (c *chainRig) counted(t *tally, f func() time.Duration) func() time.Duration {
	return func() time.Duration {
		before := c.tally()
		d := f()
		*t = t.plus(c.tally().minus(before))
		return d
	}
}

// per is t divided over runs: "bastion 0 logins, target 0 logins, sudo 1".
func (t tally) per(runs int) string {
	f := func(n int) string { return strconv.FormatFloat(float64(n)/float64(runs), 'g', 3, 64) }
	return fmt.Sprintf("bastion %s logins, target %s logins, sudo %s", f(t.bastion), f(t.target), f(t.sudo))
}
