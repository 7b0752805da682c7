package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/mitogen-go/mitogend/flagparse"
	"github.com/mitogen-go/mitogend/internal/syserr"
	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/tunnel"
)

// Port forwarding, as ssh's channels.c does it on the client side, over the tunnel:
//
//   - -W and each -L/-D connection open a DaemonDial stream; the daemon opens a direct-tcpip
//     (or direct-streamlocal) channel on the destination's SSH connection, so that the target
//     sshd's policy (AllowTcpForwarding, PermitOpen...) decides, as it does for ssh.
//   - -R opens one DaemonListen stream per forward; the daemon sends tcpip-forward (or
//     streamlocal-forward) and opens each connection sshd forwards to this context's
//     ClientForwarded service, which connects locally. The remote listener lives as long as
//     that stream, so it goes away with this process.
//   - Where the destination has no SSH connection of its own, the daemon uses its agent's
//     AgentDial and AgentListen instead; this side does not change.
//   - -N holds an AgentHold stream so that a lost tunnel ends fakessh, as it ends ssh.
//   - -f re-executes fakessh detached (Go cannot fork) and exits 0 once the child has set up
//     its forwards.
//
// Messages are ssh's, word for word, including its channel numbers.

// fwdReadyEnv names the descriptor on which a background child (-f) reports that it is ready.
const fwdReadyEnv = "MITOGEN_FAKESSH_READY_FD"

// startForwards sets up -L, -R and -D forwards over the tunnel, goes to the background for -f,
// and for -N holds the tunnel: it then returns only when the tunnel is lost (an *Error) or ctx
// is done (nil).
func (s *session) startForwards(ctx context.Context, opts *flagparse.Options) error {
	opts = s.withResolvedForwards(opts)
	readyFD := s.stdio.getenv(fwdReadyEnv)
	if opts.Background {
		if opts.Command == "" && !opts.NoCommand {
			return &Error{Msg: "Cannot fork into background without a command to execute."}
		}
		if readyFD == "" {
			return s.forkBackground()
		}
	}
	f := newForwarder(ctx, s, opts)
	if opts.StdioForward != "" {
		f.alloc() // ssh's stdio forward is channel 0, set up before the others
	}
	// A daemon that let a changed host key through has said so in its warnings; like ssh it
	// then sets up no -L, -R or -D (sshconnect.c), though -W still runs.
	if clear, _ := opts.Config.Get("clearallforwardings"); clear != "yes" && !s.fwdDisabled {
		if err := f.startLocal(opts); err != nil {
			return err
		}
		if !opts.NoCommand {
			s.sessionChan = f.alloc() // the session channel, which ssh opens after the listeners
		}
		if err := f.startRemote(opts); err != nil {
			return err
		}
	}
	if opts.Background && readyFD != "" {
		f.detach(readyFD, opts.NoCommand)
	}
	if opts.NoCommand && opts.StdioForward == "" {
		return f.hold()
	}
	return nil
}

// forwarder is one fakessh's forwards.
type forwarder struct {
	ctx           context.Context
	s             *session
	gateway       bool // GatewayPorts yes: -L/-D without an address listen on all interfaces
	exitOnFailure bool // ExitOnForwardFailure yes

	mu     sync.Mutex
	log    io.Writer // ssh's own messages: stderr, or nothing with -q or once in the background
	chans  []bool    // ssh channel numbers in use
	remote map[uint32]fwdRemote
}

func newForwarder(ctx context.Context, s *session, opts *flagparse.Options) *forwarder {
	yes := func(k string) bool { v, _ := opts.Config.Get(k); return v == "yes" }
	f := &forwarder{ctx: ctx, s: s, gateway: yes("gatewayports"), exitOnFailure: yes("exitonforwardfailure"),
		log: s.stdio.Stderr, remote: map[uint32]fwdRemote{}}
	if opts.Quiet || f.log == nil {
		f.log = io.Discard
	}
	return f
}

func (f *forwarder) logf(format string, args ...any) {
	f.mu.Lock()
	w := f.log
	f.mu.Unlock()
	io.WriteString(w, logLines(fmt.Sprintf(format, args...)))
}

