package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mitogen-go/mitogend/test/sshdtest"
	"github.com/mitogen-go/mitogend/test/testenv"
)

// The agent's built-in SFTP server (package sftpserver) through fakessh, for the requests that
// TestCallersBuiltinSFTPServer's put/get/rename do not reach: chmod, symlinks, hard links,
// removal, statvfs and listing.

func TestSFTPServerBuiltinOperations(t *testing.T) {
	testenv.NeedTool(t, "sftp")
	r := callersNoSFTPServer(t)
	base := t.TempDir()
	local, remote := filepath.Join(base, "local"), filepath.Join(base, "remote")
	sshdtest.RandomFile(t, local, 1<<20)
	script := strings.Join([]string{
		`mkdir "` + remote + `"`,
		`cd "` + remote + `"`,
		`put "` + local + `" f`,
		`chmod 640 f`,
		`ln -s f soft`,
		`ln f hard`,
		`mkdir gone`,
		`rmdir gone`,
		`put "` + local + `" removed`,
		`rm removed`,
		`df`,
		`ls -l`,
	}, "\n") + "\n"
	batch := filepath.Join(base, "batch")
	if err := os.WriteFile(batch, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	res := r.must(r.run(nil, "sftp", "-S", filepath.Join(binDir, "fakessh"), "-b", batch, "target"))
	for _, want := range []string{"-rw-r-----", "lrwxrwxrwx", " soft\n", "Size"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("sftp output lacks %q:\n%s", want, res.stdout)
		}
	}
	want := sshdtest.SHA256File(t, local)
	for _, p := range []string{"f", "soft", "hard"} {
		if got := sshdtest.SHA256File(t, filepath.Join(remote, p)); got != want {
			t.Errorf("%s: sha256 %s, want %s", p, got, want)
		}
	}
	if st, err := os.Stat(filepath.Join(remote, "f")); err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("chmod 640: %v %v", st, err)
	}
	if target, err := os.Readlink(filepath.Join(remote, "soft")); err != nil || target != "f" {
		t.Errorf("ln -s: %q %v", target, err)
	}
	for _, p := range []string{"gone", "removed"} {
		if _, err := os.Lstat(filepath.Join(remote, p)); err == nil {
			t.Errorf("%s still exists", p)
		}
	}
}
