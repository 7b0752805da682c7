package daemon

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/mitogen-go/mitogend/internal/rawio"
	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
	"github.com/mitogen-go/mitogend/tunnel"
)

// Commands on passed descriptors (proto.DaemonExecFDs). The daemon stands where OpenSSH's
// ControlMaster stands: it reads the caller's stdin and writes its stdout and stderr itself.
// On a context that sits directly on an SSH connection, a plain command runs on a session
// channel of its own (sessionexec.go), so that sshd feeds it as it feeds ssh's; elsewhere (a
// become or container context, scp and sftp, which the agent serves atomically, a pty) it
// runs in the agent, over an AgentExec stream the daemon opens for the caller.

// copyBufSize is each direction's buffer: large reads and writes, few frames and syscalls.
const copyBufSize = 256 << 10

// execIO is a call's three streams as the daemon sees them: the passed files where the client
// asked for them, else the client's stream.
type execIO struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	closer func() // closes the passed files: the caller sees EOF, a blocked read returns
}

func (d *Daemon) registerExecFDs() {
	d.ep.Listen(proto.DaemonExecFDs, d.serveExecFDs)
	d.ep.ListenNew(proto.ClientAuthAgent, d.serveAuthAgent) // -A commands run here (authagent.go)
}

func (d *Daemon) serveExecFDs(st *tunnel.Stream, payload []byte) {
	defer st.Close()
	src := st.Peer()
	files := d.takePassed(src)
	if src == proto.Root || !d.r.Trusted(src) {
		closeFiles(files)
		d.refused.Logf(d.logf, "daemon: refused exec from untrusted context %d", src)
		return
	}
	var req proto.FDExecRequest
	if err := json.Unmarshal(payload, &req); err != nil || len(files) != maxPassedFiles {
		closeFiles(files)
		d.logf("daemon: exec from client %d: bad request or no descriptors (%d)", src, len(files))
		return
	}
	eio := newExecIO(req, files, st)
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	exit := d.runPassed(ctx, req, st, eio)
	eio.closer() // before the status: the caller must see EOF when fakessh exits
	if exit.name != "" {
		st.SendRequest(exit.name, exit.payload)
	}
	st.CloseWrite()
}

// exitRequest is the command's end as an AgentExec stream carries it.
type exitRequest struct {
	name    string
	payload []byte
}

func statusRequest(status int) exitRequest {
	b := make([]byte, 4)
	binary.BigEndian.PutUint32(b, uint32(status))
	return exitRequest{proto.ReqExitStatus, b}
}

// runPassed runs the command on its own SSH session where it can, else in the agent.
func (d *Daemon) runPassed(ctx context.Context, req proto.FDExecRequest, st *tunnel.Stream, eio execIO) exitRequest {
	if c, set, id := d.lanesFor(req); set != nil {
		return d.runOnLanes(ctx, c, set, id, req, st, eio)
	}
	if c := d.sessionFor(req); c != nil {
		if exit, ok := c.run(ctx, req.Exec, st, eio, d.logf); ok {
			return exit
		}
	}
	return d.runInAgent(ctx, req, st, eio)
}

func newExecIO(req proto.FDExecRequest, files []*os.File, st *tunnel.Stream) execIO {
	eio := execIO{stdin: st, stdout: st, stderr: st.StderrWriter()}
	in := files[0]
	if req.Stdin {
		// Non-blocking, so that closing it ends a read still waiting when the command is
		// over (fakessh restores the caller's flags).
		in = pollable(files[0])
		eio.stdin = in
		if raw := rawio.New(in); raw != nil {
			eio.stdin = raw // a pipe or socket, read without waking the runtime (rawio)
		}
	}
	if req.Stdout {
		eio.stdout = newFDWriter(files[1])
	}
	if req.Stderr {
		eio.stderr = newFDWriter(files[2])
	}
	var once sync.Once
	eio.closer = func() { once.Do(func() { closeFiles([]*os.File{in, files[1], files[2]}) }) }
	return eio
}

