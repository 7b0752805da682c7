package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mitogen-go/mitogend/test/sshdtest"
)

// TestConfigErrorsSideBySide: a bad ssh_config line, wherever fakessh or the daemon meets it,
// prints what ssh prints (every line, "terminating, N bad configuration options" included) and
// exits 255 as ssh does.
func TestConfigErrorsSideBySide(t *testing.T) {
	r := newRig(t)
	base, err := os.ReadFile(r.srv.SSHConfig)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bad := func(name, extra string) string {
		p := filepath.Join(dir, name)
		writeFile(t, p, string(base)+extra)
		return p
	}
	cases := []struct {
		name string
		args []string
	}{
		{"unknown keyword", []string{"-F", bad("unknown", "\nHost *\n  Bogus x\n")}},
		{"bad port and unknown keyword", []string{"-F", bad("two", "\nHost *\n  Bogus x\n  Port abc\n")}},
		{"backslash in a bad keyword (ssh's log doubles it)", []string{"-F", bad("backslash", "\nHost *\n  Bo\\gus x\n")}},
		{"bad line in an inactive block", []string{"-F", bad("inactive", "\nHost nothere\n  StrictHostKeyChecking maybe\n")}},
		{"missing -F file", []string{"-F", filepath.Join(dir, "absent")}},
		{"bad lines under -q", []string{"-q", "-F", bad("twoq", "\nHost *\n  Bogus x\n  Port abc\n")}},
		{"bad lines under LogLevel=FATAL", []string{"-o", "LogLevel=FATAL", "-F", bad("twof", "\nHost *\n  Bogus x\n  Port abc\n")}},
		{"bad lines, -G under LogLevel=FATAL", []string{"-G", "-o", "LogLevel=FATAL", "-F", bad("twog", "\nHost *\n  Bogus x\n  Port abc\n")}},
		{"failing ProxyCommand in the file", []string{"-F", bad("proxy", "\nHost *\n  ProxyCommand false\n")}},
		{"missing ProxyCommand program in the file", []string{"-F", bad("proxy2", "\nHost *\n  ProxyCommand /nonexistent/mg-proxy %h %p\n")}},
		{"bad -o", []string{"-F", r.srv.SSHConfig, "-o", "Bogus=1"}},
		{"bad -o under -q", []string{"-q", "-F", r.srv.SSHConfig, "-o", "Bogus=1"}},
		{"bad -o value", []string{"-F", r.srv.SSHConfig, "-o", "Port=0"}},
	}
	for _, tc := range cases {
		args := append(append([]string{"-o", "BatchMode=yes"}, tc.args...), sshdtest.HostAlias, "true")
		real := r.run(nil, "ssh", args...)
		fake := r.fakessh(nil, args...)
		if real.code != 255 {
			t.Fatalf("%s: ssh exit %d stderr %q", tc.name, real.code, real.stderr)
		}
		if fake != real && fake.code == real.code && fake.stdout == real.stdout && sameBeforeRaceEnding(fake.stderr, real.stderr) {
			continue // both of the words ssh itself prints for a ProxyCommand that exits at once
		}
		sameAsSSH(t, tc.name, fake, real)
	}
}

// sameBeforeRaceEnding reports whether a and b each end with one of proxyRaceEndings and are
// the same before it (what the ProxyCommand printed itself).
func sameBeforeRaceEnding(a, b string) bool {
	cut := func(s string) (string, bool) {
		for e := range proxyRaceEndings {
			if rest, ok := strings.CutSuffix(s, e); ok {
				return rest, true
			}
		}
		return "", false
	}
	ra, oka := cut(a)
	rb, okb := cut(b)
	return oka && okb && ra == rb
}

// proxyRaceEndings are what ssh 9.2 prints for a ProxyCommand that exits before the banner
// exchange, depending on whether its own banner went out first: run after run it prints one
// or the other, so either is ssh's answer.
var proxyRaceEndings = map[string]bool{
	"kex_exchange_identification: Connection closed by remote host\r\nConnection closed by UNKNOWN port 65535\r\n": true,
	"banner exchange: Connection to UNKNOWN port 65535: Broken pipe\r\n":                                           true,
}

// TestConnectFailureLogLevels: a refused connection prints ssh's error() line at LogLevel ERROR
// and above and nothing below, with ssh's status, as ssh does.
func TestConnectFailureLogLevels(t *testing.T) {
	r := newRig(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // nothing listens there now
	for _, level := range [][]string{nil, {"-q"}, {"-o", "LogLevel=FATAL"}, {"-o", "LogLevel=ERROR"}, {"-o", "LogLevel=QUIET"}} {
		args := append(append([]string{"-F", "none", "-o", "BatchMode=yes", "-p", fmt.Sprint(port)}, level...), "127.0.0.1", "true")
		real := r.run(nil, "ssh", args...)
		fake := r.fakessh(nil, args...)
		if real.code != 255 {
			t.Fatalf("%v: ssh exit %d", level, real.code)
		}
		sameAsSSH(t, "connect refused "+strings.Join(level, " "), fake, real)
	}
}

// TestHostKeyFailureLogLevels: an unknown host key under StrictHostKeyChecking=yes prints ssh's
// error() and fatal() lines as each LogLevel lets it, with ssh's status.
func TestHostKeyFailureLogLevels(t *testing.T) {
	r := newRig(t)
	for _, level := range [][]string{nil, {"-q"}, {"-o", "LogLevel=FATAL"}, {"-o", "LogLevel=ERROR"}} {
		kh := filepath.Join(t.TempDir(), "known_hosts")
		opts := append([]string{"-o", "UserKnownHostsFile=" + kh, "-o", "StrictHostKeyChecking=yes"}, level...)
		real := r.realSSH(opts, "true")
		fake := r.fakessh(nil, append(append([]string{"-F", r.srv.SSHConfig, "-o", "BatchMode=yes"}, opts...), sshdtest.HostAlias, "true")...)
		if real.code != 255 {
			t.Fatalf("%v: ssh exit %d", level, real.code)
		}
		sameAsSSH(t, "unknown host key "+strings.Join(level, " "), fake, real)
	}
}
