package daemon

import (
	"context"
	"encoding/json"

	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
	"github.com/mitogen-go/mitogend/tunnel"
)

// Agent forwarding for commands on passed descriptors (proto/authagent.go). Such a command runs
// in its context's agent, never on a session channel of its own: sshd's agent forwarding is
// per connection (the first session to ask makes the one socket, and every later session on the
// connection gets SSH_AUTH_SOCK, until the connection ends), and the daemon's connections serve
// every call to the host. The agent opens each connection to the command's socket back to the
// daemon, which opened its AgentExec stream; the daemon passes it on to the client that asked,
// found by the ref it put in the request.

// authAgentRelay is a -A command the daemon runs in an agent (Daemon.authAgent, by ref).
type authAgentRelay struct {
	agent, client router.ID
}

// relayAuthAgent returns req's exec request, with a ref under which its agent's connections
// reach client when it asks for -A, and the function that forgets the ref when the command ends.
func (d *Daemon) relayAuthAgent(req proto.FDExecRequest, client router.ID) (proto.ExecRequest, func()) {
	e := req.Exec
	if !e.ForwardAgent {
		return e, func() {}
	}
	ref := d.authAgent.add(authAgentRelay{agent: req.Context, client: client})
	e.AuthAgentRef = ref
	return e, func() { d.authAgent.drop(ref) }
}

// serveAuthAgent passes one agent connection on to its client. Only the agent the command runs
// in may open it, and only while the command runs.
func (d *Daemon) serveAuthAgent(ns *tunnel.NewStream) {
	var c proto.AuthAgentConn
	err := json.Unmarshal(ns.Payload(), &c)
	rel, ok := d.authAgent.get(c.Ref)
	if err != nil || !ok || ns.Peer() != rel.agent {
		ns.Reject(tunnel.Prohibited, "daemon: no agent forwarding under that ref for this opener")
		return
	}
	cst, err := openClientAuthAgent(d.ep, rel.client)
	if err != nil {
		ns.Reject(tunnel.ConnectFailed, err.Error())
		return
	}
	st, err := ns.Accept(nil)
	if err != nil {
		cst.Close()
		return
	}
	tunnel.Relay(cst, st)
}

// openClientAuthAgent opens one agent connection to the client.
func openClientAuthAgent(ep *tunnel.Endpoint, client router.ID) (*tunnel.Stream, error) {
	ctx, cancel := context.WithTimeout(context.Background(), agentOpenTimeout)
	defer cancel()
	return ep.Open(ctx, client, proto.ClientAuthAgent, nil)
}
