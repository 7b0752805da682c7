package proto

// Agent forwarding (ssh -A), narrowed to one call. A client whose call asks for it sets
// ExecRequest.ForwardAgent, on the AgentExec stream it opens itself or in the DaemonExecFDs
// request; the agent serving the AgentExec stream (the daemon never runs such a command on a
// session channel of its own) makes a private socket for the command (a directory of mode 0700 owned by the context's
// user, /tmp/ssh-XXXXXXXXXX/agent.PID, as sshd makes it), sets SSH_AUTH_SOCK to it in the
// command's environment, and removes both when the command ends. Each connection the command's
// programs make to it is opened as a ClientAuthAgent stream back to the AgentExec stream's
// opener: the client, which joins it to the caller's own ssh-agent socket, or the daemon, which
// opens it on to the client that asked (ExecRequest.AuthAgentRef names that call). Only the agent protocol's bytes
// cross the tunnel: keys stay in the caller's ssh-agent.
const (
	// ClientAuthAgent is a stream, open payload AuthAgentConn: one connection to a forwarded
	// agent socket (ssh's auth-agent@openssh.com channel). A client accepts it only from the
	// context it ran its -A command in or from the daemon, and only while that command runs; it
	// closes the stream when it cannot reach its agent, as ssh closes the channel. The daemon
	// accepts it only from the agent it runs a -A command in, under that command's ref.
	ClientAuthAgent uint32 = 32
)

// AuthAgentConn is the open payload of ClientAuthAgent.
type AuthAgentConn struct {
	Ref uint32 `json:"ref,omitempty"` // the command's ExecRequest.AuthAgentRef
}

// AuthSockEnv is the variable that names an agent socket, in the caller's environment and in
// the command's.
const AuthSockEnv = "SSH_AUTH_SOCK"
