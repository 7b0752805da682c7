package agent

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/mitogen-go/mitogend/emulation"
	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
	"github.com/mitogen-go/mitogend/tunnel"
)

// serveExec runs one command for one stream, as sshd runs one session channel.
func serveExec(a *agent, s *tunnel.Stream, payload []byte) {
	defer s.Close()
	logf := a.logf
	var req proto.ExecRequest
	if err := json.Unmarshal(payload, &req); err != nil {
		fail(s, fmt.Sprintf("agent: bad exec request: %v", err))
		return
	}
	if req.Lanes != nil && (req.Subsystem != "" || req.SCP != nil || req.PTY != nil) {
		fail(s, "agent: lanes: only for a plain command without a pty")
		return
	}
	if req.Subsystem == "sftp" && req.PTY == nil {
		// Our own server, whether or not the target has sftp-server: its uploads replace files
		// atomically (sftp.go).
		defer a.writing.start()()
		serveBuiltinSFTP(s, logf)
		return
	}
	if req.SCP != nil && req.PTY == nil {
		defer a.writing.start()()
		serveSCP(a, s, req)
		return
	}
	er := execRequest(req)
	er.KeepDir, er.SetHome = req.KeepDir, req.SetHome
	sock := forwardAgent(a, s, req, &er)
	defer sock.close() // also when the command does not start
	var stdin io.Reader = s
	var stdout io.Writer = s
	var lio *laneIO
	if req.Lanes != nil {
		conns, err := a.lanes.claim(*req.Lanes)
		if err != nil {
			fail(s, err.Error())
			return
		}
		lio = newLaneIO(conns)
		defer closeConns(conns)
		stdin, stdout = lio.stdin, lio.stdout
	}
	p, err := emulation.Start(a.base, er, stdin, stdout, s.StderrWriter())
	if err != nil {
		if errors.Is(err, emulation.ErrNoSubsystem) {
			err = fmt.Errorf("subsystem request failed on channel 0")
		}
		if lio != nil {
			lio.finish() // an empty stdout, ended: the daemon reports this failure alone
		}
		fail(s, err.Error())
		return
	}
	go func() {
		for r := range s.Requests() {
			switch r.Name {
			case proto.ReqSignal:
				if err := p.Signal(string(r.Payload)); err != nil {
					logf("agent: signal %s: %v", r.Payload, err)
				}
			case proto.ReqWindowChange:
				windowChange(p, r.Payload, logf)
			}
		}
	}()
	res := p.Wait()
	p.Close()
	if lio != nil {
		if err := lio.stdin.cut(); err != nil {
			// The command took a cut stdin for its end: its status must not say it had it all.
			fmt.Fprintf(s.StderrWriter(), "agent: the command's input was cut short: %v\n", err)
			res = emulation.Result{Status: 255}
		}
		if err := lio.finish(); err != nil {
			logf("agent: %v", err)
		}
	}
	sock.close() // before the exit: once the caller has it, the socket is gone
	if res.Signal != "" {
		b, _ := json.Marshal(proto.ExitSignal{Signal: res.Signal, CoreDumped: res.CoreDumped})
		s.SendRequest(proto.ReqExitSignal, b)
	} else {
		sendStatus(s, res.Status)
	}
	s.CloseWrite()
}

// execRequest is what sshd's session would hold after the client's requests.
func execRequest(req proto.ExecRequest) emulation.Request {
	er := emulation.Request{Command: req.Command, Subsystem: req.Subsystem, Env: req.Env, Argv: req.Argv, NotFound: req.NotFound}
	if t := req.PTY; t != nil {
		er.Term = t.Term
		er.PTY = &emulation.PTY{Rows: t.Rows, Cols: t.Cols, Width: t.Width, Height: t.Height, Modes: t.Modes}
	}
	return er
}

// windowChange applies a client's new terminal size; like sshd it ignores one for a session
// without a pty.
func windowChange(p *emulation.Process, payload []byte, logf router.Logf) {
	var w proto.WindowChange
	if err := json.Unmarshal(payload, &w); err != nil {
		logf("agent: bad window-change: %v", err)
		return
	}
	err := p.Resize(emulation.PTY{Rows: w.Rows, Cols: w.Cols, Width: w.Width, Height: w.Height})
	if err != nil && !errors.Is(err, emulation.ErrNoPTY) {
		logf("agent: window-change: %v", err)
	}
}

// fail reports a session that could not start the way sshd would: a message and status 255.
func fail(s *tunnel.Stream, msg string) {
	io.WriteString(s.StderrWriter(), msg+"\n")
	sendStatus(s, 255)
	s.CloseWrite()
}

func sendStatus(s *tunnel.Stream, status int) {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(status))
	s.SendRequest(proto.ReqExitStatus, b[:])
}
