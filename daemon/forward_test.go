package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/mitogen-go/mitogend/agent"
	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
	"github.com/mitogen-go/mitogend/tunnel"
)

// The agent path of the forwarding services: a daemon router whose target context (a real
// agent, over a pipe) has no SSH connection, a trusted client, and an untrusted stranger. The
// SSH path runs against a real sshd in test/e2e.

const (
	fwdClientID   router.ID = 1
	fwdAgentID    router.ID = 2
	fwdStrangerID router.ID = 3
)

type fwdRig struct {
	client, stranger *tunnel.Endpoint
}

func newFwdRig(t *testing.T) *fwdRig {
	t.Helper()
	logf := testLogf(t)
	ep := tunnel.NewEndpoint(logf)
	r := router.New(router.Config{ID: proto.Root, Handler: ep, Logf: logf})
	ep.Attach(r)
	t.Cleanup(r.Close)
	newForwarding(ep, r.Trusted, func(router.ID) *ssh.Client { return nil }, logf).register()

	agentEnd, daemonEnd := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		agent.Run(ctx, agent.Config{In: agentEnd, Out: agentEnd, Logf: logf})
	}()
	if _, err := router.ReadHello(daemonEnd); err != nil {
		t.Fatal(err)
	}
	if err := router.WriteHello(daemonEnd, router.Hello{ID: fwdAgentID, Parent: proto.Root}); err != nil {
		t.Fatal(err)
	}
	r.AddLink(daemonEnd, router.LinkConfig{Name: "target", Peer: fwdAgentID})

	return &fwdRig{
		client:   fwdLeaf(t, r, fwdClientID, true, logf),
		stranger: fwdLeaf(t, r, fwdStrangerID, false, logf),
	}
}

// testLogf is t.Logf until the test ends, then silent: links go down on goroutines of their own.
func testLogf(t *testing.T) router.Logf {
	var mu sync.Mutex
	over := false
	t.Cleanup(func() { mu.Lock(); over = true; mu.Unlock() })
	return func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if !over {
			t.Logf(format, args...)
		}
	}
}

// fwdLeaf is a context on a link of its own to the daemon.
func fwdLeaf(t *testing.T, daemon *router.Router, id router.ID, trusted bool, logf router.Logf) *tunnel.Endpoint {
	leafEnd, daemonEnd := net.Pipe()
	ep := tunnel.NewEndpoint(logf)
	r := router.New(router.Config{ID: id, Handler: ep, Logf: logf})
	ep.Attach(r)
	t.Cleanup(r.Close)
	r.AddLink(leafEnd, router.LinkConfig{Name: "daemon", Parent: true, Trusted: true, Peer: proto.Root})
	daemon.AddLink(daemonEnd, router.LinkConfig{Name: fmt.Sprintf("leaf-%d", id), Trusted: trusted, Peer: id})
	return ep
}

// fwdOpen opens a forwarding stream at the daemon: the stream if the daemon accepted it, else
// the rejection (a *tunnel.OpenError).
func fwdOpen(t *testing.T, ep *tunnel.Endpoint, handle uint32, req any) (*tunnel.Stream, error) {
	t.Helper()
	payload, _ := json.Marshal(req)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := ep.Open(ctx, proto.Root, handle, payload)
	if ctx.Err() != nil {
		t.Fatal("no answer to the open")
	}
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { st.Close() })
	return st, nil
}

// rejected reports whether err is a rejection with reason.
func rejected(err error, reason tunnel.RejectReason) bool {
	var oe *tunnel.OpenError
	return errors.As(err, &oe) && oe.Reason == reason
}

