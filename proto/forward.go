package proto

import "github.com/mitogen-go/mitogend/router"

// Forwarding services at the daemon. They serve the context named in the request over the SSH
// connection it sits on, with sshd's own channels (direct-tcpip, direct-streamlocal, tcpip-forward,
// streamlocal-forward, pty-req), so that the target sshd's policy (AllowTcpForwarding, PermitOpen,
// PermitListen, PermitTTY...) applies as it does to ssh. For a context with no SSH connection of
// its own (one started through another agent) the daemon uses that agent's services instead.
// Only trusted contexts (local clients) may use them. Handles 10-15 are reserved for this group.
const (
	// DaemonDial is a stream; open payload ForwardDial. It is accepted or rejected and then
	// carries bytes as AgentDial does; a rejection carries sshd's reason code and message.
	DaemonDial uint32 = 10
	// DaemonListen is a stream; open payload ForwardListen. It is answered as AgentListen is, and
	// opens each accepted connection to the caller's ClientForwarded service. The listener lives
	// as long as the stream.
	DaemonListen uint32 = 11
	// DaemonPTYCheck is a call; PTYCheck -> PTYPolicy: whether sshd grants a pty on the
	// context's connection. The daemon asks sshd once per connection.
	DaemonPTYCheck uint32 = 12
)

// ForwardDial is the open payload of DaemonDial: what to connect to, from which context.
type ForwardDial struct {
	Context router.ID `json:"context"`
	DialRequest
}

// ForwardListen is the open payload of DaemonListen: where to listen, on which context.
type ForwardListen struct {
	Context router.ID `json:"context"`
	ListenRequest
}

// PTYCheck asks DaemonPTYCheck about one context.
type PTYCheck struct {
	Context router.ID `json:"context"`
}

// PTYPolicy is DaemonPTYCheck's answer. Allowed is true where no sshd decides (a context behind
// an agent).
type PTYPolicy struct {
	Allowed bool `json:"allowed"`
}

// Forwarding services at an agent: what sshd's direct-tcpip channels and tcpip-forward global
// requests do, as the target user. The daemon uses them (behind DaemonDial and DaemonListen)
// for contexts that have no SSH connection of their own.
const (
	// AgentDial is a stream; open payload DialRequest. The agent connects from the target, then
	// accepts the open (the stream carries the connection's bytes, EOF for EOF in each
	// direction) or rejects it (connect failed, with the system's words: "Connection refused").
	AgentDial uint32 = 20
	// AgentListen is a stream; open payload ListenRequest. The agent listens on the target and
	// accepts the open with a ListenReply as the accept's payload, or rejects it. Each connection it accepts
	// is opened back to the caller's ClientForwarded service. The stream carries no data: the
	// listener lives exactly as long as it, so it closes when the caller closes the stream or
	// its context disconnects.
	AgentListen uint32 = 21
	// AgentHold is a stream that carries nothing. It lets a client that has no other stream
	// open (ssh -N) notice that the tunnel or the agent has gone.
	AgentHold uint32 = 22
)

// Forwarding services at a client (fakessh).
const (
	// ClientForwarded is a stream; open payload ForwardedConn: a connection a DaemonListen
	// accepted, for the client to join to its local destination (ssh's forwarded-tcpip). The
	// daemon opens it (an AgentListen opens it to whoever opened that, here the daemon).
	ClientForwarded uint32 = 30
)

// DialRequest names what to connect to from the target: Host and Port, or a Unix socket Path.
type DialRequest struct {
	Host string `json:"host,omitempty"`
	Port int    `json:"port,omitempty"`
	Path string `json:"path,omitempty"`
}

// ListenRequest asks to listen on Port (0: any free port) or a Unix socket Path. Bind is the
// address as ssh sends it in tcpip-forward ("localhost" when the forward names none, "" for
// every address); sshd applies its GatewayPorts to it, while the agent always listens on
// loopback (sshd's default GatewayPorts=no). Ref is echoed in each ForwardedConn.
type ListenRequest struct {
	Bind string `json:"bind,omitempty"`
	Port int    `json:"port,omitempty"`
	Path string `json:"path,omitempty"`
	Ref  uint32 `json:"ref"`
}

// ListenReply is the accept payload of AgentListen and DaemonListen: the port bound.
type ListenReply struct {
	Port int `json:"port"`
}

// ForwardedConn is the open payload of ClientForwarded.
type ForwardedConn struct {
	Ref        uint32 `json:"ref"`
	OriginHost string `json:"origin_host,omitempty"`
	OriginPort int    `json:"origin_port,omitempty"`
}
