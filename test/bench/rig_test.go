package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/test/sshdtest"
)

// buildAll builds the binaries as the Makefile does (static, stripped), plus pprofd. The
// sources are this module's, or $BENCH_SRC's (a snapshot, to measure one tree while another is
// being edited).
func buildAll(dir string) error {
	root, err := filepath.Abs("../..")
	if err != nil {
		return err
	}
	if src := os.Getenv("BENCH_SRC"); src != "" {
		root = src
	}
	builds := []struct {
		env []string
		out string
		pkg string
	}{
		{nil, "fakessh", "./cmd/fakessh"},
		{nil, "mitogend", "./cmd/mitogend"},
		{nil, "mitogend-pprof", "./test/bench/pprofd"},
		{[]string{"GOOS=linux", "GOARCH=" + runtime.GOARCH}, "mitogen-agent.linux-" + runtime.GOARCH, "./cmd/mitogen-agent"},
	}
	for _, b := range builds {
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(dir, b.out), b.pkg)
		cmd.Dir = root
		cmd.Env = append(append(os.Environ(), "CGO_ENABLED=0"), b.env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v\n%s", b.pkg, err, out)
		}
	}
	return gzipAgent(filepath.Join(dir, "mitogen-agent.linux-"+runtime.GOARCH))
}

// gzipAgent writes the gzip -9 copy of the agent beside it, as `make agents` does, so that the
// daemon sends what a package ships rather than compressing at its own default level.
func gzipAgent(path string) error {
	out, err := exec.Command("gzip", "-9", "-n", "-c", path).Output()
	if err != nil {
		return fmt.Errorf("gzip %s: %w", path, err)
	}
	return os.WriteFile(path+".gz", out, 0o644)
}

// network is one way to reach the sshd: directly, or through the delay proxy.
type network struct {
	name   string
	port   int
	home   string // HOME for fakessh: .ssh/config defines Host target (and t1..tN)
	config string // the same file, for OpenSSH's -F
	cm     string // ControlPath of this network's OpenSSH master
	socket string // daemon socket for the warm fakessh rows
	rtt    time.Duration
}

// rig is the sshd, the proxy and the two networks.
type rig struct {
	tb     testing.TB
	bin    string
	daemon string // the mitogend binary fakessh starts
	srv    *sshdtest.Server
	proxy  *DelayProxy
	dir    string
	direct *network
	slow   *network
}

// aliases is how many extra Host entries (t1..tN, each its own connection through
// HostKeyAlias) the memory row connects.
const aliases = 20

func newRig(tb testing.TB, bin string) *rig {
	srv := sshdtest.Start(tb)
	proxy, err := NewDelayProxy(srv.Addr, 25*time.Millisecond)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { proxy.Close() })
	r := &rig{tb: tb, bin: bin, daemon: filepath.Join(bin, "mitogend"), srv: srv, proxy: proxy, dir: tb.TempDir()}
	if os.Getenv("BENCH_PPROF") != "" {
		r.daemon = filepath.Join(bin, "mitogend-pprof")
	}
	r.direct = r.network("direct", srv.Port, 0)
	r.slow = r.network("rtt50", proxy.Port(), 50*time.Millisecond)
	return r
}

// network writes a HOME whose ssh config reaches the server on port.
func (r *rig) network(name string, port int, rtt time.Duration) *network {
	home := filepath.Join(r.dir, name)
	sshDir := filepath.Join(home, ".ssh")
	must(r.tb, os.MkdirAll(sshDir, 0o700))
	hostKey := strings.Join(strings.Fields(r.srv.HostPublicKey)[:2], " ")
	kh := filepath.Join(sshDir, "known_hosts")
	var khText, cfg strings.Builder
	fmt.Fprintf(&khText, "[127.0.0.1]:%d %s\n", port, hostKey)
	host := func(alias, extra string) {
		fmt.Fprintf(&cfg, "Host %s\n    HostName 127.0.0.1\n    Port %d\n    User %s\n    IdentityFile %s\n    IdentitiesOnly yes\n    UserKnownHostsFile %s\n    StrictHostKeyChecking yes\n%s",
			alias, port, r.srv.User, r.srv.ClientKey, kh, extra)
	}
	host(sshdtest.HostAlias, "")
	for i := 1; i <= aliases; i++ {
		a := fmt.Sprintf("t%d", i)
		host(a, "    HostKeyAlias "+a+"\n")
		fmt.Fprintf(&khText, "%s %s\n", a, hostKey)
	}
	must(r.tb, os.WriteFile(kh, []byte(khText.String()), 0o600))
	config := filepath.Join(sshDir, "config")
	must(r.tb, os.WriteFile(config, []byte(cfg.String()), 0o600))
	n := &network{name: name, port: port, home: home, config: config, rtt: rtt,
		cm: filepath.Join(r.dir, name+".cm"), socket: r.newSocket()}
	r.startMaster(n)
	return n
}

