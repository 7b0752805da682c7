package client

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/mitogen-go/mitogend/flagparse"
	"github.com/mitogen-go/mitogend/proto"
)

// ptyGranted asks the daemon whether sshd grants the destination a pty (PermitTTY, no-pty) and,
// when it does not, does what ssh does on a refused pty-req (clientloop.c's
// client_status_confirm): say "PTY allocation request failed on channel N"; then die with
// status 255 if the pty was asked for (-t, -tt, RequestTTY), or else leave raw mode and run
// without one. It returns the pty request to send, nil for none. A daemon that cannot answer
// leaves the request as it was.
func (s *session) ptyGranted(ctx context.Context, pty *proto.PTYRequest, end *ttyEnd) (*proto.PTYRequest, error) {
	if pty == nil {
		return nil, nil
	}
	req, _ := json.Marshal(proto.PTYCheck{Context: s.target})
	resp, err := s.daemon.Call(ctx, proto.DaemonPTYCheck, req)
	var policy proto.PTYPolicy
	if err != nil || json.Unmarshal(resp, &policy) != nil || policy.Allowed {
		return pty, nil
	}
	msg := fmt.Sprintf("PTY allocation request failed on channel %d", s.sessionChan)
	if explicit := end.cfg.mode == flagparse.TTYYes || end.cfg.mode == flagparse.TTYForce; explicit {
		if end.cfg.fatal {
			fmt.Fprint(s.stdio.Stderr, logLines(msg)) // still in raw mode, as ssh's fatal() prints it
		}
		end.abandon()
		return nil, &Error{Err: fmt.Errorf("client: %s", msg)}
	}
	if end.cfg.errors {
		fmt.Fprint(s.stdio.Stderr, logLines(msg))
	}
	end.leave()
	return nil, nil
}
