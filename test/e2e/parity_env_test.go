package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mitogen-go/mitogend/test/sshdtest"
)

// TestSendEnvSideBySide: SendEnv and SetEnv, from the command line and from a config file with
// Debian's stock "SendEnv LANG LC_*", reach the command as they do with ssh on the same sshd,
// whose AcceptEnv (sshdtest: LANG LC_* GIT_PROTOCOL) decides: MG_* and OTHER are sent by both
// and refused by sshd, LANG, LC_* and GIT_PROTOCOL are delivered.
func TestSendEnvSideBySide(t *testing.T) {
	r := newRig(t)
	base, err := os.ReadFile(r.srv.SSHConfig)
	if err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(t.TempDir(), "config")
	writeFile(t, config, string(base)+"\nHost *\n    SendEnv LANG LC_*\n    SetEnv LC_FROMFILE=file MG_FROMFILE=file\n")
	r.env = append(r.env, "LANG=C.UTF-8", "LC_TIME=C", "LC_OTHER=o", "MG_ONE=1", "OTHER=x", "GIT_PROTOCOL=version=2")
	show := `env | grep -E '^(LANG|LC_|MG_|OTHER|GIT_PROTOCOL)=' | sort`
	cases := []struct {
		name string
		opts []string
	}{
		{"config file only", nil},
		{"SendEnv on the command line", []string{"-o", "SendEnv=MG_* OTHER GIT_PROTOCOL"}},
		{"SendEnv removal", []string{"-o", "SendEnv=-LC_*"}},
		{"SetEnv on the command line wins", []string{"-o", "SetEnv=LC_TIME=cli LC_NEW=new MG_SET=x"}},
	}
	for _, tc := range cases {
		args := append(append([]string{"-F", config}, tc.opts...), sshdtest.HostAlias, show)
		fake := r.fakessh(nil, args...)
		real := r.run(nil, "ssh", append([]string{"-o", "BatchMode=yes"}, args...)...)
		if real.code != 0 || real.stdout == "" {
			t.Fatalf("%s: ssh: exit %d stdout %q stderr %q", tc.name, real.code, real.stdout, real.stderr)
		}
		sameAsSSH(t, tc.name, fake, real)
	}
}
