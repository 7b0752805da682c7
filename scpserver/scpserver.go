// Package scpserver is the remote end of OpenSSH's original scp protocol (scp -O): what
// `scp -t` (receive files, the sink) and `scp -f` (send them, the source) do on the target, with
// OpenSSH 9.2's records, replies, messages and exit status, so that the agent can serve those
// commands itself.
//
// Unlike OpenSSH's scp, the sink replaces each file atomically (package internal/atomicfile): a
// reader sees the old file or the new one, and a transfer that dies leaves the old one. It writes
// in place only where a rename cannot stand in (a device, a directory it may not create files
// in), as scp does. It does not do the client side, globbing (the caller gives literal paths) or
// verbose (-v) output.
package scpserver

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"syscall"
)

// Request is one scp -t or scp -f command line.
type Request struct {
	Sink      bool     // -t; else -f
	Recursive bool     // -r
	Preserve  bool     // -p: times and modes
	TargetDir bool     // -d: the sink's target must be a directory
	Paths     []string // the sink's target (one), or the source's files
	// Dir is the directory relative paths name (the home directory, as sshd starts scp there).
	Dir  string
	Logf func(format string, args ...any)
}

// Serve runs the command on the channel r (from the client's scp) and w (to it) and returns
// its exit status: 0, or 1 after an error (sent to the client as scp sends it).
func Serve(r io.Reader, w io.Writer, req Request) int {
	c := &conn{in: bufio.NewReaderSize(r, 64<<10), out: bufio.NewWriterSize(w, 64<<10), req: req}
	if req.Logf == nil {
		c.req.Logf = func(string, ...any) {}
	}
	var err error
	if req.Sink {
		if len(req.Paths) != 1 {
			return 1
		}
		err = c.sinkTop(c.path(req.Paths[0]))
	} else {
		err = c.sourceTop()
	}
	c.out.Flush()
	var fatal *fatalError
	switch {
	case errors.As(err, &fatal):
		return 1
	case err != nil:
		c.req.Logf("scpserver: %v", err)
		return 1
	case c.errs > 0:
		return 1
	}
	return 0
}

// conn is one session's channel and error count.
type conn struct {
	in   *bufio.Reader
	out  *bufio.Writer
	req  Request
	errs int
}

// fatalError ends the session after its message was sent (scp's exit(1)).
type fatalError struct{ msg string }

func (e *fatalError) Error() string { return e.msg }

func (c *conn) path(p string) string {
	if p == "" || filepath.IsAbs(p) || c.req.Dir == "" {
		return p
	}
	return c.req.Dir + "/" + p
}

// runErr sends a message as scp's run_err does: \x01 "scp: " message "\n".
func (c *conn) runErr(format string, args ...any) {
	c.errs++
	fmt.Fprintf(c.out, "\x01scp: "+format+"\n", args...)
	c.out.Flush()
}

func (c *conn) ok() error {
	if err := c.out.WriteByte(0); err != nil {
		return err
	}
	return c.out.Flush()
}

// response reads the peer's answer to a record, as scp's response(): 0 is success, 1 an error
// (counted), 2 a fatal one.
func (c *conn) response() (bool, error) {
	b, err := c.in.ReadByte()
	if err != nil {
		return false, err
	}
	switch b {
	case 0:
		return true, nil
	case 1, 2:
		if _, err := c.in.ReadString('\n'); err != nil {
			return false, err
		}
		c.errs++
		if b == 2 {
			return false, &fatalError{"fatal response"}
		}
		return false, nil
	}
	// Anything else is scp's "protocol error" text, up to a newline.
	rest, _ := c.in.ReadString('\n')
	c.errs++
	return false, &fatalError{"unexpected response: " + string(b) + rest}
}

// errText is strerror(errno) for err, as scp prints it.
func errText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	return err.Error()
}
