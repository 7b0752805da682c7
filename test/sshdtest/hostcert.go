package sshdtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// WithHostCertificate makes sshd present the host certificate at path
// (an absolute path the test chooses) along with its host key. sshd
// re-executes itself for every connection and loads the certificate each
// time, so SignHostKey may replace it between connections; while the
// file is missing sshd logs one line and offers the plain key only.
func WithHostCertificate(path string) Option {
	return WithExtraConfig("HostCertificate " + quote(path))
}

// HostKeyFile is the server's private host key, the one HostPublicKey
// names.
func (s *Server) HostKeyFile() string {
	return filepath.Join(s.Dir, "ssh_host_ed25519_key")
}

// NewKey makes an unencrypted key pair at path and path.pub with
// ssh-keygen, e.g. a certificate authority for SignHostKey, and returns the
// public key line. It is an ed25519 key unless keygenArgs say otherwise
// ("-t", "rsa").
func NewKey(t testing.TB, path string, keygenArgs ...string) string {
	t.Helper()
	keygen := requireTools(t, DefaultSSHD)
	if len(keygenArgs) == 0 {
		return generateKey(t, keygen, path, filepath.Base(path))
	}
	args := append([]string{"-q", "-N", "", "-C", filepath.Base(path), "-f", path}, keygenArgs...)
	if out, err := exec.Command(keygen, args...).CombinedOutput(); err != nil {
		t.Fatalf("sshdtest: ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatalf("sshdtest: %v", err)
	}
	return strings.TrimSpace(string(pub))
}

// SignHostKey writes to certPath a certificate for the server's host key,
// signed by the CA private key caKey as
//
//	ssh-keygen -s caKey -h -I id [-n principals] [-V validity]
//
// does, with keygenArgs added (e.g. "-t", "ssh-rsa" for the signature
// algorithm of an RSA CA). No principals means a certificate valid for
// any host name; validity "" means forever. A later call replaces the
// certificate.
func (s *Server) SignHostKey(caKey, certPath, id string, principals []string, validity string, keygenArgs ...string) {
	s.tb.Helper()
	keygen := requireTools(s.tb, DefaultSSHD)
	// ssh-keygen writes NAME-cert.pub next to NAME.pub: sign a copy of the
	// public key in a scratch directory, then move the result into place.
	dir, err := os.MkdirTemp(filepath.Dir(certPath), "sign")
	if err != nil {
		s.tb.Fatalf("sshdtest: %v", err)
	}
	defer os.RemoveAll(dir)
	pub := filepath.Join(dir, "host.pub")
	writeFile(s.tb, pub, s.HostPublicKey+"\n", 0o644)
	args := []string{"-q", "-s", caKey, "-h", "-I", id}
	if len(principals) > 0 {
		args = append(args, "-n", strings.Join(principals, ","))
	}
	if validity != "" {
		args = append(args, "-V", validity)
	}
	args = append(args, keygenArgs...)
	if out, err := exec.Command(keygen, append(args, pub)...).CombinedOutput(); err != nil {
		s.tb.Fatalf("sshdtest: ssh-keygen %s: %v: %s", strings.Join(args, " "), err, out)
	}
	if err := os.Rename(filepath.Join(dir, "host-cert.pub"), certPath); err != nil {
		s.tb.Fatalf("sshdtest: %v", err)
	}
}
