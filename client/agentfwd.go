package client

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync/atomic"

	"github.com/mitogen-go/mitogend/flagparse"
	"github.com/mitogen-go/mitogend/internal/syserr"
	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/sshconfig"
	"github.com/mitogen-go/mitogend/tunnel"
)

// Agent forwarding (-A, ForwardAgent) for one call, narrower than ssh's: the command's agent
// makes a private socket for that command alone and opens each connection to it back to this
// side (directly, or through the daemon for a command on passed descriptors) as a
// ClientAuthAgent stream, which is joined to the caller's agent (proto/authagent.go).
//
// The command always runs in the agent, never on a session channel of its own (the daemon sees
// to that): sshd's forwarding is per connection, and the daemon's connections are shared by
// every call to the host. A -A call is not run in a become context either: under ssh its sudo
// or doas would judge the environment the call passes on, SSH_AUTH_SOCK included.

// agentForward is one call's forwarded agent.
type agentForward struct {
	socket string // the caller's agent; "" when there is none (ForwardAgent yes, no SSH_AUTH_SOCK)
	ended  atomic.Bool
}

// agentForwarding is ForwardAgent as ssh resolves it for the call: nil when off. A socket path
// that cannot be stat'ed is reported as ssh reports it, and with ExitOnForwardFailure ends the
// call; otherwise the call goes on, and its connections find no agent.
func (s *session) agentForwarding(opts *flagparse.Options) (*agentForward, error) {
	o, _, ok := s.resolved(opts)
	v, _ := opts.Config.Get("forwardagent")
	if ok {
		v = o.Get("forwardagent")
	}
	on, path := forwardAgentValue(v)
	if !on || s.fwdDisabled {
		// A changed host key let through: "Agent forwarding is disabled to avoid
		// man-in-the-middle attacks." is among the daemon's warnings, as ssh turns it off.
		return nil, nil
	}
	home, name := localAccount(s.stdio)
	t, err := o.Target(opts.Host, home, name)
	if !ok || err != nil {
		t = sshconfig.Target{} // the daemon says why the files could not be read
	}
	if path == "" {
		// check_agent_present: ForwardAgent yes with no agent to reach forwards nothing.
		sock := s.identityAgent(t, home, name)
		if !agentPresent(sock) {
			return nil, nil
		}
		return &agentForward{socket: sock}, nil
	}
	if !ok {
		return &agentForward{socket: path}, nil
	}
	path, err = t.ForwardAgentPath(path, home, name, s.stdio.lookupEnv)
	if err != nil {
		var ce *sshconfig.ConfigError
		if errors.As(err, &ce) {
			return nil, &Error{Messages: ce.Messages, Err: err} // ssh's fatal lines
		}
		return nil, &Error{Msg: "fakessh: ForwardAgent: " + err.Error(), Err: err}
	}
	if _, err := os.Stat(path); err != nil {
		if s.level >= levelError {
			fmt.Fprint(s.stdio.Stderr, logLines(fmt.Sprintf("Cannot forward agent socket path %q: %s", path, syserr.Text(err))))
		}
		if o.Get("exitonforwardfailure") == "yes" {
			return nil, &Error{Err: err}
		}
	}
	if name, ok := strings.CutPrefix(path, "$"); ok {
		// readconf.c's legacy form: ssh stats "$NAME" as written (and says so above), but
		// connects to the variable's value.
		path = s.stdio.getenv(name)
	}
	return &agentForward{socket: path}, nil
}

// identityAgent is the agent ssh's ForwardAgent yes forwards: its SSH_AUTH_SOCK after ssh.c has
// put IdentityAgent there, "" for none.
func (s *session) identityAgent(t sshconfig.Target, home, localUser string) string {
	switch ia := t.IdentityAgent; ia {
	case "", proto.AuthSockEnv:
		return s.stdio.getenv(proto.AuthSockEnv)
	case "none":
		return ""
	}
	p, err := t.ForwardAgentPath(t.IdentityAgent, home, localUser, s.stdio.lookupEnv)
	if err != nil {
		return ""
	}
	if name, ok := strings.CutPrefix(p, "$"); ok {
		return s.stdio.getenv(name) // the legacy form, as ssh reads it
	}
	return p
}

// agentPresent is ssh_get_authentication_socket's test: the socket accepts a connection.
func agentPresent(sock string) bool {
	if sock == "" {
		return false
	}
	c, err := net.Dial("unix", sock)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// forwardAgentValue reads a ForwardAgent value as readconf.c does: yes or no (and their
// synonyms), else a socket path, which turns forwarding on.
func forwardAgentValue(v string) (on bool, path string) {
	switch strings.ToLower(v) {
	case "", "no", "false":
		return false, ""
	case "yes", "true":
		return true, ""
	}
	return true, v
}

// forwardAgentAsked reports whether the call's resolved configuration turns ForwardAgent on,
// before a session exists (become detection decides which session to make).
func forwardAgentAsked(opts *flagparse.Options, config *resolvedConfig) bool {
	v, _ := opts.Config.Get("forwardagent")
	if config.ok {
		v = config.opts.Get("forwardagent")
	}
	on, _ := forwardAgentValue(v)
	return on
}

// serve accepts the command's agent connections, from the context the call runs in or the
// daemon (which checks its own side) only.
func (f *agentForward) serve(s *session) {
	s.ep.ListenNew(proto.ClientAuthAgent, func(ns *tunnel.NewStream) {
		if peer := ns.Peer(); (peer != s.target && peer != proto.Root) || f.ended.Load() || f.socket == "" {
			ns.Reject(tunnel.Prohibited, "fakessh: no agent forwarding for this opener")
			return
		}
		c, err := net.Dial("unix", f.socket)
		if err != nil {
			// ssh refuses the channel; the program on the target sees its connection close.
			ns.Reject(tunnel.ConnectFailed, syserr.Text(err))
			return
		}
		st, err := ns.Accept(nil)
		if err != nil {
			c.Close()
			return
		}
		tunnel.Relay(st, c)
	})
}

// stop refuses connections opened after the command ended.
func (f *agentForward) stop() { f.ended.Store(true) }