// pollable is f as a non-blocking file Go's poller waits on (f is closed). Files the poller
// cannot wait on (a regular file, /dev/null) stay blocking reads, which never hang.
func pollable(f *os.File) *os.File {
	fd, err := unix.Dup(int(f.Fd()))
	f.Close()
	if err != nil {
		return os.NewFile(^uintptr(0), "stdin") // reads fail: the command sees EOF
	}
	unix.SetNonblock(fd, true)
	unix.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), "stdin")
}

// runInAgent runs the command over an AgentExec stream and relays it.
func (d *Daemon) runInAgent(ctx context.Context, req proto.FDExecRequest, st *tunnel.Stream, eio execIO) exitRequest {
	if c := d.dialedConn(req.Context); c != nil {
		c.startAgent()
		<-c.ready // an early call (ConnectReply.Early) that could not have a session channel
		req.Exec.Env = d.acceptedEnvOf(c, req.Exec.Env)
	}
	exec, drop := d.relayAuthAgent(req, st.Peer())
	defer drop()
	as, err := d.openExec(ctx, req.Context, exec)
	if err != nil {
		return exitRequest{} // the caller reports the lost connection, as it would have
	}
	defer as.Close()
	go relaySignals(st, func(name string, p []byte) { as.SendRequest(name, p) }, func() { as.Close() })
	go func() {
		copyBuffered(as, eio.stdin)
		as.CloseWrite()
	}()
	var wg sync.WaitGroup
	var outErr, errErr error
	wg.Add(2)
	go func() { defer wg.Done(); _, outErr = copyBuffered(eio.stdout, as) }()
	go func() { defer wg.Done(); _, errErr = copyBuffered(eio.stderr, as.Stderr()) }()
	exit := exitOf(as)
	wg.Wait()
	return orLost(exit, outErr, errErr)
}

// orLost is exit, or when the stream ended without one because its connection went, the lost
// request with what the client would have been told.
func orLost(exit exitRequest, errs ...error) exitRequest {
	var de *tunnel.DisconnectError
	if exit.name == "" && errors.As(errors.Join(errs...), &de) && de.Reason != "" {
		return exitRequest{proto.ReqLost, []byte(de.Reason)}
	}
	return exit
}

// openExec opens an AgentExec stream for exec in context id (logging why it could not).
func (d *Daemon) openExec(ctx context.Context, id router.ID, exec proto.ExecRequest) (*tunnel.Stream, error) {
	payload, _ := json.Marshal(exec)
	openCtx, cancel := context.WithTimeout(ctx, agentOpenTimeout)
	defer cancel()
	as, err := d.ep.Open(openCtx, id, proto.AgentExec, payload)
	if err != nil {
		d.logf("daemon: exec in context %d: %v", id, err)
	}
	return as, err
}

// exitOf reads an AgentExec stream's requests until they end, keeping its exit.
func exitOf(as *tunnel.Stream) exitRequest {
	var exit exitRequest
	for r := range as.Requests() {
		if r.Name == proto.ReqExitStatus || r.Name == proto.ReqExitSignal {
			exit = exitRequest{r.Name, r.Payload}
		}
	}
	return exit
}

// relaySignals passes the client's requests on with send until its stream ends, then calls
// gone (the client went: the command must not outlive it).
func relaySignals(st *tunnel.Stream, send func(string, []byte), gone func()) {
	for r := range st.Requests() {
		if r.Name == proto.ReqSignal {
			send(r.Name, r.Payload)
		}
	}
	gone()
}

// copyBuffered copies r to w through a buffer of copyBufSize. r is wrapped so that its own
// WriteTo is not used: *os.File's (a caller's stdin that is a regular file) reads 32 KiB at a
// time, eight system calls and as many channel writes for each one this makes.
func copyBuffered(w io.Writer, r io.Reader) (int64, error) {
	return io.CopyBuffer(w, struct{ io.Reader }{r}, make([]byte, copyBufSize))
}
