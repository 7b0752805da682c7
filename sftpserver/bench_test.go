package sftpserver

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mitogen-go/mitogend/test/testenv"
)

// BenchmarkAgainstSFTPServer runs the real sftp client (sftp -D: no ssh in between) against
// Serve and against OpenSSH's sftp-server on the same files, so that the two servers' costs can
// be compared alone: one 64 MiB file up and down, and 200 files of 4 KiB up. Serve replaces each
// upload atomically (temporary file, fsync, rename, directory fsync); sftp-server writes in
// place.
func BenchmarkAgainstSFTPServer(b *testing.B) {
	testenv.NeedTool(b, "sftp")
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	servers := []struct{ name, cmd string }{{"builtin", self}}
	for _, p := range []string{"/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server"} {
		if _, err := os.Stat(p); err == nil {
			servers = append(servers, struct{ name, cmd string }{"sftp-server", p})
			break
		}
	}
	if len(servers) < 2 {
		testenv.Skip(b, "no OpenSSH sftp-server to compare with")
	}
	base := b.TempDir()
	local := filepath.Join(base, "local")
	os.MkdirAll(filepath.Join(local, "small"), 0o755)
	randomFileB(b, filepath.Join(local, "big"), 64<<20)
	for i := range 200 {
		randomFileB(b, filepath.Join(local, "small", fmt.Sprintf("f%03d", i)), 4096)
	}
	cases := []struct {
		name  string
		bytes int64
		batch func(remote string) string
	}{
		{"put-64MiB", 64 << 20, func(remote string) string { return "put " + filepath.Join(local, "big") + " " + remote + "/big\n" }},
		{"get-64MiB", 64 << 20, func(remote string) string { return "get " + remote + "/big " + filepath.Join(base, "back") + "\n" }},
		{"put-200x4KiB", 200 * 4096, func(remote string) string {
			return "put -r " + filepath.Join(local, "small") + " " + remote + "/small\n"
		}},
	}
	for _, c := range cases {
		for _, srv := range servers {
			b.Run(c.name+"/"+srv.name, func(b *testing.B) {
				remote := filepath.Join(base, "remote-"+srv.name)
				os.MkdirAll(filepath.Join(remote, "small"), 0o755)
				if c.name == "get-64MiB" {
					data, _ := os.ReadFile(filepath.Join(local, "big"))
					os.WriteFile(filepath.Join(remote, "big"), data, 0o644)
				}
				script := filepath.Join(base, "batch-"+c.name)
				os.WriteFile(script, []byte(c.batch(remote)), 0o600)
				b.SetBytes(c.bytes)
				b.ResetTimer()
				for range b.N {
					cmd := exec.Command("sftp", "-q", "-b", script, "-D", srv.cmd)
					cmd.Env = append(os.Environ(), serveEnv+"="+remote)
					if out, err := cmd.CombinedOutput(); err != nil {
						b.Fatalf("sftp: %v\n%s", err, strings.TrimSpace(string(out)))
					}
				}
			})
		}
	}
}

func randomFileB(b *testing.B, p string, size int) {
	b.Helper()
	buf := make([]byte, size)
	for i := range buf {
		buf[i] = byte(i*7 + i>>8)
	}
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		b.Fatal(err)
	}
}
