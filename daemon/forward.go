package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"

	"golang.org/x/crypto/ssh"

	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
	"github.com/mitogen-go/mitogend/tunnel"
)

// Port forwarding and the pty policy go over sshd's own channels wherever a context sits
// directly on an SSH connection of the daemon's: sshd then applies AllowTcpForwarding,
// DisableForwarding, PermitOpen, PermitListen, AllowStreamLocalForwarding, GatewayPorts and
// PermitTTY (and authorized_keys restrictions) to fakessh as it does to ssh. The agent, which
// runs as the user, would bypass all of them. Contexts with no SSH connection of their own
// (started through another agent) keep the agent's services (forwardagent.go).

// forwarding serves proto.DaemonDial, DaemonListen and DaemonPTYCheck.
type forwarding struct {
	ep      *tunnel.Endpoint
	trusted func(router.ID) bool        // whether a context is behind a trusted link (a local client)
	direct  func(router.ID) *ssh.Client // the SSH connection a context sits on; nil if none
	logf    router.Logf

	relays refTable[agentListen] // listeners in agents (forwardagent.go)

	mu   sync.Mutex // protects ptys
	ptys map[*ssh.Client]*ptyProbe
}

func newForwarding(ep *tunnel.Endpoint, trusted func(router.ID) bool, direct func(router.ID) *ssh.Client, logf router.Logf) *forwarding {
	return &forwarding{ep: ep, trusted: trusted, direct: direct, logf: logf,
		ptys: map[*ssh.Client]*ptyProbe{}}
}

// registerForwarding offers the forwarding services on the daemon's endpoint.
func (d *Daemon) registerForwarding() {
	newForwarding(d.ep, d.r.Trusted, d.directClient, d.logf).register()
}

func (f *forwarding) register() {
	f.ep.ListenNew(proto.DaemonDial, f.guard(f.serveDial))
	f.ep.ListenNew(proto.DaemonListen, f.guard(f.serveListen))
	f.ep.HandleCall(proto.DaemonPTYCheck, f.handlePTYCheck)
	f.ep.ListenNew(proto.ClientForwarded, f.serveAgentForwarded) // checks its peer itself
}

// directClient finds the SSH connection that context id sits on: the context is the agent the
// daemon started over that connection. Connections still opening have no context yet.
func (d *Daemon) directClient(id router.ID) *ssh.Client {
	if c := d.directConn(id); c != nil {
		return c.client.Client
	}
	return nil
}

// dialedConn is the connection whose agent is or will be context id once its SSH login is
// done (the agent may still be on its way behind an early first call), nil if none. id and
// client are set before dialed closes.
func (d *Daemon) dialedConn(id router.ID) *conn {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c := d.conns.byID[id]; c != nil && isClosed(c.dialed) && c.dialErr == nil {
		return c
	}
	return nil
}

// directConn is dialedConn once its agent is up, nil otherwise.
func (d *Daemon) directConn(id router.ID) *conn {
	c := d.dialedConn(id)
	if c == nil || !isClosed(c.ready) || c.err != nil {
		return nil
	}
	return c
}

// allowed is the daemon's rule for its services: only local clients, never a target.
func (f *forwarding) allowed(src router.ID) bool {
	if src == proto.Root || !f.trusted(src) {
		f.logf("daemon: refused forwarding for untrusted context %d", src)
		return false
	}
	return true
}

func (f *forwarding) guard(h tunnel.NewStreamHandler) tunnel.NewStreamHandler {
	return func(n *tunnel.NewStream) {
		if !f.allowed(n.Peer()) {
			n.Reject(tunnel.Prohibited, "daemon: permission denied")
			return
		}
		h(n)
	}
}

// rejectWith passes a refusal on: sshd's or an agent's reason and message as they are,
// anything else as a failed connect.
func rejectWith(n *tunnel.NewStream, err error) {
	var oe *ssh.OpenChannelError
	var te *tunnel.OpenError
	switch {
	case errors.As(err, &oe):
		n.Reject(tunnel.RejectReason(oe.Reason), oe.Message) // RFC 4254 codes both
	case errors.As(err, &te):
		n.Reject(te.Reason, te.Message)
	default:
		n.Reject(tunnel.ConnectFailed, err.Error())
	}
}

