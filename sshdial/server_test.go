package sshdial

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/mitogen-go/mitogend/sshconfig"
	"github.com/mitogen-go/mitogend/test/testenv"
)

// testServer is an in-process SSH server on loopback that accepts the
// given public keys and answers global requests.
type testServer struct {
	port       int
	keepalives chan string // one value per keepalive received
	users      chan string // authenticated user names
}

type serverOpts struct {
	hostKeys        []ssh.Signer
	authorized      []ssh.PublicKey
	ignoreKeepalive bool
	network, addr   string      // default tcp 127.0.0.1:0
	password        string      // when set, password authentication with it is offered too
	passwords       chan string // each password tried, when password is set
}

func startServer(t *testing.T, o serverOpts) *testServer {
	t.Helper()
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			for _, k := range o.authorized {
				if bytes.Equal(k.Marshal(), key.Marshal()) {
					return nil, nil
				}
			}
			return nil, errors.New("not authorized")
		},
	}
	if o.password != "" {
		cfg.PasswordCallback = func(_ ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			select {
			case o.passwords <- string(pw):
			default:
			}
			if string(pw) == o.password {
				return nil, nil
			}
			return nil, errors.New("wrong password")
		}
	}
	for _, k := range o.hostKeys {
		cfg.AddHostKey(k)
	}
	network, addr := o.network, o.addr
	if network == "" {
		network, addr = "tcp", "127.0.0.1:0"
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		testenv.Skip(t, "listen %s %s: %v", network, addr, err)
	}
	s := &testServer{
		port:       ln.Addr().(*net.TCPAddr).Port,
		keepalives: make(chan string, 100),
		users:      make(chan string, 10),
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.serve(c, cfg, o.ignoreKeepalive)
			}()
		}
	}()
	return s
}

func (s *testServer) serve(c net.Conn, cfg *ssh.ServerConfig, ignoreKeepalive bool) {
	defer c.Close()
	sc, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	defer sc.Close()
	select {
	case s.users <- sc.User():
	default: // nobody is checking users in this test
	}
	go func() {
		for ch := range chans {
			ch.Reject(ssh.Prohibited, "no channels here")
		}
	}()
	for req := range reqs {
		if req.Type == "keepalive@openssh.com" {
			select {
			case s.keepalives <- req.Type:
			default:
			}
			if ignoreKeepalive {
				continue
			}
		}
		req.Reply(true, nil)
	}
}

func newEd25519(t testing.TB) (ed25519.PrivateKey, ssh.Signer) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return priv, s
}

func newECDSA(t *testing.T) ssh.Signer {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// writeKey stores priv in OpenSSH format, encrypted when passphrase != "".
func writeKey(t *testing.T, path string, priv ed25519.PrivateKey, passphrase string) {
	t.Helper()
	var block *pem.Block
	var err error
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
}

// startAgent serves an in-process ssh-agent holding keys on a unix socket.
func startAgent(t *testing.T, keys ...ed25519.PrivateKey) string {
	t.Helper()
	// A short directory: unix socket paths are limited to ~108 bytes.
	dir, err := os.MkdirTemp("", "ag")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ring := agent.NewKeyring()
	for _, k := range keys {
		if err := ring.Add(agent.AddedKey{PrivateKey: k}); err != nil {
			t.Fatal(err)
		}
	}
	sock := filepath.Join(dir, "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				agent.ServeAgent(ring, c)
				c.Close()
			}()
		}
	}()
	return sock
}

// baseTarget is a strict, agent-less target for the test server.
func baseTarget(port int, dir string) sshconfig.Target {
	return sshconfig.Target{
		Host: "127.0.0.1", HostName: "127.0.0.1", Port: port, User: "bob",
		UserKnownHostsFiles:   []string{filepath.Join(dir, "known_hosts")},
		StrictHostKeyChecking: "yes",
		IdentitiesOnly:        true,
		IdentityAgent:         "none",
		ConnectTimeout:        10 * time.Second,
		ServerAliveCountMax:   3,
	}
}

func knownLine(name string, key ssh.PublicKey) string {
	return name + " " + string(ssh.MarshalAuthorizedKey(key))
}

func hostName(port int) string { return "[127.0.0.1]:" + strconv.Itoa(port) }
