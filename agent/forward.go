package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"

	"github.com/mitogen-go/mitogend/internal/syserr"
	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
	"github.com/mitogen-go/mitogend/tunnel"
)

// registerForwarding offers the services behind -W, -L, -R and -D for a context the daemon has
// no SSH connection to (elsewhere the daemon uses sshd's own channels, so that sshd's policy
// applies). The agent runs as the target user, so it can connect and listen exactly where that
// user's ssh session could; it applies sshd's defaults on top (GatewayPorts no, no privileged
// remote ports for non-root).
func registerForwarding(a *agent) {
	a.ep.ListenNew(proto.AgentDial, a.openFromController(serveDial))
	a.ep.ListenNew(proto.AgentListen, a.openFromController(func(n *tunnel.NewStream) { serveListen(a.ep, n, a.logf) }))
	a.ep.ListenNew(proto.AgentHold, a.fromController(func(s *tunnel.Stream, _ []byte) {
		io.Copy(io.Discard, s)
		s.Close()
	}))
}

// serveDial is sshd's direct-tcpip (and direct-streamlocal): connect, then accept (or reject
// with sshd's reason), relay.
func serveDial(n *tunnel.NewStream) {
	var req proto.DialRequest
	if err := json.Unmarshal(n.Payload(), &req); err != nil {
		n.Reject(tunnel.ConnectFailed, "agent: bad dial request: "+err.Error())
		return
	}
	network, addr := "tcp", net.JoinHostPort(req.Host, strconv.Itoa(req.Port))
	if req.Path != "" {
		network, addr = "unix", req.Path
	}
	c, err := net.Dial(network, addr)
	if err != nil {
		n.Reject(tunnel.ConnectFailed, syserr.Text(err))
		return
	}
	s, err := n.Accept(nil)
	if err != nil {
		c.Close()
		return
	}
	tunnel.Relay(s, c)
}

// serveListen is sshd's tcpip-forward: listen, and open each accepted connection back to the
// caller. The listener ends with the stream: when the caller closes it, or when the caller's
// context disconnects (the endpoint fails streams to a departed context), or when opening a
// connection back finds the caller gone.
func serveListen(ep *tunnel.Endpoint, n *tunnel.NewStream, logf router.Logf) {
	var req proto.ListenRequest
	if err := json.Unmarshal(n.Payload(), &req); err != nil {
		n.Reject(tunnel.ConnectFailed, "agent: bad listen request: "+err.Error())
		return
	}
	lns, port, err := listenRemote(req)
	if err != nil {
		logf("agent: remote forward %s: %v", listenName(req), err)
		n.Reject(tunnel.ConnectFailed, err.Error())
		return
	}
	reply, _ := json.Marshal(proto.ListenReply{Port: port})
	s, err := n.Accept(reply)
	if err != nil {
		closeAll(lns)
		return
	}
	var wg sync.WaitGroup
	for _, ln := range lns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			acceptLoop(ep, s, ln, req.Ref)
		}()
	}
	io.Copy(io.Discard, s) // returns when the stream ends, for whichever reason
	closeAll(lns)
	s.Close()
	wg.Wait()
}

func acceptLoop(ep *tunnel.Endpoint, s *tunnel.Stream, ln net.Listener, ref uint32) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return // closed by serveListen
		}
		go func() {
			if err := forwardBack(ep, s, c, ref); err != nil {
				// The caller is gone (or cannot take connections): stop listening for it.
				s.Close()
			}
		}()
	}
}

// forwardBack opens an accepted connection to the client that asked for the listener.
func forwardBack(ep *tunnel.Endpoint, s *tunnel.Stream, c net.Conn, ref uint32) error {
	fc := proto.ForwardedConn{Ref: ref}
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		fc.OriginHost, fc.OriginPort = a.IP.String(), a.Port
	}
	payload, _ := json.Marshal(fc)
	st, err := ep.Open(context.Background(), s.Peer(), proto.ClientForwarded, payload)
	if err != nil {
		c.Close()
		return err
	}
	tunnel.Relay(st, c)
	return nil
}

// listenRemote binds as sshd does with GatewayPorts no: TCP on loopback (IPv6 and IPv4, the
// same port for both), whatever bind address the client named. It succeeds if either binds.
func listenRemote(req proto.ListenRequest) ([]net.Listener, int, error) {
	if req.Path != "" {
		ln, err := net.Listen("unix", req.Path)
		if err != nil {
			return nil, 0, fmt.Errorf("unix_listener: cannot bind to path %s: %s", req.Path, syserr.Text(err))
		}
		return []net.Listener{ln}, 0, nil
	}
	if req.Port < 0 || req.Port > 65535 {
		return nil, 0, fmt.Errorf("bad port %d", req.Port)
	}
	if req.Port != 0 && req.Port < 1024 && os.Geteuid() != 0 {
		return nil, 0, fmt.Errorf("port %d is privileged and the target user is not root", req.Port)
	}
	var lns []net.Listener
	port := req.Port
	var lastErr error
	for _, a := range []struct{ network, host string }{{"tcp6", "::1"}, {"tcp4", "127.0.0.1"}} {
		ln, err := net.Listen(a.network, net.JoinHostPort(a.host, strconv.Itoa(port)))
		if err != nil {
			lastErr = err
			continue
		}
		if port == 0 {
			port = ln.Addr().(*net.TCPAddr).Port
		}
		lns = append(lns, ln)
	}
	if len(lns) == 0 {
		return nil, 0, fmt.Errorf("cannot listen to port %d: %s", req.Port, syserr.Text(lastErr))
	}
	return lns, port, nil
}

func listenName(req proto.ListenRequest) string {
	if req.Path != "" {
		return req.Path
	}
	return strconv.Itoa(req.Port)
}

func closeAll(lns []net.Listener) {
	for _, ln := range lns {
		ln.Close()
	}
}