// newSocket is a daemon socket path in a fresh directory (the daemon's log goes beside it).
func (r *rig) newSocket() string {
	d, err := os.MkdirTemp("", "mgb-")
	must(r.tb, err)
	sock := filepath.Join(d, "d.sock")
	r.tb.Cleanup(func() {
		r.stopDaemon(sock)
		os.RemoveAll(d)
	})
	return sock
}

func (r *rig) stopDaemon(sock string) {
	exec.Command(filepath.Join(r.bin, "mitogend"), "stop", "--socket", sock).Run()
}

// startMaster starts an OpenSSH ControlMaster for n, with the cipher x/crypto/ssh picks.
func (r *rig) startMaster(n *network) {
	// -f forks after login; its output goes to a file so that no pipe keeps Run waiting.
	logf, err := os.Create(filepath.Join(r.dir, n.name+".master.log"))
	must(r.tb, err)
	defer logf.Close()
	cmd := exec.Command("ssh", "-F", n.config, "-o", "ControlMaster=yes", "-o", "ControlPath="+n.cm,
		"-o", "ControlPersist=yes", "-c", "aes128-gcm@openssh.com", "-f", "-N", sshdtest.HostAlias)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Run(); err != nil {
		b, _ := os.ReadFile(logf.Name())
		r.tb.Fatalf("ssh master: %v\n%s", err, b)
	}
	r.tb.Cleanup(func() {
		exec.Command("ssh", "-F", n.config, "-o", "ControlPath="+n.cm, "-O", "exit", sshdtest.HostAlias).Run()
	})
}

// fakessh is a fakessh command on network n with the daemon at sock.
func (r *rig) fakessh(n *network, sock string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(r.bin, "fakessh"), args...)
	cmd.Env = r.env(n, sock)
	return cmd
}

func (r *rig) env(n *network, sock string) []string {
	env := []string{"MITOGEN_SOCKET=" + sock, "MITOGEND=" + r.daemon, "PATH=" + r.bin + ":" + os.Getenv("PATH")}
	for _, kv := range r.srv.Env() {
		if !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	if p := os.Getenv("BENCH_PPROF"); p != "" {
		env = append(env, "MITOGEN_CPUPROFILE="+filepath.Join(p, "mitogend"))
	}
	return append(env, "HOME="+n.home)
}

// ssh is an OpenSSH command on network n, through its master when cm is set.
func (r *rig) ssh(n *network, cm bool, args ...string) *exec.Cmd {
	a := []string{"-F", n.config}
	if cm {
		a = append(a, "-o", "ControlPath="+n.cm, "-o", "ControlMaster=no")
	}
	return exec.Command("ssh", append(a, args...)...)
}

// sshE is the rsync -e command for OpenSSH through n's master.
func (r *rig) sshE(n *network) string {
	return fmt.Sprintf("ssh -F %s -o ControlPath=%s -o ControlMaster=no", n.config, n.cm)
}

// timed runs cmd and returns its wall time; it fails the benchmark unless cmd exits 0.
func (r *rig) timed(cmd *exec.Cmd) time.Duration {
	var errb bytes.Buffer
	if cmd.Stderr == nil {
		cmd.Stderr = &errb
	}
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		r.tb.Fatalf("%v: %v\n%s", cmd.Args, err, errb.String())
	}
	return d
}

// interleave runs the contenders in turn, A B A B ..., n times each.
func interleave(n int, fns ...func() time.Duration) []Samples {
	out := make([]Samples, len(fns))
	for range n {
		for i, f := range fns {
			out[i] = append(out[i], f())
		}
	}
	return out
}

// status asks the daemon at sock for its status.
func (r *rig) status(sock string) proto.Status {
	out, err := exec.Command(filepath.Join(r.bin, "mitogend"), "status", "--json", "--socket", sock).Output()
	must(r.tb, err)
	var st proto.Status
	must(r.tb, json.Unmarshal(out, &st))
	return st
}

// rssKiB is a process's resident set from /proc.
func rssKiB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

// cpuTime is a live process's user+system time from /proc/PID/stat.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
}

// machineCPU is the CPU time the whole machine has spent busy (/proc/stat: user, nice, system,
// irq, softirq): what every process used, those no parent collects included. It counts other
// tenants too, so a row reads it only across its own runs.
func machineCPU() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7} {
		if i < len(f) {
			v, _ := strconv.ParseInt(f[i], 10, 64)
			ticks += v
		}
	}
	return time.Duration(ticks) * time.Second / 100
}

// childCPU is the user+system time of a finished command.
func childCPU(cmd *exec.Cmd) time.Duration {
	if cmd.ProcessState == nil {
		return 0
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// masterPID is the OpenSSH ControlMaster's pid for n.
func (r *rig) masterPID(n *network) int {
	out, _ := exec.Command("ssh", "-F", n.config, "-o", "ControlPath="+n.cm, "-O", "check", sshdtest.HostAlias).CombinedOutput()
	s := string(out)
	if i := strings.Index(s, "pid="); i >= 0 {
		pid, _ := strconv.Atoi(strings.TrimRight(s[i+4:], ")\r\n"))
		return pid
	}
	return 0
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}
