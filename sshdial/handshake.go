package sshdial

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/mitogen-go/mitogend/internal/rawio"
)

// countingConn remembers whether the server said anything, which is how
// ssh tells a banner-exchange failure from a later one. It reads and writes a
// TCP connection with rawio's calls, which do not wake the runtime's monitor
// between packets (internal/rawio says why).
type countingConn struct {
	net.Conn
	rw   io.ReadWriter // rawio's calls where the connection takes them, else Conn
	read atomic.Int64
}

func newCountingConn(conn net.Conn) *countingConn {
	c := &countingConn{Conn: conn, rw: conn}
	if raw := rawio.New(conn); raw != nil {
		c.rw = raw
	}
	return c
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.rw.Read(p)
	c.read.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) { return c.rw.Write(p) }

// watchdog closes a connection once ConnectTimeout has passed, unless stopped
// first. Authentication stops it at its first prompt: ssh's ConnectTimeout
// bounds reaching the server, not a user's typing.
type watchdog struct {
	timer *time.Timer

	mu      sync.Mutex
	stopped bool
	fired   bool
}

func startWatchdog(d time.Duration, conn net.Conn) *watchdog {
	w := &watchdog{}
	if d > 0 {
		w.timer = time.AfterFunc(d, func() {
			w.mu.Lock()
			w.fired = true
			w.mu.Unlock()
			conn.Close()
		})
	}
	return w
}

// stop disarms the watchdog and reports whether it had fired (and closed the
// connection) before its first stop.
func (w *watchdog) stop() bool {
	if w.timer == nil {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stopped {
		w.stopped = true
		if !w.timer.Stop() {
			w.fired = true
		}
	}
	return w.fired
}

// handshake runs the SSH handshake and authentication under ConnectTimeout
// and ctx, translating failures into ssh's messages.
func (c *Config) handshake(ctx context.Context, conn net.Conn, cfg *ssh.ClientConfig, hk *hostKeys, a *auth) (*Client, error) {
	cc := newCountingConn(conn)
	wd := startWatchdog(c.Target.ConnectTimeout, conn)
	a.disarm = func() { wd.stop() }
	stopCtx := context.AfterFunc(ctx, func() { conn.Close() })

	sc, chans, reqs, err := ssh.NewClientConn(cc, conn.RemoteAddr().String(), cfg)

	// Whichever of the watchers already fired has closed conn; a success
	// racing with them is still a failure.
	ctxFired := !stopCtx()
	timedOut := wd.stop()
	if err == nil && (ctxFired || timedOut) {
		sc.Close()
		err = net.ErrClosed
	}
	if err != nil {
		conn.Close()
		return nil, c.handshakeError(ctx, err, cc, timedOut, hk, a)
	}
	return &Client{Client: ssh.NewClient(sc, chans, reqs), HostKey: hk.key, HostKeyResult: hk.result}, nil
}

func (c *Config) handshakeError(ctx context.Context, err error, cc *countingConn, timedOut bool, hk *hostKeys, a *auth) error {
	t := c.Target
	ip, port := remoteIPPort(cc.Conn, t.Port)
	banner := cc.read.Load() == 0
	switch {
	case hk.failure != nil:
		return hk.failure
	case timedOut:
		msg := fmt.Sprintf("Connection to %s port %d timed out", ip, port)
		if banner {
			msg = "Connection timed out during banner exchange\n" + msg
		}
		return &Error{Message: msg, Err: wrap(ErrTimeout, err)}
	case ctx.Err() != nil:
		return &Error{Message: fmt.Sprintf("ssh: connect to host %s port %d: %v", t.HostName, t.Port, ctx.Err()),
			Err: ctx.Err()}
	case hk.accepted && (errors.Is(err, errNoMethods) || a.flow.aborted != nil ||
		strings.Contains(err.Error(), "unable to authenticate")):
		return &Error{Err: wrap(ErrPermissionDenied, err),
			Message: fmt.Sprintf("%s@%s: Permission denied (%s).", t.User, t.HostName, a.allowedMethods())}
	case errors.Is(err, io.EOF):
		msg := fmt.Sprintf("Connection closed by %s port %d", ip, port)
		if banner {
			msg = "kex_exchange_identification: Connection closed by remote host\n" + msg
		}
		return &Error{Message: msg, Err: wrap(ErrProtocol, err)}
	case errors.Is(err, syscall.ECONNRESET):
		msg := fmt.Sprintf("Connection reset by %s port %d", ip, port)
		if banner {
			msg = "kex_exchange_identification: read: Connection reset by peer\n" + msg
		}
		return &Error{Message: msg, Err: wrap(ErrProtocol, err)}
	}
	var neg *ssh.AlgorithmNegotiationError
	if errors.As(err, &neg) {
		return &Error{Err: wrap(ErrProtocol, err), Message: fmt.Sprintf(
			"Unable to negotiate with %s port %d: no matching %s found. Their offer: %s",
			ip, port, negotiationWhat(neg.What), strings.Join(neg.RequestedAlgorithms, ","))}
	}
	return &Error{Err: wrap(ErrProtocol, err),
		Message: fmt.Sprintf("ssh_dispatch_run_fatal: Connection to %s port %d: %v", ip, port, err)}
}

// negotiationWhat maps x/crypto's algorithm class to ssh's wording.
func negotiationWhat(what string) string {
	switch {
	case strings.Contains(what, "key exchange"):
		return "key exchange method"
	case strings.Contains(what, "host key"):
		return "host key type"
	case strings.Contains(what, "cipher"):
		return "cipher"
	case strings.Contains(what, "MAC"):
		return "MAC"
	}
	return what
}

// remoteIPPort is what ssh prints for post-connect failures: the peer's
// address, not the name.
func remoteIPPort(conn net.Conn, fallback int) (string, int) {
	return addrIPPort(conn.RemoteAddr(), fallback)
}

func addrIPPort(addr net.Addr, fallback int) (string, int) {
	if tcp, ok := addr.(*net.TCPAddr); ok {
		return tcp.IP.String(), tcp.Port
	}
	host, portText, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String(), fallback
	}
	if port, err := strconv.Atoi(portText); err == nil {
		return host, port
	}
	return host, fallback
}
