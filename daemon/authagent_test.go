package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
	"github.com/mitogen-go/mitogend/tunnel"
)

// TestAuthAgentRelay: the daemon passes an agent connection on to the client whose -A command
// runs in the opener, under that command's ref and while it runs; any other opener, ref, or a
// ref whose command has ended is rejected (administratively prohibited), and the client never
// hears of it.
func TestAuthAgentRelay(t *testing.T) {
	logf := testLogf(t)
	ep := tunnel.NewEndpoint(logf)
	r := router.New(router.Config{ID: proto.Root, Handler: ep, Logf: logf})
	ep.Attach(r)
	t.Cleanup(r.Close)
	d := &Daemon{ep: ep}
	ep.ListenNew(proto.ClientAuthAgent, d.serveAuthAgent)

	client := fwdLeaf(t, r, fwdClientID, true, logf)
	agentEP := fwdLeaf(t, r, fwdAgentID, false, logf)
	stranger := fwdLeaf(t, r, fwdStrangerID, false, logf)
	var opens atomic.Int32
	client.Listen(proto.ClientAuthAgent, func(st *tunnel.Stream, _ []byte) {
		opens.Add(1)
		defer st.Close()
		io.Copy(st, st) // the "agent": an echo
	})

	exec, drop := d.relayAuthAgent(proto.FDExecRequest{Context: fwdAgentID, Exec: proto.ExecRequest{Command: "ssh-add -l", ForwardAgent: true}}, fwdClientID)
	if exec.AuthAgentRef == 0 {
		t.Fatal("no ref for a -A command")
	}
	roundTrip := func(ep *tunnel.Endpoint, ref uint32) string {
		t.Helper()
		payload, _ := json.Marshal(proto.AuthAgentConn{Ref: ref})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		st, err := ep.Open(ctx, proto.Root, proto.ClientAuthAgent, payload)
		var oe *tunnel.OpenError
		if errors.As(err, &oe) && oe.Reason == tunnel.Prohibited {
			return "rejected"
		}
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		io.WriteString(st, "request")
		st.CloseWrite()
		b, _ := io.ReadAll(st)
		return string(b)
	}
	if got := roundTrip(agentEP, exec.AuthAgentRef); got != "request" {
		t.Errorf("the command's agent: relayed %q, want the client's echo", got)
	}
	if got := roundTrip(stranger, exec.AuthAgentRef); got != "rejected" {
		t.Errorf("another target under the ref: relayed %q", got)
	}
	if got := roundTrip(agentEP, exec.AuthAgentRef+1); got != "rejected" {
		t.Errorf("the agent under another ref: relayed %q", got)
	}
	drop()
	if got := roundTrip(agentEP, exec.AuthAgentRef); got != "rejected" {
		t.Errorf("after the command ended: relayed %q", got)
	}
	if n := opens.Load(); n != 1 {
		t.Errorf("the client saw %d agent connections, want 1", n)
	}
	if e, _ := d.relayAuthAgent(proto.FDExecRequest{Exec: proto.ExecRequest{Command: "true"}}, fwdClientID); e.AuthAgentRef != 0 {
		t.Errorf("a command without -A got ref %d", e.AuthAgentRef)
	}
}
