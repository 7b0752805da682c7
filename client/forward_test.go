package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mitogen-go/mitogend/flagparse"
	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
	"github.com/mitogen-go/mitogend/tunnel"
)

// fwdDaemon stands in for mitogend's forwarding services, over the real router and tunnel: a
// dial echoes what it reads, a listen "binds" port 4242. It counts the opens.
type fwdDaemon struct {
	dials, listens atomic.Int32
}

const fwdTestTarget router.ID = 9

// fwdSession returns a session on a daemon that serves d.
func fwdSession(t *testing.T, d *fwdDaemon, stdio Stdio) *session {
	t.Helper()
	clientEnd, daemonEnd := net.Pipe()
	ep := tunnel.NewEndpoint(nil)
	r := router.New(router.Config{ID: proto.Root, Handler: ep})
	ep.Attach(r)
	t.Cleanup(r.Close)
	ep.ListenNew(proto.DaemonDial, func(n *tunnel.NewStream) {
		var req proto.ForwardDial
		if json.Unmarshal(n.Payload(), &req) != nil || req.Context != fwdTestTarget {
			n.Reject(tunnel.ConnectFailed, "bad request")
			return
		}
		d.dials.Add(1)
		st, err := n.Accept(nil)
		if err != nil {
			return
		}
		io.Copy(st, st)
		st.CloseWrite()
	})
	ep.ListenNew(proto.DaemonListen, func(n *tunnel.NewStream) {
		d.listens.Add(1)
		reply, _ := json.Marshal(proto.ListenReply{Port: 4242})
		st, err := n.Accept(reply)
		if err != nil {
			return
		}
		io.Copy(io.Discard, st)
		st.Close()
	})
	go func() {
		if _, err := router.ReadHello(daemonEnd); err != nil {
			return
		}
		router.WriteHello(daemonEnd, router.Hello{ID: 5, Parent: proto.Root})
		r.AddLink(daemonEnd, router.LinkConfig{Name: "client", Trusted: true, Peer: 5})
	}()
	dc, err := attachDaemon(clientEnd, clientEnd, "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dc.Close() })
	return &session{stdio: stdio, daemon: dc, ep: dc.Endpoint(), target: fwdTestTarget, config: &resolvedConfig{}}
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func listening(port int) bool {
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err == nil {
		c.Close()
	}
	return err == nil
}

// TestForwardingDisabled: when the daemon says forwarding is disabled (ssh's answer to a
// changed host key let through), fakessh sets up no -L, -D or -R and says nothing; with the
// same command line otherwise, it sets up all three.
func TestForwardingDisabled(t *testing.T) {
	for _, disabled := range []bool{false, true} {
		t.Run(fmt.Sprintf("disabled=%v", disabled), func(t *testing.T) {
			d := &fwdDaemon{}
			var stderr bytes.Buffer
			s := fwdSession(t, d, Stdio{Stderr: &stderr})
			s.fwdDisabled = disabled
			local, dynamic := freePort(t), freePort(t)
			opts, err := flagparse.Parse([]string{"-L", fmt.Sprintf("%d:127.0.0.1:1", local), "-D", fmt.Sprint(dynamic),
				"-R", "0:127.0.0.1:1", "host", "true"})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if err := s.startForwards(ctx, opts); err != nil {
				t.Fatal(err)
			}
			wantMsg := "Allocated port 4242 for remote forward to 127.0.0.1:1\r\n"
			if disabled {
				wantMsg = ""
			}
			if listening(local) == disabled || listening(dynamic) == disabled || int(d.listens.Load()) != map[bool]int{false: 1}[disabled] || stderr.String() != wantMsg {
				t.Errorf("-L listening %v, -D listening %v, %d remote listens, stderr %q; want forwards %v and stderr %q",
					listening(local), listening(dynamic), d.listens.Load(), stderr.String(), !disabled, wantMsg)
			}
		})
	}
}

// TestForwardingDisabledKeepsStdio: -W still runs, as in ssh 9.2, whose sshconnect.c clears
// only the local and remote forwards.
func TestForwardingDisabledKeepsStdio(t *testing.T) {
	d := &fwdDaemon{}
	var stdout, stderr bytes.Buffer
	s := fwdSession(t, d, Stdio{Stdin: strings.NewReader("via -W\n"), Stdout: &stdout, Stderr: &stderr})
	s.fwdDisabled = true
	opts, err := flagparse.Parse([]string{"-W", "127.0.0.1:80", "host"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.startForwards(ctx, opts); err != nil {
		t.Fatal(err)
	}
	if err := s.stdioForward(ctx, opts); err != nil {
		t.Fatal(err)
	}
	if stdout.String() != "via -W\n" || stderr.String() != "" || d.dials.Load() != 1 {
		t.Errorf("stdout %q stderr %q, %d dials", stdout.String(), stderr.String(), d.dials.Load())
	}
}