// alloc takes the lowest free channel number, as ssh's channel_new does.
func (f *forwarder) alloc() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i := slices.Index(f.chans, false); i >= 0 {
		f.chans[i] = true
		return i
	}
	f.chans = append(f.chans, true)
	return len(f.chans) - 1
}

func (f *forwarder) free(id int) {
	f.mu.Lock()
	f.chans[id] = false
	f.mu.Unlock()
}

// fwdAddr is one side of a forward in the form flagparse stores it ("8080", "[h]:80", "/path").
type fwdAddr struct {
	host    string
	hasHost bool
	port    int
	path    string
}

func (a fwdAddr) dialRequest() proto.DialRequest {
	return proto.DialRequest{Host: a.host, Port: a.port, Path: a.path}
}

func parseFwdAddr(s string) (fwdAddr, error) {
	switch {
	case strings.HasPrefix(s, "["):
		i := strings.LastIndex(s, "]:")
		if i < 0 {
			return fwdAddr{}, fmt.Errorf("client: bad forward address %q", s)
		}
		port, err := strconv.Atoi(s[i+2:])
		return fwdAddr{host: s[1:i], hasHost: true, port: port}, err
	case strings.Contains(s, "/"):
		return fwdAddr{path: s}, nil
	}
	port, err := strconv.Atoi(s)
	return fwdAddr{port: port}, err
}

// parseFwdSpec splits "LISTEN [CONNECT]"; connect is zero for a dynamic forward.
func parseFwdSpec(spec string) (listen, connect fwdAddr, dynamic bool, err error) {
	l, c, found := strings.Cut(spec, " ")
	if listen, err = parseFwdAddr(l); err != nil || !found {
		return listen, connect, true, err
	}
	connect, err = parseFwdAddr(c)
	return listen, connect, false, err
}

// fwdSplitHostPort parses -W's "host:port" as ssh's parse_fwd_field does: "[...]" quotes a
// field and a backslash escapes the next character.
func fwdSplitHostPort(s string) (string, int, error) {
	var host string
	if strings.HasPrefix(s, "[") {
		i := strings.Index(s, "]:")
		if i < 0 {
			return "", 0, fmt.Errorf("client: bad host:port %q", s)
		}
		host, s = s[1:i], s[i+2:]
	} else {
		var b strings.Builder
		for len(s) > 0 && s[0] != ':' {
			if s[0] == '\\' && len(s) > 1 {
				s = s[1:]
			}
			b.WriteByte(s[0])
			s = s[1:]
		}
		if s == "" {
			return "", 0, fmt.Errorf("client: bad host:port %q", host)
		}
		host, s = b.String(), s[1:]
	}
	port, err := strconv.Atoi(s)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("client: bad port %q", s)
	}
	return host, port, nil
}

// fwdOpenError is a dial the daemon could not make (sshd refused the channel, or the agent
// could not connect); Reason is what ssh prints after "open failed: ".
type fwdOpenError struct{ Reason string }

func (e *fwdOpenError) Error() string { return "client: open failed: " + e.Reason }

// fwdDial opens a DaemonDial stream, which the daemon accepts once the channel is open, as
// ssh waits for a channel open confirmation.
func (s *session) fwdDial(ctx context.Context, req proto.DialRequest) (*tunnel.Stream, error) {
	payload, _ := json.Marshal(proto.ForwardDial{Context: s.target, DialRequest: req})
	st, err := s.ep.Open(ctx, proto.Root, proto.DaemonDial, payload)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, &fwdOpenError{Reason: err.Error()} // an OpenError reads as ssh's "reason: message"
	}
	return st, nil
}

func fwdReason(err error) string {
	var oe *fwdOpenError
	if errors.As(err, &oe) {
		return oe.Reason
	}
	return err.Error()
}

