package sshdial

import (
	"bytes"
	"errors"
	"io/fs"
	"net"
	"os"
	"strings"

	"github.com/mitogen-go/mitogend/internal/syserr"
	"github.com/mitogen-go/mitogend/sshconfig"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// auth gathers public-key signers the way ssh's pubkey_prepare orders them:
// agent keys first (only those matching an identity file when
// IdentitiesOnly), then identity files the agent does not hold.
type auth struct {
	c       *Config
	agent   net.Conn
	allowed []string // methods the server last said can continue
}

func newAuth(c *Config) *auth { return &auth{c: c} }

// identity is one IdentityFile: its public half for matching agent keys,
// and a signer when the private key could be loaded without a passphrase.
type identity struct {
	path    string
	pub     ssh.PublicKey
	signer  ssh.Signer
	inAgent bool
}

// observe is the ClientConfig.AuthCallback: it records the server's list of
// methods (for the "Permission denied (...)" message) and lets x/crypto pick
// the next method itself.
func (a *auth) observe(ctx *ssh.ClientAuthContext) (ssh.AuthMethod, error) {
	a.allowed = ctx.AllowedMethods
	return nil, nil
}

func (a *auth) allowedMethods() string {
	if len(a.allowed) == 0 {
		return "publickey"
	}
	return strings.Join(a.allowed, ",")
}

func (a *auth) close() {
	if a.agent != nil {
		a.agent.Close()
	}
}

// signers is called by x/crypto only when the server offers publickey.
func (a *auth) signers() ([]ssh.Signer, error) {
	ids := a.loadIdentities()
	var out []ssh.Signer
	for _, s := range a.agentSigners() {
		blob := s.PublicKey().Marshal()
		matched := false
		for _, id := range ids {
			if id.pub != nil && bytes.Equal(id.pub.Marshal(), blob) {
				id.inAgent, matched = true, true
			}
		}
		if matched || !a.c.Target.IdentitiesOnly {
			out = append(out, s)
		}
	}
	for _, id := range ids {
		if !id.inAgent && id.signer != nil {
			out = append(out, id.signer)
		}
	}
	a.c.logf("offering %d public keys", len(out))
	return out, nil
}

func (a *auth) agentSigners() []ssh.Signer {
	sock := a.agentSocket()
	if sock == "" {
		return nil
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		a.c.logf("Error connecting to agent: %s", syserr.Text(err))
		return nil
	}
	a.close()
	a.agent = conn
	signers, err := agent.NewClient(conn).Signers()
	if err != nil {
		a.c.logf("agent: %v", err)
		return nil
	}
	return signers
}

// agentSocket applies IdentityAgent over the caller's SSH_AUTH_SOCK.
func (a *auth) agentSocket() string {
	if ia := a.c.Target.IdentityAgent; strings.HasPrefix(ia, "$") && !callersAgent(ia) {
		a.c.logf("IdentityAgent %s: environment of the client is not available; no agent", ia)
	}
	return AgentSocket(a.c.Target, a.c.AuthSock)
}

// callersAgent reports whether IdentityAgent value ia names the caller's SSH_AUTH_SOCK.
func callersAgent(ia string) bool {
	return ia == "" || ia == "SSH_AUTH_SOCK" || ia == "$SSH_AUTH_SOCK" || ia == "${SSH_AUTH_SOCK}"
}

// AgentSocket is the ssh-agent socket a connection to t authenticates with, given the caller's
// SSH_AUTH_SOCK: IdentityAgent applied over it, "" for none.
func AgentSocket(t sshconfig.Target, authSock string) string {
	switch ia := t.IdentityAgent; {
	case callersAgent(ia):
		return authSock
	case ia == "none", strings.HasPrefix(ia, "$"):
		return ""
	default:
		return ia
	}
}

func (a *auth) loadIdentities() []*identity {
	var ids []*identity
	for _, path := range a.c.Target.IdentityFiles {
		if id := a.loadIdentity(path); id != nil {
			ids = append(ids, id)
		}
	}
	return ids
}

// loadIdentity reads one identity file. Encrypted keys cannot be used (no
// one to ask for the passphrase) but still select agent keys by their
// public half, as does a lone .pub file.
func (a *auth) loadIdentity(path string) *identity {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if pub := readPublic(path + ".pub"); pub != nil {
			return &identity{path: path, pub: pub}
		}
		a.c.logf("no such identity: %s: No such file or directory", path)
		return nil
	}
	if err != nil {
		a.c.logf("identity %s: %s", path, syserr.Text(err))
		return nil
	}
	signer, err := ssh.ParsePrivateKey(data)
	if err == nil {
		return &identity{path: path, pub: signer.PublicKey(), signer: signer}
	}
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		a.c.logf("identity %s is encrypted and cannot be unlocked without a prompt; skipped", path)
		pub := missing.PublicKey
		if pub == nil {
			pub = readPublic(path + ".pub")
		}
		return &identity{path: path, pub: pub}
	}
	if pub, _, _, _, perr := ssh.ParseAuthorizedKey(data); perr == nil {
		return &identity{path: path, pub: pub}
	}
	a.c.logf("identity %s: %v", path, err)
	return nil
}

func readPublic(path string) ssh.PublicKey {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(data)
	if err != nil {
		return nil
	}
	return pub
}
