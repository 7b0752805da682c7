package proto

import "github.com/mitogen-go/mitogend/router"

// DaemonExecFDs is a stream a client opens at the daemon to run a command whose standard
// streams the daemon reads and writes itself: the client passed its stdin, stdout and stderr
// with its Hello (SCM_RIGHTS, as OpenSSH's mux client passes them to the master), so the bytes
// of a bulk transfer never cross fakessh. The stream then carries only what was not passed
// (data, stderr), the client's signal requests and the command's exit-status or exit-signal,
// as an AgentExec stream does.
const DaemonExecFDs uint32 = 6

// ReqLost, sent by the daemon on a DaemonExecFDs stream in place of an exit, says the
// connection under the command went; its payload is ssh's words for it ("Connection to
// 10.0.0.1 closed by remote host.", "Timeout, server 10.0.0.1 not responding.").
const ReqLost = "lost"

// FDExecRequest is DaemonExecFDs's open payload.
type FDExecRequest struct {
	Context router.ID   `json:"context"` // the context to run in (ConnectReply.Context)
	Exec    ExecRequest `json:"exec"`
	// Stdin, Stdout and Stderr say which of the passed descriptors the daemon uses; the
	// others are carried on the stream (a terminal's input stays with fakessh, which reads it).
	Stdin  bool `json:"stdin,omitempty"`
	Stdout bool `json:"stdout,omitempty"`
	Stderr bool `json:"stderr,omitempty"`
}
