package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
	"github.com/mitogen-go/mitogend/tunnel"
)

// maxSessionsPerConn bounds the session channels the daemon opens on one connection for
// commands, the spare included: sshd's MaxSessions is 10 by default, and the agent holds one,
// the AcceptEnv and PermitTTY probes one each while they run. Calls beyond it run in the agent,
// which has no such limit.
const maxSessionsPerConn = 7

// sessionSlots keeps count of the session channels open for commands on each connection, and
// one spare channel, opened after a connection's first command, so that the next command's
// exec goes out at once: one round trip to its first output, as on the agent's path.
type sessionSlots struct {
	mu      sync.Mutex          // protects the maps
	open    map[*ssh.Client]int // channels open for commands, the spare included
	spare   map[*ssh.Client]sessionChannel
	filling map[*ssh.Client]bool // a spare is being opened
}

type sessionChannel struct {
	ch   ssh.Channel
	reqs <-chan *ssh.Request
}

var errNoSession = errors.New("daemon: the connection has all the command sessions it may")

// get returns a channel for one command: the spare if one is ready, else a new one.
func (s *sessionSlots) get(c *ssh.Client) (sessionChannel, error) {
	s.mu.Lock()
	if s.open == nil {
		s.open, s.spare, s.filling = map[*ssh.Client]int{}, map[*ssh.Client]sessionChannel{}, map[*ssh.Client]bool{}
	}
	if sc, ok := s.spare[c]; ok {
		delete(s.spare, c)
		s.mu.Unlock()
		go s.refill(c)
		return sc, nil
	}
	if s.open[c] >= maxSessionsPerConn {
		s.mu.Unlock()
		return sessionChannel{}, errNoSession
	}
	s.open[c]++
	s.mu.Unlock()
	ch, reqs, err := c.OpenChannel("session", nil)
	if err != nil {
		s.give(c)
		return sessionChannel{}, err
	}
	go s.refill(c)
	return sessionChannel{ch, reqs}, nil
}

// refill opens the connection's spare channel if it has none and a slot is free.
func (s *sessionSlots) refill(c *ssh.Client) {
	s.mu.Lock()
	if _, ok := s.spare[c]; ok || s.filling[c] || s.open[c] >= maxSessionsPerConn {
		s.mu.Unlock()
		return
	}
	s.filling[c] = true
	s.open[c]++
	s.mu.Unlock()
	ch, reqs, err := c.OpenChannel("session", nil)
	s.mu.Lock()
	delete(s.filling, c)
	s.mu.Unlock()
	if err != nil {
		s.give(c)
		return
	}
	s.mu.Lock()
	s.spare[c] = sessionChannel{ch, reqs}
	s.mu.Unlock()
}

// give returns a command's slot once its channel is closed.
func (s *sessionSlots) give(c *ssh.Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open[c]--; s.open[c] <= 0 {
		delete(s.open, c)
	}
}

// forget drops what is kept for a connection that went down.
func (s *sessionSlots) forget(c *ssh.Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.open, c)
	delete(s.spare, c)
}

// sessionRunner runs one command on a session channel of its own.
type sessionRunner struct {
	client *ssh.Client
	slots  *sessionSlots
	conn   *conn // the connection client is, for ssh's words when it goes
}

// sessionFor is the runner for req when it is a plain command (no pty, no become, not scp or
// sftp, which the agent serves with atomic writes, no -A, whose socket sshd would give the whole
// connection: authagent.go) in a context directly on an SSH connection.
func (d *Daemon) sessionFor(req proto.FDExecRequest) *sessionRunner {
	if d.cfg.NoSessionExec || !plainCommand(req.Exec) {
		return nil
	}
	c := d.dialedConn(req.Context)
	if c == nil || (isClosed(c.ready) && c.err != nil) {
		return nil
	}
	return &sessionRunner{client: c.client.Client, conn: c, slots: &d.sessions}
}

// plainCommand says whether e is a command as sshd's exec runs it: no pty, no become step, not
// scp or sftp (the agent serves those with atomic writes), no -A.
func plainCommand(e proto.ExecRequest) bool {
	return e.Command != "" && e.PTY == nil && e.SCP == nil && e.Subsystem == "" && len(e.Argv) == 0 && !e.KeepDir && !e.ForwardAgent
}

