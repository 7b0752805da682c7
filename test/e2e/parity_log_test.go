package e2e

import (
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/mitogen-go/mitogend/test/sshdtest"
)

// TestLogLevelSideBySide: what ssh prints while connecting to a host it does not know yet
// ("Warning: Permanently added ...", a logit message) under each LogLevel and -q, byte for
// byte as ssh prints it on the same sshd; the daemon's connection is shared, so later calls
// are checked as the fresh connection ssh makes would be.
func TestLogLevelSideBySide(t *testing.T) {
	r := newRig(t)
	for _, level := range [][]string{
		{"-o", "LogLevel=QUIET"}, {"-o", "LogLevel=FATAL"}, {"-o", "LogLevel=ERROR"},
		{"-o", "LogLevel=INFO"}, {"-q"}, {"-o", "RSAAuthentication=yes", "-q"},
		{"-o", "RSAAuthentication=yes", "-o", "LogLevel=ERROR"},
	} {
		name := strings.Join(level, " ")
		fresh := func() []string {
			kh := filepath.Join(t.TempDir(), "known_hosts")
			return append([]string{"-o", "UserKnownHostsFile=" + kh, "-o", "StrictHostKeyChecking=accept-new"}, level...)
		}
		real := r.realSSH(fresh(), "echo hi")
		fake := r.fakessh(nil, append(append([]string{"-F", r.srv.SSHConfig, "-o", "BatchMode=yes"}, fresh()...), sshdtest.HostAlias, "echo hi")...)
		if real.code != 0 {
			t.Fatalf("%s: ssh: exit %d stderr %q", name, real.code, real.stderr)
		}
		sameAsSSH(t, name, fake, real)
	}
}

// logClasses names the kinds of line a stderr holds: "debug1".."debug3" for ssh's debug lines,
// "other" for the rest.
func logClasses(stderr string) []string {
	var classes []string
	re := regexp.MustCompile(`^(debug[123]): `)
	for _, l := range strings.Split(strings.TrimRight(stderr, "\r\n"), "\n") {
		c := "other"
		if m := re.FindStringSubmatch(l); m != nil {
			c = m[1]
		} else if l == "" {
			continue
		}
		if !slices.Contains(classes, c) {
			classes = append(classes, c)
		}
	}
	slices.Sort(classes)
	return classes
}

// TestVerbositySideBySide: -v, -vv, -vvv and LogLevel=DEBUGn print ssh's classes of debug line
// (fakessh's debug lines say what fakessh and the daemon did, not ssh's protocol steps, so only
// the classes are compared). LogLevel=VERBOSE adds ssh's verbose() lines ("Authenticated to
// ..."); fakessh prints none on a shared connection, an intended difference.
func TestVerbositySideBySide(t *testing.T) {
	r := newRig(t)
	for _, flags := range [][]string{{"-v"}, {"-vv"}, {"-vvv"}, {"-o", "LogLevel=DEBUG2"}, {"-o", "LogLevel=DEBUG3"}, {"-q", "-v"}} {
		name := strings.Join(flags, " ")
		real := r.realSSH(flags, "true")
		fake := r.fakessh(nil, append(append([]string{"-F", r.srv.SSHConfig, "-o", "BatchMode=yes"}, flags...), sshdtest.HostAlias, "true")...)
		if real.code != 0 || fake.code != 0 {
			t.Fatalf("%s: exit ssh %d fakessh %d: %q / %q", name, real.code, fake.code, real.stderr, fake.stderr)
		}
		want := slices.DeleteFunc(logClasses(real.stderr), func(c string) bool { return c == "other" })
		got := slices.DeleteFunc(logClasses(fake.stderr), func(c string) bool { return c == "other" })
		if !slices.Equal(got, want) {
			t.Errorf("%s: fakessh prints %v, ssh %v\nfakessh: %s", name, got, want, fake.stderr)
		}
	}
}
