// Package router is the routed message bus between contexts: the daemon (the root, context 0),
// the agents it starts on targets, and the local clients (fakessh) that talk to them.
//
// A Router owns links (byte streams to neighbouring contexts, one reader and one writer
// goroutine each) and a routing table from context id to link. It forwards frames by their
// header alone, in the spirit of Mitogen's router: a frame for this context goes to the local
// Handler, a frame for a known context to the link it lives behind, anything else to the parent
// link, and what cannot be delivered is answered with a Dead frame. Routing is by context id,
// never by "the one connection", so contexts can sit behind contexts (bastion -> host -> sudo).
//
// Trust is per link. Frames arriving on an untrusted link (a target) must carry a source that
// lives behind that link, and may only go to this context or to contexts behind trusted links
// (the controller side). A target can therefore never reach another target.
//
// Router is not a stream layer: it has no windows or retransmission. Flow control belongs to the
// endpoints (package tunnel); the router's per-link queues are bounded by the endpoints' windows
// and, as a last resort, by Config.MaxQueue, beyond which the link is torn down.
//
// Lifecycle: a link's reader runs while the link is up, its writer while frames wait; Close takes
// every link down and returns once those goroutines have (Router's doc comment gives the lock
// order and what may run on them).
//
// The wire format is written down in spec.md.
package router
