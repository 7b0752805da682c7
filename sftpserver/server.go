package sftpserver

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Config is how a session is served.
type Config struct {
	// Dir is the directory relative paths name, as sshd starts sftp-server in the account's
	// home directory. Empty means the process's working directory. The server never changes
	// the process's working directory, so several sessions can run in one process.
	Dir string
	// Logf, if set, receives a line per failed session.
	Logf func(format string, args ...any)
	// MaxHandles bounds the open files and directories; zero means DefaultMaxHandles.
	MaxHandles int
}

// Serve runs one SFTP session: it reads requests from r and writes replies to w until r ends.
// It returns nil when r ends between packets, an error wrapping ErrBadPacket when the client
// breaks the protocol, and other errors when r or w fail. Every handle is closed on return.
func Serve(r io.Reader, w io.Writer, c Config) error {
	s := &server{r: r, w: w, dir: c.Dir, names: newNameCache(), logf: c.Logf}
	s.handles.max = c.MaxHandles
	if s.handles.max <= 0 {
		s.handles.max = DefaultMaxHandles
	}
	defer s.syncDirs()
	defer s.handles.closeAll()
	err := s.serve()
	if err != nil && c.Logf != nil {
		c.Logf("sftpserver: %v", err)
	}
	return err
}

type server struct {
	r       io.Reader
	w       io.Writer
	dir     string
	handles handles
	names   *nameCache
	in      []byte // the packet being handled
	out     []byte // the reply being built
	data    []byte // READ's buffer
	logf    func(format string, args ...any)
	reaped  map[string]bool // directories whose abandoned temporary files were removed
	// unsynced are directories where replacements were renamed since they were last synced.
	unsynced map[string]bool
}

func (s *server) serve() error {
	typ, err := s.readPacket()
	if err != nil {
		return err
	}
	if typ != fxpInit {
		return badPacket("first packet has type %d, want INIT", typ)
	}
	// Every client version gets version 3, as from sftp-server.
	if d := (decoder{b: s.in[1:]}); d.uint32() == 0 && d.err != nil {
		return d.err
	}
	s.sendVersion()
	if err := s.flush(); err != nil {
		return err
	}
	for {
		typ, err := s.readPacket()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.handle(typ, &decoder{b: s.in[1:]}); err != nil {
			return err
		}
		if err := s.flush(); err != nil {
			return err
		}
	}
}

// readPacket reads one packet into s.in and returns its type; io.EOF only at a packet boundary.
func (s *server) readPacket() (byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(s.r, hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, badPacket("truncated length")
		}
		return 0, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 || n > MaxPacket {
		return 0, badPacket("packet length %d", n)
	}
	if cap(s.in) < int(n) {
		s.in = make([]byte, n)
	}
	s.in = s.in[:n]
	if _, err := io.ReadFull(s.r, s.in); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, badPacket("truncated packet of %d bytes", n)
		}
		return 0, err
	}
	return s.in[0], nil
}

// begin starts a reply of type typ; flush fills in its length and sends it.
func (s *server) begin(typ byte, id uint32) {
	s.out = append(s.out[:0], 0, 0, 0, 0, typ)
	s.out = appendUint32(s.out, id)
}

func (s *server) flush() error {
	if len(s.out) == 0 {
		return nil
	}
	binary.BigEndian.PutUint32(s.out, uint32(len(s.out)-4))
	_, err := s.w.Write(s.out)
	s.out = s.out[:0]
	if err != nil {
		return fmt.Errorf("sftpserver: write: %w", err)
	}
	return nil
}

func (s *server) sendStatus(id uint32, err error) {
	s.sendCode(id, statusOf(err))
}

func (s *server) sendCode(id uint32, code uint32) { s.sendCodeMsg(id, code, statusMessage(code)) }

// sendCodeMsg is a STATUS with sftp-server's own words where it has some (send_status_errmsg).
func (s *server) sendCodeMsg(id uint32, code uint32, msg string) {
	s.begin(fxpStatus, id)
	s.out = appendUint32(s.out, code)
	s.out = appendString(s.out, msg)
	s.out = appendString(s.out, "") // language tag
}

func (s *server) sendHandle(id uint32, h string) {
	s.begin(fxpHandle, id)
	s.out = appendString(s.out, h)
}

func (s *server) sendAttrs(id uint32, a attrs) {
	s.begin(fxpAttrs, id)
	s.out = appendAttrs(s.out, a)
}

// sendName replies with one name and no attributes, as REALPATH and READLINK do.
func (s *server) sendName(id uint32, name string) {
	s.begin(fxpName, id)
	s.out = appendUint32(s.out, 1)
	s.out = appendString(s.out, name)
	s.out = appendString(s.out, name)
	s.out = appendAttrs(s.out, attrs{})
}

// path makes a client path absolute against the session's directory without cleaning it, so
// that the kernel sees "..", symlinks and trailing slashes exactly as sent.
func (s *server) path(p string) string {
	if p == "" || p[0] == '/' || s.dir == "" {
		return p
	}
	return s.dir + "/" + p
}
