package sshdial

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// verifyTarget is a Config whose only known_hosts file is kh, for
// VerifyHostKey without a connection.
func verifyTarget(kh string) Config {
	tg := baseTarget(2222, filepath.Dir(kh))
	tg.UserKnownHostsFiles = []string{kh}
	return Config{Target: tg}
}

// setMtime gives path a fixed modification time.
func setMtime(t *testing.T, path string, when time.Time) {
	t.Helper()
	if err := os.Chtimes(path, when, when); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyHostKeyRereadsChangedFiles(t *testing.T) {
	_, host := newEd25519(t)
	_, other := newEd25519(t)
	kh := filepath.Join(t.TempDir(), "known_hosts")
	c := verifyTarget(kh)
	name := hostName(2222)
	old := time.Now().Add(-time.Hour)
	good := knownLine(name, host.PublicKey())
	bad := knownLine(name, other.PublicKey()) // the same length: a rewrite keeps the size
	if len(good) != len(bad) {
		t.Fatalf("test lines differ in length")
	}

	writeTestFile(t, kh, good)
	setMtime(t, kh, old)
	if _, err := VerifyHostKey(c, host.PublicKey()); err != nil {
		t.Fatalf("known key refused: %v", err)
	}
	cached := knownHosts.files[kh]
	if _, err := VerifyHostKey(c, host.PublicKey()); err != nil || knownHosts.files[kh] != cached {
		t.Fatalf("unchanged file read again (err %v)", err)
	}

	// Rewritten in place, same size, another (old) mtime.
	writeTestFile(t, kh, bad)
	setMtime(t, kh, old.Add(time.Second))
	if _, err := VerifyHostKey(c, host.PublicKey()); !errors.Is(err, ErrHostKeyChanged) {
		t.Fatalf("after the key changed: err = %v, want ErrHostKeyChanged", err)
	}

	// Replaced by rename with the same size and mtime: only the inode differs.
	next := kh + ".new"
	writeTestFile(t, next, good)
	setMtime(t, next, old.Add(time.Second))
	if err := os.Rename(next, kh); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyHostKey(c, host.PublicKey()); err != nil {
		t.Fatalf("after the file was replaced: %v", err)
	}
}

// A file modified within one timestamp tick keeps its mtime and size;
// while its mtime is recent, it is read every time.
func TestVerifyHostKeyRacyFile(t *testing.T) {
	_, host := newEd25519(t)
	_, other := newEd25519(t)
	kh := filepath.Join(t.TempDir(), "known_hosts")
	c := verifyTarget(kh)
	name := hostName(2222)
	writeTestFile(t, kh, knownLine(name, host.PublicKey()))
	fi, err := os.Stat(kh)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyHostKey(c, host.PublicKey()); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, kh, knownLine(name, other.PublicKey()))
	setMtime(t, kh, fi.ModTime())
	if _, err := VerifyHostKey(c, host.PublicKey()); !errors.Is(err, ErrHostKeyChanged) {
		t.Fatalf("same-tick rewrite: err = %v, want ErrHostKeyChanged", err)
	}
}

// BenchmarkVerifyHostKey measures what a warm call costs: a known_hosts
// of 1000 hashed entries and the two default global files, missing.
func BenchmarkVerifyHostKey(b *testing.B) {
	_, host := newEd25519(b)
	dir := b.TempDir()
	kh := filepath.Join(dir, "known_hosts")
	var buf bytes.Buffer
	for i := range 1000 {
		salt := make([]byte, 20)
		rand.Read(salt)
		_, k := newEd25519(b)
		fmt.Fprintf(&buf, "%s %s", hashHost(fmt.Sprintf("host%d.example", i), salt), ssh.MarshalAuthorizedKey(k.PublicKey()))
	}
	salt := make([]byte, 20)
	rand.Read(salt)
	fmt.Fprintf(&buf, "%s %s", hashHost(hostName(2222), salt), ssh.MarshalAuthorizedKey(host.PublicKey()))
	if err := os.WriteFile(kh, buf.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	if err := os.Chtimes(kh, time.Now().Add(-time.Hour), time.Now().Add(-time.Hour)); err != nil {
		b.Fatal(err)
	}
	c := verifyTarget(kh)
	c.Target.GlobalKnownHostsFiles = []string{filepath.Join(dir, "ssh_known_hosts"), filepath.Join(dir, "ssh_known_hosts2")}
	b.Run("warm", func(b *testing.B) {
		for b.Loop() {
			if _, err := VerifyHostKey(c, host.PublicKey()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("file-changed", func(b *testing.B) {
		for b.Loop() {
			knownHosts.mu.Lock()
			delete(knownHosts.files, kh)
			knownHosts.mu.Unlock()
			if _, err := VerifyHostKey(c, host.PublicKey()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
