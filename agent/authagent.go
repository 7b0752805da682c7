package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/mitogen-go/mitogend/emulation"
	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
	"github.com/mitogen-go/mitogend/tunnel"
)

// authSockParent is where forwarded agent sockets go: sshd's auth_input_request_forwarding
// makes them under /tmp whatever TMPDIR says, and a short path keeps within a socket name's
// 108 bytes.
const authSockParent = "/tmp"

// authSocket is one command's forwarded agent: a listener in a directory of its own, mode 0700,
// made as the context's user, so that no other user can reach it. Connections to it are opened
// back to the client that asked.
type authSocket struct {
	dir, path string
	ln        net.Listener
	once      sync.Once
}

// listenAuthAgent makes the socket for a -A command opened by client, and serves it until close.
func listenAuthAgent(ep *tunnel.Endpoint, client router.ID, ref uint32, logf router.Logf) (*authSocket, error) {
	dir, err := os.MkdirTemp(authSockParent, "ssh-") // mode 0700
	if err != nil {
		return nil, fmt.Errorf("agent: agent forwarding: %w", err)
	}
	path := filepath.Join(dir, fmt.Sprintf("agent.%d", os.Getpid()))
	ln, err := net.Listen("unix", path) // under the umask, as sshd makes it: the directory keeps others out
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("agent: agent forwarding: %w", err)
	}
	a := &authSocket{dir: dir, path: path, ln: ln}
	go a.serve(ep, client, ref, logf)
	return a, nil
}

func (a *authSocket) serve(ep *tunnel.Endpoint, client router.ID, ref uint32, logf router.Logf) {
	for {
		c, err := a.ln.Accept()
		if err != nil {
			return // closed
		}
		go func() {
			st, err := openAuthAgent(ep, client, ref)
			if err != nil {
				logf("agent: forwarded agent connection: %v", err)
				c.Close()
				return
			}
			tunnel.Relay(st, c)
		}()
	}
}

// openAuthAgent opens one agent connection back to the client (ssh's auth-agent@openssh.com
// channel open).
func openAuthAgent(ep *tunnel.Endpoint, client router.ID, ref uint32) (*tunnel.Stream, error) {
	ctx, cancel := context.WithTimeout(context.Background(), authAgentOpenTimeout)
	defer cancel()
	payload, _ := json.Marshal(proto.AuthAgentConn{Ref: ref})
	return ep.Open(ctx, client, proto.ClientAuthAgent, payload)
}

// authAgentOpenTimeout bounds an open to a client that no longer answers.
const authAgentOpenTimeout = time.Minute

// forwardAgent makes the socket for req when it asks for -A, and names it in er's environment.
// As under sshd, a socket that cannot be made leaves the command without one. The result may be
// nil, which close takes.
func forwardAgent(a *agent, s *tunnel.Stream, req proto.ExecRequest, er *emulation.Request) *authSocket {
	if !req.ForwardAgent {
		return nil
	}
	sock, err := listenAuthAgent(a.ep, s.Peer(), req.AuthAgentRef, a.logf)
	if err != nil {
		a.logf("%v", err)
		return nil
	}
	er.Env = withAuthSock(er.Env, sock.path)
	return sock
}

// close removes the socket and its directory, once; connections already relayed run to their
// end.
func (a *authSocket) close() {
	if a == nil {
		return
	}
	a.once.Do(func() {
		a.ln.Close()
		os.RemoveAll(a.dir)
	})
}

// withAuthSock is env with SSH_AUTH_SOCK naming path, whatever the client sent.
func withAuthSock(env map[string]string, path string) map[string]string {
	out := make(map[string]string, len(env)+1)
	for k, v := range env {
		out[k] = v
	}
	out[proto.AuthSockEnv] = path
	return out
}