// stdioForward joins stdin/stdout to a TCP connection opened from the target (-W), a
// direct-tcpip channel as ssh's. Like ssh, it ends once the far end has closed and its data has
// been written out, even if stdin is still open.
func (s *session) stdioForward(ctx context.Context, opts *flagparse.Options) error {
	host, port, err := fwdSplitHostPort(opts.StdioForward)
	if err != nil {
		return &Error{Msg: "Bad stdio forwarding specification '" + opts.StdioForward + "'", Err: err}
	}
	st, err := s.fwdDial(ctx, proto.DialRequest{Host: host, Port: port})
	if err != nil {
		if opts.Quiet {
			return &Error{Err: err} // ssh -q prints neither line
		}
		io.WriteString(s.stdio.Stderr, logLines("channel 0: open failed: "+fwdReason(err)))
		return &Error{Msg: "stdio forwarding failed", Err: err}
	}
	defer st.Close()
	stop := context.AfterFunc(ctx, func() { st.Close() })
	defer stop()
	if s.stdio.Stdin != nil && !opts.NoStdin {
		go func() {
			io.Copy(st, s.stdio.Stdin)
			st.CloseWrite()
		}()
	} else {
		st.CloseWrite()
	}
	_, err = io.Copy(s.stdio.Stdout, st)
	var re *tunnel.RemoteError
	lost := errors.Is(err, tunnel.ErrDisconnected) || errors.As(err, &re)
	if lost && ctx.Err() == nil { // a stdout the caller closed is no error, as with ssh
		return s.lostError(err)
	}
	return nil
}

// hold keeps fakessh -N alive until ctx is done or the tunnel is lost.
func (f *forwarder) hold() error {
	st, err := f.s.open(f.ctx, proto.AgentHold, nil)
	if err != nil {
		if f.ctx.Err() != nil {
			return nil
		}
		var re *tunnel.RemoteError
		if errors.As(err, &re) { // an agent without the service: fall back to waiting on ctx
			return nil
		}
		return f.s.lostError(err)
	}
	stop := context.AfterFunc(f.ctx, func() { st.Close() })
	defer stop()
	_, err = io.Copy(io.Discard, st)
	st.Close()
	if f.ctx.Err() != nil {
		return nil
	}
	return f.s.lostError(err)
}

// startLocal sets up -L and -D listeners, as ssh's ssh_init_forwarding does.
func (f *forwarder) startLocal(opts *flagparse.Options) error {
	n, ok := 0, 0
	for _, spec := range opts.Config.All("localforward") {
		listen, connect, _, err := parseFwdSpec(spec)
		if err != nil {
			return &Error{Msg: "fakessh: " + err.Error(), Err: err}
		}
		n++
		if f.listenLocal(listen, func(c net.Conn) { f.serveLocal(c, connect) }) {
			ok++
		}
	}
	for _, spec := range opts.Config.All("dynamicforward") {
		listen, err := parseFwdAddr(spec)
		if err != nil {
			return &Error{Msg: "fakessh: " + err.Error(), Err: err}
		}
		n++
		if f.listenLocal(listen, f.serveSOCKS) {
			ok++
		}
	}
	if n > 0 && ok != n && f.exitOnFailure {
		return &Error{Msg: "Could not request local forwarding."}
	}
	if n > 0 && ok == 0 {
		f.logf("Could not request local forwarding.")
	}
	return nil
}

// listenLocal binds a forward's listen address and serves each connection on its own goroutine.
// It reports failure the way channel_setup_fwd_listener_tcpip does.
func (f *forwarder) listenLocal(a fwdAddr, serve func(net.Conn)) bool {
	var lns []net.Listener
	if a.path != "" {
		ln, err := net.Listen("unix", a.path)
		if err != nil {
			f.logf("unix_listener: cannot bind to path %s: %s", a.path, syserr.Text(err))
			return false
		}
		lns = append(lns, ln)
	} else {
		hosts, err := f.bindHosts(a)
		if err != nil {
			f.logf("channel_setup_fwd_listener_tcpip: getaddrinfo(%s): %s", a.host, syserr.Text(err))
			return false
		}
		for i, h := range hosts {
			network := "tcp6"
			if ip := net.ParseIP(h); ip != nil && ip.To4() != nil {
				network = "tcp4"
			}
			ln, err := net.Listen(network, net.JoinHostPort(h, strconv.Itoa(a.port)))
			if err != nil {
				if i == len(hosts)-1 { // ssh reports only the last address's failure
					f.logf("bind [%s]:%d: %s", h, a.port, syserr.Text(err))
				}
				continue
			}
			lns = append(lns, ln)
		}
		if len(lns) == 0 {
			f.logf("channel_setup_fwd_listener_tcpip: cannot listen to port: %d", a.port)
			return false
		}
	}
	for _, ln := range lns {
		f.alloc() // each listening socket is a channel to ssh
		context.AfterFunc(f.ctx, func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go serve(c)
			}
		}()
	}
	return true
}

