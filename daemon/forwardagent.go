package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
	"github.com/mitogen-go/mitogend/tunnel"
)

// The agent path: a context with no SSH connection of its own (reached through another agent)
// forwards with its agent's AgentDial and AgentListen, which connect and listen as the target
// user; no sshd stands between that context and the network. The daemon relays, so that clients
// use the daemon's services alone and never need to know which path a context takes.

// agentContext reports whether id may be served by its agent: a target, not a local client.
func (f *forwarding) agentContext(id router.ID) bool {
	return id != proto.Root && !f.trusted(id)
}

// dialViaAgent is serveDial through the context's agent.
func (f *forwarding) dialViaAgent(n *tunnel.NewStream, req proto.ForwardDial) {
	if !f.agentContext(req.Context) {
		n.Reject(tunnel.ConnectFailed, fmt.Sprintf("daemon: no target context %d", req.Context))
		return
	}
	payload, _ := json.Marshal(req.DialRequest)
	if st, ast, ok := f.openOnAgent(n, req.Context, proto.AgentDial, payload); ok {
		tunnel.Relay(st, ast)
	}
}

// agentOpenTimeout bounds the wait for an agent to answer an open, as fakessh bounds its own.
const agentOpenTimeout = time.Minute

// openOnAgent opens service on context id's agent for the client's open n and answers n as the
// agent answered: a rejection with the agent's reason, or an accept with its payload. It
// returns the client's stream and the agent's when the open succeeded.
func (f *forwarding) openOnAgent(n *tunnel.NewStream, id router.ID, service uint32, payload []byte) (*tunnel.Stream, *tunnel.Stream, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), agentOpenTimeout)
	defer cancel()
	ast, err := f.ep.Open(ctx, id, service, payload)
	if err != nil {
		rejectWith(n, err)
		return nil, nil, false
	}
	st, err := n.Accept(ast.AcceptPayload())
	if err != nil {
		ast.Close()
		return nil, nil, false
	}
	return st, ast, true
}

// agentListen is one AgentListen opened on a client's behalf: connections the agent opens back
// under the daemon's ref go to the client under its own.
type agentListen struct {
	agent, client router.ID
	ref           uint32 // the client's
}

// listenViaAgent is serveListen through the context's agent. Either stream ending ends the other.
func (f *forwarding) listenViaAgent(n *tunnel.NewStream, req proto.ForwardListen) {
	if !f.agentContext(req.Context) {
		n.Reject(tunnel.ConnectFailed, fmt.Sprintf("daemon: no target context %d", req.Context))
		return
	}
	ref := f.relays.add(agentListen{agent: req.Context, client: n.Peer(), ref: req.Ref})
	defer f.relays.drop(ref)
	lr := req.ListenRequest
	lr.Ref = ref
	payload, _ := json.Marshal(lr)
	st, ast, ok := f.openOnAgent(n, req.Context, proto.AgentListen, payload)
	if !ok {
		return
	}
	go func() {
		io.Copy(io.Discard, ast)
		st.Close()
	}()
	io.Copy(io.Discard, st)
	ast.Close()
}

// serveAgentForwarded takes a connection an agent accepted for listenViaAgent and opens it to
// the client. Only the agent that holds that listener may open it. The agent's open is accepted
// at once, before the client's is answered: its first bytes then wait here, not for a second
// round trip.
func (f *forwarding) serveAgentForwarded(n *tunnel.NewStream) {
	var fc proto.ForwardedConn
	err := json.Unmarshal(n.Payload(), &fc)
	l, ok := f.relays.get(fc.Ref)
	if err != nil || !ok || n.Peer() != l.agent {
		n.Reject(tunnel.Prohibited, "daemon: no such forward")
		return
	}
	st, err := n.Accept(nil)
	if err != nil {
		return
	}
	fc.Ref = l.ref
	p, _ := json.Marshal(fc)
	cst, err := f.ep.Open(context.Background(), l.client, proto.ClientForwarded, p)
	if err != nil {
		st.Close()
		return
	}
	tunnel.Relay(cst, st)
}
