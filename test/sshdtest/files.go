package sshdtest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
// Another process may take it before the caller binds it; Start retries
// for that reason.
//
// It is drawn from below Linux's ephemeral range (32768-60999 by default), where the kernel
// never hands out a port on its own: a port asked for with :0 by a listener of another test
// package running at the same time, or the local end of a connection, cannot take it.
func FreePort(t testing.TB) int {
	t.Helper()
	const lo, hi = 20000, 32768
	var err error
	for range 200 {
		var l net.Listener
		if l, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", lo+mrand.IntN(hi-lo))); err == nil {
			defer l.Close()
			return l.Addr().(*net.TCPAddr).Port
		}
	}
	t.Fatalf("sshdtest: finding a free port: %v", err)
	return 0
}

// RandomFile writes size random bytes to path (creating parent directories)
// and returns their SHA-256 in hex. The bytes come from a ChaCha8 stream
// with a random seed: incompressible, unpredictable, and fast for large
// files.
func RandomFile(t testing.TB, path string, size int64) string {
	t.Helper()
	var seed [32]byte
	if _, err := rand.Read(seed[:]); err != nil {
		t.Fatalf("sshdtest: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatalf("sshdtest: %v", err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatalf("sshdtest: %v", err)
	}
	h := sha256.New()
	_, err = io.CopyN(io.MultiWriter(f, h), mrand.NewChaCha8(seed), size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("sshdtest: writing %s: %v", path, err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// SHA256File returns the hex SHA-256 of the file at path.
func SHA256File(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("sshdtest: %v", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatalf("sshdtest: reading %s: %v", path, err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// generateKey makes an unencrypted ed25519 key pair with ssh-keygen and
// returns the public key line.
func generateKey(t testing.TB, keygen, path, comment string) string {
	t.Helper()
	out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path).CombinedOutput()
	if err != nil {
		t.Fatalf("sshdtest: ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatalf("sshdtest: %v", err)
	}
	return strings.TrimSpace(string(pub))
}

func writeFile(t testing.TB, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatalf("sshdtest: %v", err)
	}
}
