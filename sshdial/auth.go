package sshdial

import (
	"bytes"
	"context"
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

// auth is ssh's client side of user authentication (sshconnect2.c): it picks the methods
// in PreferredAuthentications order (see next), gathers public-key signers the way ssh's
// pubkey_prepare orders them (agent keys first, only those matching an identity file when
// IdentitiesOnly, then identity files the agent does not hold), and asks for passwords and
// keyboard-interactive answers through Config.Prompt.
type auth struct {
	c       *Config
	ctx     context.Context // Dial's, for the prompts
	hk      *hostKeys       // whether the host key got through only as StrictHostKeyChecking=no allows
	held    *held           // what to print before the next prompt; nil when c.Prompt is
	disarm  func()          // stops the ConnectTimeout watchdog: a user is typing
	agent   net.Conn
	allowed []string // methods the server last said can continue

	flow authFlow
}

func newAuth(ctx context.Context, c *Config, hk *hostKeys, h *held) *auth {
	return &auth{c: c, ctx: ctx, hk: hk, held: h, disarm: func() {}, flow: newAuthFlow()}
}

// identity is one IdentityFile: its public half for matching agent keys,
// and a signer when the private key could be loaded without a passphrase.
type identity struct {
	path    string
	pub     ssh.PublicKey
	signer  ssh.Signer
	inAgent bool
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

// signers is called by first (ahead of the server's list) or by x/crypto when the server
// offers publickey.
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
		a.c.logf("IdentityAgent %s: not set in the caller's environment; no agent", ia)
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

// loadIdentity reads one identity file. Encrypted keys cannot be used (their
// passphrase is not asked for) but still select agent keys by their public
// half, as does a lone .pub file.
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
