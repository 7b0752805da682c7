package client

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mitogen-go/mitogend/test/testenv"
)

// communityCrypto is how Ansible's community.crypto reads `ssh -V` (module_utils/openssh:
// parse_openssh_version, re.match on the stripped stderr, no MULTILINE): (?s) nowhere, so a
// second line with a digit defeats it.
var communityCrypto = regexp.MustCompile(`^.*openssh_(?P<version>[0-9.]+)(p?[0-9]+)[^0-9]*.*$`)

func parseVersion(stderr string) string {
	m := communityCrypto.FindStringSubmatch(strings.ToLower(strings.TrimSpace(stderr)))
	if m == nil {
		return ""
	}
	return m[1]
}

func runVersion(t *testing.T, env []string, args ...string) (stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	if err := Run(context.Background(), args, Stdio{Stdin: strings.NewReader(""), Stdout: &o, Stderr: &e, Environ: env}); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return o.String(), e.String()
}

// TestVersionParsesAsOpenSSH: -V prints one line on stderr and nothing on stdout, as the real
// ssh does, and the parsers callers use read the same OpenSSH version from both.
func TestVersionParsesAsOpenSSH(t *testing.T) {
	ssh := testenv.NeedTool(t, "ssh")
	var real bytes.Buffer
	cmd := exec.Command(ssh, "-V")
	cmd.Stderr = &real
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	stdout, stderr := runVersion(t, nil, "-V")
	if stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") {
		t.Errorf("-V: stdout %q stderr %q; want one line on stderr, as ssh's %q", stdout, stderr, real.String())
	}
	want := parseVersion(real.String())
	if want == "" {
		t.Fatalf("the parser does not read the real ssh's %q", real.String())
	}
	if got := parseVersion(stderr); got != want {
		t.Errorf("-V %q parses as %q; ssh's %q as %q", stderr, got, real.String(), want)
	}
	if got := strings.Fields(stderr)[0]; got != strings.Fields(real.String())[0] {
		t.Errorf("-V's first word %q, ssh's %q", got, strings.Fields(real.String())[0])
	}
}

// TestVerboseVersionNamesTheDaemonAndAgents: -vV adds fakessh's own lines after ssh's, naming
// the mitogend it would start and that daemon's agent builds.
func TestVerboseVersionNamesTheDaemonAndAgents(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"bin/mitogend", "lib/mitogend/mitogen-agent.linux-arm64"} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755)
		os.WriteFile(filepath.Join(dir, f), nil, 0o755)
	}
	mitogend := filepath.Join(dir, "bin/mitogend")
	_, line := runVersion(t, nil, "-V")
	_, stderr := runVersion(t, []string{"MITOGEND=" + mitogend}, "-vV")
	if !strings.HasPrefix(stderr, line) {
		t.Fatalf("-vV does not start with -V's line %q:\n%s", line, stderr)
	}
	for _, want := range []string{"\nmitogend " + mitogend + "\n", "\nagent linux/arm64 " + filepath.Join(dir, "lib/mitogend/mitogen-agent.linux-arm64") + "\n"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("-vV lacks %q:\n%s", want, stderr)
		}
	}
}