// serveDial is -L, -D and -W: a direct-tcpip (or direct-streamlocal) channel, relayed. The
// client's open is answered with the channel's: accepted once sshd confirms it.
func (f *forwarding) serveDial(n *tunnel.NewStream) {
	var req proto.ForwardDial
	if err := json.Unmarshal(n.Payload(), &req); err != nil {
		n.Reject(tunnel.ConnectFailed, "daemon: bad dial request: "+err.Error())
		return
	}
	client := f.direct(req.Context)
	if client == nil {
		f.dialViaAgent(n, req)
		return
	}
	c, err := sshDial(client, req.DialRequest)
	if err != nil {
		rejectWith(n, err)
		return
	}
	st, err := n.Accept(nil)
	if err != nil {
		c.Close()
		return
	}
	tunnel.Relay(st, c)
}

func sshDial(client *ssh.Client, req proto.DialRequest) (net.Conn, error) {
	if req.Path != "" {
		return client.Dial("unix", req.Path)
	}
	return client.Dial("tcp", net.JoinHostPort(req.Host, strconv.Itoa(req.Port)))
}

// openFailure words a refused channel as ssh's channel_input_open_failure does after
// "open failed: ", e.g. "administratively prohibited: open failed".
func openFailure(err error) string {
	var oe *ssh.OpenChannelError
	if !errors.As(err, &oe) {
		return err.Error()
	}
	return rejectionText(oe.Reason) + ": " + oe.Message
}

// rejectionText is ssh's reason2txt.
func rejectionText(r ssh.RejectionReason) string { return tunnel.RejectReason(r).String() }

// serveListen is -R: a tcpip-forward (or streamlocal-forward) request whose connections are
// opened to the caller's ClientForwarded service. The listener is cancelled when the stream
// ends: the caller closed it or went away.
func (f *forwarding) serveListen(n *tunnel.NewStream) {
	var req proto.ForwardListen
	if err := json.Unmarshal(n.Payload(), &req); err != nil {
		n.Reject(tunnel.ConnectFailed, "daemon: bad listen request: "+err.Error())
		return
	}
	client := f.direct(req.Context)
	if client == nil {
		f.listenViaAgent(n, req)
		return
	}
	ln, port, err := sshListen(client, req.ListenRequest)
	if err != nil {
		f.logf("daemon: context %d: remote forward %s: %v", req.Context, listenName(req.ListenRequest), err)
		n.Reject(tunnel.Prohibited, err.Error()) // sshd refused the tcpip-forward request
		return
	}
	reply, _ := json.Marshal(proto.ListenReply{Port: port})
	st, err := n.Accept(reply)
	if err != nil {
		ln.Close()
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.acceptLoop(st, ln, req.Ref)
	}()
	io.Copy(io.Discard, st) // returns when the stream ends, for whichever reason
	ln.Close()
	st.Close()
	<-done
}

// sshListen asks sshd to listen and returns the port it bound (0 for a Unix socket).
func sshListen(client *ssh.Client, req proto.ListenRequest) (net.Listener, int, error) {
	if req.Path != "" {
		ln, err := client.ListenUnix(req.Path)
		return ln, 0, err
	}
	ln, err := client.Listen("tcp", net.JoinHostPort(req.Bind, strconv.Itoa(req.Port)))
	if err != nil {
		return nil, 0, err
	}
	port := req.Port
	if a, ok := ln.Addr().(*net.TCPAddr); ok {
		port = a.Port // sshd's answer when Port was 0
	}
	return ln, port, nil
}

func listenName(req proto.ListenRequest) string {
	if req.Path != "" {
		return req.Path
	}
	return net.JoinHostPort(req.Bind, strconv.Itoa(req.Port))
}

// acceptLoop opens each forwarded connection to the client. It ends when the listener does
// (cancelled, or the SSH connection gone, which ends the stream too) or the client is gone.
func (f *forwarding) acceptLoop(st *tunnel.Stream, ln net.Listener, ref uint32) {
	for {
		c, err := ln.Accept()
		if err != nil {
			st.Close()
			return
		}
		go func() {
			fc := proto.ForwardedConn{Ref: ref}
			if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
				fc.OriginHost, fc.OriginPort = a.IP.String(), a.Port
			}
			payload, _ := json.Marshal(fc)
			cst, err := f.ep.Open(context.Background(), st.Peer(), proto.ClientForwarded, payload)
			if err != nil {
				c.Close()
				st.Close() // the client cannot take connections: stop listening for it
				return
			}
			tunnel.Relay(cst, c)
		}()
	}
}
