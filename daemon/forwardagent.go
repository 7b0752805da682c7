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
func (f *forwarding) dialViaAgent(st *tunnel.Stream, req proto.ForwardDial) {
	if !f.agentContext(req.Context) {
		openFailed(st, fmt.Sprintf("daemon: no target context %d", req.Context))
		return
	}
	payload, _ := json.Marshal(req.DialRequest)
	if ast, ok := f.openOnAgent(st, req.Context, proto.AgentDial, payload); ok {
		tunnel.Relay(st, ast)
	}
}

// agentOpenTimeout bounds the wait for an agent to answer an open, as fakessh bounds its own.
const agentOpenTimeout = time.Minute

// openOnAgent opens service on context id's agent for the client's stream st and waits for the
// agent's answer, which it passes on: a refusal in the agent's words, or open-ok with its
// payload. It returns the agent's stream when the open succeeded.
func (f *forwarding) openOnAgent(st *tunnel.Stream, id router.ID, service uint32, payload []byte) (*tunnel.Stream, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), agentOpenTimeout)
	defer cancel()
	ast, err := f.ep.Open(ctx, id, service, payload)
	if err != nil {
		openFailed(st, err.Error())
		return nil, false
	}
	answer, ok := agentAnswer(ast)
	if !ok {
		ast.Close()
		openFailed(st, string(answer))
		return nil, false
	}
	if err := st.SendRequest(proto.ReqOpenOK, answer); err != nil {
		ast.Close()
		st.Close()
		return nil, false
	}
	return ast, true
}

// agentAnswer waits for an agent's open-ok (true, its payload) or open-failed (false, reason).
func agentAnswer(ast *tunnel.Stream) ([]byte, bool) {
	r, ok := <-ast.Requests()
	switch {
	case !ok:
		return []byte("connection closed"), false
	case r.Name == proto.ReqOpenOK:
		return r.Payload, true
	}
	return r.Payload, false
}

// agentListen is one AgentListen opened on a client's behalf: connections the agent opens back
// under the daemon's ref go to the client under its own.
type agentListen struct {
	agent, client router.ID
	ref           uint32 // the client's
}

// listenViaAgent is serveListen through the context's agent. Either stream ending ends the other.
func (f *forwarding) listenViaAgent(st *tunnel.Stream, req proto.ForwardListen) {
	if !f.agentContext(req.Context) {
		openFailed(st, fmt.Sprintf("daemon: no target context %d", req.Context))
		return
	}
	ref := f.addRelay(agentListen{agent: req.Context, client: st.Peer(), ref: req.Ref})
	defer f.dropRelay(ref)
	lr := req.ListenRequest
	lr.Ref = ref
	payload, _ := json.Marshal(lr)
	ast, ok := f.openOnAgent(st, req.Context, proto.AgentListen, payload)
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

func (f *forwarding) addRelay(l agentListen) uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextRef++
	f.relays[f.nextRef] = l
	return f.nextRef
}

func (f *forwarding) dropRelay(ref uint32) {
	f.mu.Lock()
	delete(f.relays, ref)
	f.mu.Unlock()
}

// serveAgentForwarded takes a connection an agent accepted for listenViaAgent and opens it to
// the client. Only the agent that holds that listener may open it.
func (f *forwarding) serveAgentForwarded(st *tunnel.Stream, payload []byte) {
	var fc proto.ForwardedConn
	err := json.Unmarshal(payload, &fc)
	f.mu.Lock()
	l, ok := f.relays[fc.Ref]
	f.mu.Unlock()
	if err != nil || !ok || st.Peer() != l.agent {
		st.Close()
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
