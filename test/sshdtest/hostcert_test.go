package sshdtest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The certificate is read per connection: missing at first (plain key
// only), then signed, then re-signed for another name.
func TestHostCertificate(t *testing.T) {
	dir := t.TempDir()
	certPath := filepath.Join(dir, "host-cert.pub")
	s := Start(t, WithHostCertificate(certPath))
	ca := NewKey(t, filepath.Join(dir, "ca"))
	kh := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(kh, []byte("@cert-authority * "+ca+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	login := func() (string, error) {
		_, stderr, err := client(t, s, "", "ssh", "-F", "/dev/null", "-o", "BatchMode=yes",
			"-o", "IdentitiesOnly=yes", "-i", s.ClientKey, "-o", "UserKnownHostsFile="+kh,
			"-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes",
			"-p", strconv.Itoa(s.Port), "-l", s.User, "127.0.0.1", "true")
		return stderr, err
	}
	if _, err := login(); err == nil {
		t.Fatalf("logged in with only a CA known and no certificate")
	}
	s.SignHostKey(filepath.Join(dir, "ca"), certPath, "test-host", []string{"127.0.0.1"}, "-1m:+1h")
	if stderr, err := login(); err != nil {
		t.Fatalf("certified host refused: %v\n%s\nsshd log:\n%s", err, stderr, s.Log())
	}
	s.SignHostKey(filepath.Join(dir, "ca"), certPath, "test-host", []string{"elsewhere"}, "")
	if stderr, err := login(); err == nil || !strings.Contains(stderr, "name is not a listed principal") {
		t.Fatalf("certificate for another name: err %v, stderr %q", err, stderr)
	}
}