// bindHosts is channel_fwd_bind_addr for the client: no address means loopback unless
// GatewayPorts is set, "" and "*" mean every interface, "localhost" means loopback. The order
// is getaddrinfo's.
func (f *forwarder) bindHosts(a fwdAddr) ([]string, error) {
	wildcard, loopback := []string{"0.0.0.0", "::"}, []string{"::1", "127.0.0.1"}
	switch {
	case !a.hasHost && f.gateway, a.hasHost && (a.host == "" || a.host == "*"):
		return wildcard, nil
	case !a.hasHost, a.host == "localhost":
		return loopback, nil
	case net.ParseIP(a.host) != nil:
		return []string{a.host}, nil
	}
	return net.DefaultResolver.LookupHost(f.ctx, a.host)
}

// serveLocal carries one -L connection.
func (f *forwarder) serveLocal(c net.Conn, connect fwdAddr) {
	id := f.alloc()
	st, err := f.s.fwdDial(f.ctx, connect.dialRequest())
	if err != nil {
		f.logf("channel %d: open failed: %s", id, fwdReason(err))
		f.free(id) // before the close that the client may be waiting for, so numbers repeat as in ssh
		c.Close()
		return
	}
	tunnel.Relay(st, c)
	f.free(id)
}

// serveSOCKS carries one -D connection. Unlike ssh, which grants every request at once, it
// answers only after the channel is open, so that the SOCKS client learns of a failure.
func (f *forwarder) serveSOCKS(c net.Conn) {
	id := f.alloc()
	defer f.free(id)
	dst, reply, err := socksRequest(c)
	if err != nil {
		c.Close()
		return
	}
	st, err := f.s.fwdDial(f.ctx, dst)
	if err != nil {
		f.logf("channel %d: open failed: %s", id, fwdReason(err))
		reply(fwdReason(err))
		c.Close()
		return
	}
	if err := reply(""); err != nil {
		st.Close()
		c.Close()
		return
	}
	tunnel.Relay(st, c)
}

// fwdRemote is one -R forward.
type fwdRemote struct {
	listen, connect fwdAddr
	dynamic         bool // "-R [bind:]port": a SOCKS server served from this end
}

// startRemote asks sshd, through the daemon, to listen for each -R forward. ssh asks
// asynchronously and warns when the answer comes; here each answer costs one round trip before
// the session starts.
func (f *forwarder) startRemote(opts *flagparse.Options) error {
	specs := opts.Config.All("remoteforward")
	if len(specs) == 0 {
		return nil
	}
	f.s.ep.ListenNew(proto.ClientForwarded, f.serveForwarded)
	for i, spec := range specs {
		listen, connect, dynamic, err := parseFwdSpec(spec)
		if err != nil {
			return &Error{Msg: "fakessh: " + err.Error(), Err: err}
		}
		rf := fwdRemote{listen: listen, connect: connect, dynamic: dynamic}
		f.mu.Lock()
		f.remote[uint32(i)] = rf
		f.mu.Unlock()
		port, err := f.requestRemote(uint32(i), listen)
		if err != nil {
			what := fmt.Sprintf("listen port %d", listen.port)
			if listen.path != "" {
				what = "listen path " + listen.path
			}
			if f.exitOnFailure {
				return &Error{Msg: "Error: remote port forwarding failed for " + what, Err: err}
			}
			f.logf("Warning: remote port forwarding failed for %s", what)
			continue
		}
		if listen.path == "" && listen.port == 0 {
			to := fmt.Sprintf("%s:%d", connect.host, connect.port)
			switch {
			case dynamic:
				to = "socks:0"
			case connect.path != "":
				to = connect.path
			}
			f.logf("Allocated port %d for remote forward to %s", port, to)
		}
	}
	return nil
}

