package client

import (
	"github.com/mitogen-go/mitogend/flagparse"
	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/scpserver"
)

// scpRequest recognises the remote end of scp -O (scp -t, scp -f) in the command about to run,
// so that the agent serves it itself and replaces each file it receives atomically. Only exact
// forms are taken (literal words, the options OpenSSH's scp sends); anything else, a pty, or a
// subsystem runs as ssh would run it.
func scpRequest(req proto.ExecRequest) *proto.SCPRequest {
	if req.Subsystem != "" || req.PTY != nil {
		return nil
	}
	argv := req.Argv
	if argv == nil {
		var ok bool
		if argv, ok = flagparse.SplitCommand(req.Command); !ok {
			return nil
		}
	}
	r, ok := scpserver.ParseArgs(argv)
	if !ok {
		return nil
	}
	return &proto.SCPRequest{Sink: r.Sink, Recursive: r.Recursive, Preserve: r.Preserve, TargetDir: r.TargetDir, Paths: r.Paths}
}
