package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/mitogen-go/mitogend/internal/syserr"
	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
	"github.com/mitogen-go/mitogend/tunnel"
)

// DaemonStep names the step of reaching the daemon that failed.
type DaemonStep int

const (
	StepDial      DaemonStep = iota // connecting to the socket: no daemon listens there
	StepSendHello                   // sending our hello
	StepReadHello                   // reading the daemon's hello
)

// DaemonError is a failure to reach the daemon. Callers branch on Step because each words
// it its own way (fakessh as ssh words a missing control socket); Error reads as mitogend's
// command line prints it.
type DaemonError struct {
	Step DaemonStep
	Sock string
	Err  error
}

func (e *DaemonError) Error() string {
	if e.Step == StepDial {
		return fmt.Sprintf("no daemon at %s: %v", e.Sock, e.Err)
	}
	return e.Err.Error()
}

func (e *DaemonError) Unwrap() error { return e.Err }

// DaemonConn is a client context of the daemon's router: a leaf whose only link, the Unix
// socket, is its trusted parent and the route to the daemon (proto.Root).
type DaemonConn struct {
	ep *tunnel.Endpoint
	r  *router.Router
}

// DialDaemon connects to the daemon listening on sock and joins its router. It never starts a
// daemon; errors before the router runs are *DaemonError.
func DialDaemon(sock string) (*DaemonConn, error) {
	return dialDaemonPassing(sock, nil)
}

// dialDaemonPassing is DialDaemon, passing files with the Hello (see passStdio).
func dialDaemonPassing(sock string, files []*os.File) (*DaemonConn, error) {
	c, err := net.Dial("unix", sock)
	if err != nil {
		return nil, &DaemonError{Step: StepDial, Sock: sock, Err: err}
	}
	var hello io.Writer = c
	if uc, ok := c.(*net.UnixConn); ok && len(files) > 0 {
		hello = &rightsWriter{c: uc, files: files}
	}
	return attachDaemon(c, hello, sock)
}

// attachDaemon exchanges hellos on c (the daemon assigns our context id; ours is written to
// hello, which is c or a writer passing descriptors on it) and runs a router on it.
func attachDaemon(c net.Conn, hello io.Writer, sock string) (*DaemonConn, error) {
	if err := router.WriteHello(hello, router.Hello{}); err != nil {
		c.Close()
		return nil, &DaemonError{Step: StepSendHello, Sock: sock, Err: err}
	}
	h, err := router.ReadHello(c)
	if err != nil {
		c.Close()
		return nil, &DaemonError{Step: StepReadHello, Sock: sock, Err: err}
	}
	d := &DaemonConn{ep: tunnel.NewEndpoint(nil)}
	d.r = router.New(router.Config{ID: h.ID, Handler: d.ep})
	d.ep.Attach(d.r)
	d.r.AddLink(c, router.LinkConfig{Name: "daemon", Parent: true, Trusted: true, Peer: proto.Root})
	return d, nil
}

// Call makes one call to the daemon's service on handle (proto.Daemon*). A refusal by the
// daemon is a *tunnel.RemoteError.
func (d *DaemonConn) Call(ctx context.Context, handle uint32, payload []byte) ([]byte, error) {
	return d.ep.Call(ctx, proto.Root, handle, payload)
}

// Endpoint is the context's tunnel endpoint, for streams to other contexts.
func (d *DaemonConn) Endpoint() *tunnel.Endpoint { return d.ep }

// Close leaves the router; closing its link closes the socket.
func (d *DaemonConn) Close() error {
	d.r.Close()
	return nil
}

// reachError words a failure to reach the daemon as fakessh prints it.
func reachError(err error) error {
	var de *DaemonError
	if !errors.As(err, &de) {
		return &Error{Msg: "fakessh: " + err.Error(), Err: err}
	}
	switch de.Step {
	case StepDial:
		return &Error{Msg: fmt.Sprintf("Control socket connect(%s): %s", de.Sock, syserr.Text(de.Err)), Err: de.Err}
	case StepReadHello:
		return &Error{Msg: "fakessh: daemon: " + de.Err.Error(), Err: de.Err}
	}
	return &Error{Msg: "fakessh: " + de.Err.Error(), Err: de.Err}
}

// callError words a failed daemon call: the daemon's own message when it refused.
func callError(err error) error {
	var re *tunnel.RemoteError
	if errors.As(err, &re) {
		return &Error{Msg: re.Msg, Err: err}
	}
	return &Error{Msg: "fakessh: daemon: " + err.Error(), Err: err}
}
