package proto

// Agent forwarding (ssh -A), narrowed to one call. A client whose call asks for it sets
// ExecRequest.ForwardAgent on the AgentExec stream it opens itself; the agent serving that
// stream makes a private socket for the command (a directory of mode 0700 owned by the context's
// user, /tmp/ssh-XXXXXXXXXX/agent.PID, as sshd makes it), sets SSH_AUTH_SOCK to it in the
// command's environment, and removes both when the command ends. Each connection the command's
// programs make to it is opened as a ClientAuthAgent stream back to the AgentExec stream's
// opener, which joins it to the caller's own ssh-agent socket. Only the agent protocol's bytes
// cross the tunnel: keys stay in the caller's ssh-agent.
const (
	// ClientAuthAgent is a stream with no open payload: one connection to a forwarded agent
	// socket (ssh's auth-agent@openssh.com channel). The client accepts it only from the
	// context it ran its -A command in, and only while that command runs; it closes the stream
	// when it cannot reach its agent, as ssh closes the channel.
	ClientAuthAgent uint32 = 32
)

// AuthSockEnv is the variable that names an agent socket, in the caller's environment and in
// the command's.
const AuthSockEnv = "SSH_AUTH_SOCK"