// run runs e on a new session channel with ssh's requests (env without reply, exec). ok is
// false when no channel could be had: the caller runs the command elsewhere.
func (r *sessionRunner) run(ctx context.Context, e proto.ExecRequest, st *tunnel.Stream, eio execIO, logf router.Logf) (exitRequest, bool) {
	sc, err := r.slots.get(r.client)
	if err != nil {
		r.conn.startAgent()
		logf("daemon: session channel: %v (the agent runs the command)", err)
		return exitRequest{}, false
	}
	ch, reqs := sc.ch, sc.reqs
	defer r.slots.give(r.client)
	defer ch.Close()
	for k, v := range e.Env {
		ch.SendRequest("env", false, ssh.Marshal(struct{ Name, Value string }{k, v}))
	}
	execFailed := make(chan struct{})
	go func() {
		ok, err := ch.SendRequest("exec", true, ssh.Marshal(struct{ Command string }{e.Command}))
		r.conn.startAgent() // behind an early first call, the agent's upload may follow now
		if err == nil && !ok {
			close(execFailed)
			ch.Close()
		}
	}()
	go relaySignals(st, func(_ string, p []byte) {
		ch.SendRequest("signal", false, ssh.Marshal(struct{ Signal string }{string(p)}))
	}, func() { ch.Close() })
	go func() {
		copyBuffered(ch, eio.stdin)
		ch.CloseWrite()
	}()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); copyOut(eio.stdout, ch) }()
	go func() { defer wg.Done(); copyBuffered(eio.stderr, ch.Stderr()) }()
	exit := exitFromSSH(reqs)
	wg.Wait()
	select {
	case <-execFailed:
		io.WriteString(eio.stderr, "exec request failed on channel 0\n")
		return statusRequest(255), true
	default:
	}
	if exit.name == "" && r.connEnded() {
		return exitRequest{proto.ReqLost, []byte(r.conn.downReason(nil))}, true
	}
	return exit, true
}

// bufferReader is the vendored x/crypto's channel, which hands out its data without copying it
// (third_party/golang.org/x/crypto/PATCHES.md).
type bufferReader interface {
	ReadBuffers(bufs [][]byte, max int) ([][]byte, error)
}

// copyOut copies a command's output from its channel to w. To a passed descriptor the data
// goes as it arrived, a writev(2) for all the channel holds, without being copied out first.
func copyOut(w io.Writer, ch ssh.Channel) (int64, error) {
	fw, ok := w.(*fdWriter)
	br, ok2 := ch.(bufferReader)
	if !ok || !ok2 {
		return copyBuffered(w, ch)
	}
	var bufs [][]byte
	var total int64
	for {
		var err error
		bufs, err = br.ReadBuffers(bufs[:0], copyBufSize)
		if len(bufs) > 0 {
			n, werr := fw.writeBuffers(bufs)
			total += n
			if werr != nil {
				return total, werr
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// lostGrace bounds the wait, after a channel ended without a status, for its connection to be
// seen ending: sshd sends a status for every command, so only a connection going ends one so,
// but the transport may notice a moment after the channel did.
const lostGrace = 5 * time.Second

// connEnded reports whether the connection ended (within lostGrace).
func (r *sessionRunner) connEnded() bool {
	t := time.NewTimer(lostGrace)
	defer t.Stop()
	select {
	case <-r.conn.client.Done():
		return true
	case <-t.C:
		return false
	}
}

// exitFromSSH reads a session channel's requests until it closes, keeping its exit-status or
// exit-signal (RFC 4254 6.10) in the form an AgentExec stream carries it.
func exitFromSSH(reqs <-chan *ssh.Request) exitRequest {
	var exit exitRequest
	for req := range reqs {
		switch req.Type {
		case "exit-status":
			var m struct{ Status uint32 }
			if ssh.Unmarshal(req.Payload, &m) == nil {
				exit = statusRequest(int(m.Status))
			}
		case "exit-signal":
			var m struct {
				Signal     string
				CoreDumped bool
				Message    string
				Lang       string
			}
			if ssh.Unmarshal(req.Payload, &m) == nil {
				b, _ := json.Marshal(proto.ExitSignal{Signal: m.Signal, CoreDumped: m.CoreDumped, Message: m.Message})
				exit = exitRequest{proto.ReqExitSignal, b}
			}
		}
		if req.WantReply {
			req.Reply(false, nil)
		}
	}
	return exit
}
