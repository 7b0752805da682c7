package proto

// Forwarding services at an agent: what sshd's direct-tcpip channels and tcpip-forward global
// requests do, as the target user.
const (
	// AgentDial is a stream; open payload DialRequest. The agent connects from the target and
	// answers with a ReqOpenOK or ReqOpenFailed stream request; after ReqOpenOK the stream
	// carries the connection's bytes, EOF for EOF in each direction.
	AgentDial uint32 = 20
	// AgentListen is a stream; open payload ListenRequest. The agent listens on the target and
	// answers with ReqOpenOK (payload ListenReply) or ReqOpenFailed. Each connection it accepts
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
	// ClientForwarded is a stream; open payload ForwardedConn: a connection an AgentListen
	// accepted, for the client to join to its local destination (ssh's forwarded-tcpip).
	ClientForwarded uint32 = 30
)

// Stream requests that answer an AgentDial or AgentListen open.
const (
	ReqOpenOK     = "open-ok"     // payload: nothing (dial) or JSON ListenReply (listen)
	ReqOpenFailed = "open-failed" // payload: the reason as ssh prints it, "connect failed: Connection refused"
)

// DialRequest names what to connect to from the target: Host and Port, or a Unix socket Path.
type DialRequest struct {
	Host string `json:"host,omitempty"`
	Port int    `json:"port,omitempty"`
	Path string `json:"path,omitempty"`
}

// ListenRequest asks the agent to listen on Port (0: any free port) or a Unix socket Path.
// Bind is the address the client asked for; the agent applies sshd's default GatewayPorts=no,
// so TCP listeners are on loopback whatever it says. Ref is echoed in each ForwardedConn.
type ListenRequest struct {
	Bind string `json:"bind,omitempty"`
	Port int    `json:"port,omitempty"`
	Path string `json:"path,omitempty"`
	Ref  uint32 `json:"ref"`
}

// ListenReply is the payload of ReqOpenOK for AgentListen: the port actually bound.
type ListenReply struct {
	Port int `json:"port"`
}

// ForwardedConn is the open payload of ClientForwarded.
type ForwardedConn struct {
	Ref        uint32 `json:"ref"`
	OriginHost string `json:"origin_host,omitempty"`
	OriginPort int    `json:"origin_port,omitempty"`
}
