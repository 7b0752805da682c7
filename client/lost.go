package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mitogen-go/mitogend/tunnel"
)

// openTimeout bounds the wait for the target to accept a stream. The daemon's keepalives find a
// target that stopped answering; this covers an agent that stopped while its SSH connection
// still answers.
const openTimeout = 60 * time.Second

var errOpenTimeout = fmt.Errorf("client: no answer from the target in %v", openTimeout)

// open opens a stream to service handle on the target within openTimeout.
func (s *session) open(ctx context.Context, handle uint32, payload []byte) (*tunnel.Stream, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, openTimeout, errOpenTimeout)
	defer cancel()
	return s.ep.Open(ctx, s.target, handle, payload)
}

// lostError is what fakessh says when the connection to the target ends under a call, in ssh's
// words: the reason the daemon gave ("Timeout, server 10.0.0.1 not responding."), else the far
// end closing.
func (s *session) lostError(err error) *Error {
	var de *tunnel.DisconnectError
	if errors.As(err, &de) && de.Reason != "" {
		return &Error{Msg: de.Reason, Err: err}
	}
	return &Error{Msg: fmt.Sprintf("Connection to %s closed by remote host.", s.host), Err: err}
}
