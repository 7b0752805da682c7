package client

import (
	"context"

	"github.com/mitogen-go/mitogend/flagparse"
	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/tunnel"
)

// ttySetup decides, as ssh does, whether the command gets a pty, and returns the request and a
// function that restores the local terminal.
func (s *session) ttySetup(opts *flagparse.Options) (*proto.PTYRequest, func(), error) {
	return nil, func() {}, nil
}

// watchWindow forwards local window-size changes to the remote pty.
func (s *session) watchWindow(ctx context.Context, st *tunnel.Stream) {}
