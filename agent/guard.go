package agent

import (
	"context"
	"errors"

	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
	"github.com/mitogen-go/mitogend/tunnel"
)

// Who may use an agent's services. Frames from a child context (sudo, a container) arrive on an
// untrusted link and do reach this agent's endpoint: a container's root must never run commands
// as this agent's user, nor start or route contexts.

var errRefused = errors.New("agent: permission denied")

// fromController serves a stream only for contexts on the controller side: the daemon and its
// clients, never a context behind this agent. Their opens are accepted and handed to h; anyone
// else's are rejected (administratively prohibited). Register it with Endpoint.ListenNew.
func (a *agent) fromController(h tunnel.StreamHandler) tunnel.NewStreamHandler {
	return a.openFromController(tunnel.AcceptAll(h))
}

// openFromController is fromController for a service that answers its opens itself: a stream
// from anyone else is rejected as administratively prohibited.
func (a *agent) openFromController(h tunnel.NewStreamHandler) tunnel.NewStreamHandler {
	return func(n *tunnel.NewStream) {
		if !a.r.Trusted(n.Peer()) {
			a.refused(n.Peer())
			n.Reject(tunnel.Prohibited, errRefused.Error())
			return
		}
		h(n)
	}
}

// fromDaemon serves a stream only for the daemon itself; others' opens are rejected.
func (a *agent) fromDaemon(h tunnel.StreamHandler) tunnel.NewStreamHandler {
	accept := tunnel.AcceptAll(h)
	return func(n *tunnel.NewStream) {
		if n.Peer() != proto.Root || !a.r.Trusted(proto.Root) {
			a.refused(n.Peer())
			n.Reject(tunnel.Prohibited, errRefused.Error())
			return
		}
		accept(n)
	}
}

func (a *agent) callFromController(h tunnel.CallHandler) tunnel.CallHandler {
	return func(ctx context.Context, src router.ID, p []byte) ([]byte, error) {
		if !a.r.Trusted(src) {
			a.refused(src)
			return nil, errRefused
		}
		return h(ctx, src, p)
	}
}

func (a *agent) callFromDaemon(h tunnel.CallHandler) tunnel.CallHandler {
	return func(ctx context.Context, src router.ID, p []byte) ([]byte, error) {
		if src != proto.Root || !a.r.Trusted(proto.Root) {
			a.refused(src)
			return nil, errRefused
		}
		return h(ctx, src, p)
	}
}

func (a *agent) refused(src router.ID) {
	a.logf("agent: refused a service to context %d, which is not on the controller side", src)
}