// requestRemote opens the DaemonListen stream that holds one remote listener and returns the
// port bound. The stream stays open, unread, for the life of this process.
func (f *forwarder) requestRemote(ref uint32, listen fwdAddr) (int, error) {
	req := proto.ListenRequest{Bind: rfwdBindHost(listen), Port: listen.port, Path: listen.path, Ref: ref}
	payload, _ := json.Marshal(proto.ForwardListen{Context: f.s.target, ListenRequest: req})
	st, err := f.s.ep.Open(f.ctx, proto.Root, proto.DaemonListen, payload)
	if err != nil {
		return 0, &fwdOpenError{Reason: err.Error()}
	}
	var lr proto.ListenReply
	if err := json.Unmarshal(st.AcceptPayload(), &lr); err != nil {
		st.Close()
		return 0, err
	}
	return lr.Port, nil
}

// rfwdBindHost is ssh's channel_rfwd_bind_host: the address sent in tcpip-forward, to which
// sshd applies its GatewayPorts.
func rfwdBindHost(a fwdAddr) string {
	switch {
	case !a.hasHost:
		return "localhost"
	case a.host == "*":
		return ""
	}
	return a.host
}

// serveForwarded carries one connection a remote listener accepted (ssh's forwarded-tcpip).
// Only the daemon, which holds the listeners, may open it.
func (f *forwarder) serveForwarded(n *tunnel.NewStream) {
	var fc proto.ForwardedConn
	err := json.Unmarshal(n.Payload(), &fc)
	f.mu.Lock()
	rf, ok := f.remote[fc.Ref]
	f.mu.Unlock()
	if err != nil || !ok || n.Peer() != proto.Root {
		n.Reject(tunnel.Prohibited, "fakessh: no such forward")
		return
	}
	st, err := n.Accept(nil) // at once: the connection's first bytes are on their way
	if err != nil {
		return
	}
	id := f.alloc()
	defer f.free(id)
	if rf.dynamic {
		f.serveRemoteSOCKS(st)
		return
	}
	c, err := fwdDialLocal(f.ctx, rf.connect.dialRequest())
	if err != nil {
		if rf.connect.path != "" {
			f.logf("connect to %s port -2 failed: %s", rf.connect.path, syserr.Text(err))
		} else {
			f.logf("connect_to %s port %d: failed.", rf.connect.host, rf.connect.port)
		}
		st.Close()
		return
	}
	tunnel.Relay(st, c)
}

// serveRemoteSOCKS is a SOCKS server on a forwarded connection (-R with no destination).
func (f *forwarder) serveRemoteSOCKS(st *tunnel.Stream) {
	dst, reply, err := socksRequest(st)
	if err != nil {
		st.Close()
		return
	}
	c, err := fwdDialLocal(f.ctx, dst)
	if err != nil {
		f.logf("connect_to %s port %d: failed.", dst.Host, dst.Port)
		reply(syserr.Text(err))
		st.Close()
		return
	}
	if err := reply(""); err != nil {
		c.Close()
		st.Close()
		return
	}
	tunnel.Relay(st, c)
}

func fwdDialLocal(ctx context.Context, req proto.DialRequest) (net.Conn, error) {
	var d net.Dialer
	if req.Path != "" {
		return d.DialContext(ctx, "unix", req.Path)
	}
	return d.DialContext(ctx, "tcp", net.JoinHostPort(req.Host, strconv.Itoa(req.Port)))
}

// SOCKS (RFC 1928 version 5 and the version 4/4a convention), CONNECT only, no
// authentication: what ssh -D serves.
const (
	socks5Version   = 5
	socks4Version   = 4
	socksConnect    = 1
	socks5NoAuth    = 0
	socks5NoMethods = 0xff
)
