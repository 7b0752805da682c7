package client

import (
	"context"
	"errors"

	"github.com/mitogen-go/mitogend/flagparse"
	"github.com/mitogen-go/mitogend/router"
	"github.com/mitogen-go/mitogend/tunnel"
)

// Conn is a destination's context reached as fakessh reaches it (the daemon started if need
// be, ssh_config, named chains, fakessh's -o mitogen.* keys, prompts on the terminal), for
// programs that speak to its agent's services themselves: mitogend cp.
type Conn struct{ s *session }

// Connect resolves host with ssh's command-line options args (as fakessh takes them before the
// destination) and returns its context. Errors are *Error, worded as ssh words them.
func Connect(ctx context.Context, args []string, host string, stdio Stdio) (*Conn, error) {
	opts, err := flagparse.Parse(append(append([]string(nil), args...), host))
	if err != nil {
		var fe *flagparse.Error
		if errors.As(err, &fe) {
			return nil, &Error{Msg: fe.Msg, Plain: fe.Plain, Err: err}
		}
		return nil, &Error{Msg: err.Error(), Err: err}
	}
	steps, err := optionSteps(opts.Config)
	if err != nil {
		return nil, err
	}
	s, err := newSession(ctx, opts, stdio, steps, nil, nil)
	if err != nil {
		return nil, err
	}
	return &Conn{s: s}, nil
}

// Endpoint is where streams to the context are opened.
func (c *Conn) Endpoint() *tunnel.Endpoint { return c.s.ep }

// Context is the destination's context.
func (c *Conn) Context() router.ID { return c.s.target }

// Lost words a stream's failure as ssh words a lost connection.
func (c *Conn) Lost(err error) error { return c.s.lostError(err) }

// Close leaves the daemon.
func (c *Conn) Close() { c.s.close() }
