package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"

	"golang.org/x/sys/unix"

	"github.com/mitogen-go/mitogend/flagparse"
	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/tunnel"
)

// Passing the standard streams. As OpenSSH's mux client hands its descriptors to the master,
// fakessh passes its stdin, stdout and stderr to the daemon with its Hello (SCM_RIGHTS) and,
// for a command without a pty, asks the daemon to run it on them (proto.DaemonExecFDs): the
// bytes of rsync, scp or a pipe never cross this process, which only waits for the exit
// status and forwards signals. A terminal's input is not passed on: the daemon would have to
// make it non-blocking under the shell that shares it, so fakessh reads it itself.

// passedStdio is what fakessh hands the daemon: descriptors 0, 1 and 2, when the process's
// standard streams are files (Run under test gets buffers, and keeps the stream path).
func passedStdio(opts *flagparse.Options, stdio Stdio) []*os.File {
	if opts.StdioForward != "" || opts.NoCommand {
		return nil
	}
	in, ok0 := stdio.Stdin.(*os.File)
	out, ok1 := stdio.Stdout.(*os.File)
	errf, ok2 := stdio.Stderr.(*os.File)
	if !ok0 || !ok1 || !ok2 || in == nil || out == nil || errf == nil {
		return nil
	}
	return []*os.File{in, out, errf}
}

// rightsWriter sends its first Write with files attached, the rest as they are.
type rightsWriter struct {
	c     *net.UnixConn
	files []*os.File
	sent  bool
}

func (w *rightsWriter) Write(p []byte) (int, error) {
	if w.sent {
		return w.c.Write(p)
	}
	w.sent = true
	fds := make([]int, len(w.files))
	for i, f := range w.files {
		fds[i] = rawFD(f)
	}
	n, _, err := w.c.WriteMsgUnix(p, unix.UnixRights(fds...), nil)
	return n, err
}

// execPassed runs req on the daemon with the passed descriptors (see DaemonExecFDs). Stdin is
// carried on the stream when it is a terminal or -n closes it.
func (s *session) execPassed(ctx context.Context, opts *flagparse.Options, req proto.ExecRequest) error {
	stdin := s.stdio.Stdin.(*os.File)
	_, inTerm := terminalFD(stdin)
	fr := proto.FDExecRequest{Context: s.target, Exec: req, Stdin: !opts.NoStdin && !inTerm, Stdout: true, Stderr: true}
	if fr.Stdin {
		// The daemon makes the descriptor non-blocking (so that it can stop reading when the
		// command ends); the caller gets it back as it was, as ssh restores its own.
		fd := uintptr(rawFD(stdin))
		if flags, err := unix.FcntlInt(fd, unix.F_GETFL, 0); err == nil {
			defer unix.FcntlInt(fd, unix.F_SETFL, flags)
		}
	}
	payload, _ := json.Marshal(fr)
	st, err := s.ep.Open(ctx, proto.Root, proto.DaemonExecFDs, payload)
	if errors.Is(err, tunnel.ErrDisconnected) {
		return s.lostError(err)
	}
	if err != nil {
		return &Error{Msg: fmt.Sprintf("fakessh: %s: %v", opts.Host, err), Err: err}
	}
	defer st.Close()
	// Nothing comes back on the stream when stdout and stderr went to the daemon; pump reads
	// it all the same, for what a daemon without them would send.
	var in io.Reader
	if !fr.Stdin && !opts.NoStdin {
		in = stdin
	}
	return s.pump(ctx, st, in)
}

// rawFD is f's descriptor, read through SyscallConn: Fd would switch a pollable file to
// blocking mode.
func rawFD(f *os.File) int {
	fd := -1
	if rc, err := f.SyscallConn(); err == nil {
		rc.Control(func(u uintptr) { fd = int(u) })
	}
	return fd
}

// waitAgent, after an early answer (ConnectReply.Early), asks again without Early: the call
// turned out to need the agent itself (a pty, forwards, -f). What ssh would print was printed
// after the first answer.
func (s *session) waitAgent(ctx context.Context) error {
	if !s.early {
		return nil
	}
	creq := s.creq
	creq.Early = false
	req, _ := json.Marshal(creq)
	resp, err := s.daemon.Call(ctx, proto.DaemonConnect, req)
	if err != nil {
		if ctx.Err() != nil {
			return &Error{Err: ctx.Err()}
		}
		return callError(err)
	}
	var cr proto.ConnectReply
	if err := json.Unmarshal(resp, &cr); err != nil {
		return &Error{Msg: "fakessh: daemon: bad reply: " + err.Error(), Err: err}
	}
	if len(cr.Failure) > 0 {
		return &Error{Messages: cr.Failure, Err: errConnect}
	}
	s.target, s.early = cr.Context, false
	return nil
}

// hasForwards reports whether opts (resolved) asks for any -L, -R or -D.
func hasForwards(opts *flagparse.Options) bool {
	for _, k := range []string{"localforward", "remoteforward", "dynamicforward"} {
		if len(opts.Config.All(k)) > 0 {
			return true
		}
	}
	return false
}