func fwdEchoServer(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// fwdRoundTrip writes msg, half-closes, and reads everything back.
func fwdRoundTrip(t *testing.T, rw interface {
	io.ReadWriter
	CloseWrite() error
}, msg string) string {
	t.Helper()
	if _, err := io.WriteString(rw, msg); err != nil {
		t.Fatal(err)
	}
	rw.CloseWrite()
	b, err := io.ReadAll(rw)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDialViaAgent(t *testing.T) {
	rig := newFwdRig(t)
	port := fwdEchoServer(t)
	st, err := fwdOpen(t, rig.client, proto.DaemonDial, proto.ForwardDial{Context: fwdAgentID, DialRequest: proto.DialRequest{Host: "127.0.0.1", Port: port}})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if got := fwdRoundTrip(t, st, "through the agent"); got != "through the agent" {
		t.Errorf("echo %q", got)
	}
}

func TestDialViaAgentRefused(t *testing.T) {
	rig := newFwdRig(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().(*net.TCPAddr).Port // a port nothing listens on
	ln.Close()
	_, err = fwdOpen(t, rig.client, proto.DaemonDial, proto.ForwardDial{Context: fwdAgentID, DialRequest: proto.DialRequest{Host: "127.0.0.1", Port: closed}})
	if !rejected(err, tunnel.ConnectFailed) || err.Error() != "connect failed: Connection refused" {
		t.Errorf("open = %v, want the agent's rejection %q", err, "connect failed: Connection refused")
	}
}

func TestListenViaAgent(t *testing.T) {
	rig := newFwdRig(t)
	const ref = 7
	refs := make(chan uint32, 1)
	rig.client.Listen(proto.ClientForwarded, func(st *tunnel.Stream, payload []byte) {
		var fc proto.ForwardedConn
		json.Unmarshal(payload, &fc)
		refs <- fc.Ref
		b, _ := io.ReadAll(st)
		st.Write([]byte(strings.ToUpper(string(b))))
		st.Close()
	})
	st, err := fwdOpen(t, rig.client, proto.DaemonListen, proto.ForwardListen{Context: fwdAgentID, ListenRequest: proto.ListenRequest{Bind: "localhost", Ref: ref}})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	var lr proto.ListenReply
	if json.Unmarshal(st.AcceptPayload(), &lr) != nil || lr.Port == 0 {
		t.Fatalf("accept payload %q, want a ListenReply with the port", st.AcceptPayload())
	}
	addr := fmt.Sprintf("127.0.0.1:%d", lr.Port)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if got := fwdRoundTrip(t, c.(*net.TCPConn), "forwarded"); got != "FORWARDED" {
		t.Errorf("answer %q", got)
	}
	c.Close()
	if got := <-refs; got != ref {
		t.Errorf("the client got ref %d, want its own %d", got, ref)
	}
	st.Close() // the listener goes with the stream
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if errors.Is(err, syscall.ECONNREFUSED) {
			break
		}
		if err == nil {
			c.Close()
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("%s still listens after the stream closed (%v)", addr, err)
		}
	}
}

// Only local clients may use the services, and only for a target context.
func TestForwardingRefusesStrangers(t *testing.T) {
	rig := newFwdRig(t)
	port := fwdEchoServer(t)
	dial := proto.ForwardDial{Context: fwdAgentID, DialRequest: proto.DialRequest{Host: "127.0.0.1", Port: port}}
	if _, err := fwdOpen(t, rig.stranger, proto.DaemonDial, dial); !rejected(err, tunnel.Prohibited) {
		t.Errorf("an untrusted context's dial: %v, want administratively prohibited", err)
	}
	listen := proto.ForwardListen{Context: fwdAgentID, ListenRequest: proto.ListenRequest{Bind: "localhost"}}
	if _, err := fwdOpen(t, rig.stranger, proto.DaemonListen, listen); !rejected(err, tunnel.Prohibited) {
		t.Errorf("an untrusted context's listen: %v, want administratively prohibited", err)
	}
	payload, _ := json.Marshal(proto.PTYCheck{Context: fwdAgentID})
	if _, err := rig.stranger.Call(context.Background(), proto.Root, proto.DaemonPTYCheck, payload); err == nil {
		t.Error("an untrusted context could ask the pty policy")
	}
	dial.Context = fwdClientID // a client context is no target to forward from
	if _, err := fwdOpen(t, rig.client, proto.DaemonDial, dial); !rejected(err, tunnel.ConnectFailed) {
		t.Errorf("a dial through a client context: %v, want connect failed", err)
	}
}

// Behind an agent no sshd decides about ptys: the answer is yes without asking anyone.
func TestPTYCheckViaAgent(t *testing.T) {
	rig := newFwdRig(t)
	payload, _ := json.Marshal(proto.PTYCheck{Context: fwdAgentID})
	b, err := rig.client.Call(context.Background(), proto.Root, proto.DaemonPTYCheck, payload)
	var p proto.PTYPolicy
	if err != nil || json.Unmarshal(b, &p) != nil || !p.Allowed {
		t.Errorf("pty check: %q %v", b, err)
	}
}
