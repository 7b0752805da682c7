package sftpserver

import (
	"encoding/binary"
	"errors"
	"os"

	"github.com/mitogen-go/mitogend/internal/atomicfile"
	"golang.org/x/sys/unix"
)

// DefaultMaxHandles bounds the open files and directories of a session when Config.MaxHandles
// is zero; a client that never closes handles cannot exhaust the agent's descriptors.
const DefaultMaxHandles = 256

var errTooManyHandles = errors.New("sftpserver: too many open handles")

// handle is an open file (fd >= 0) or directory (dir != nil).
type handle struct {
	fd    int
	dir   *os.File
	path  string           // the directory's path, to lstat its entries
	dots  bool             // "." and ".." have been listed
	af    *atomicfile.File // a replacement being written to fd (see atomic.go)
	werr  error            // the first failed write to af: CLOSE then drops the replacement
	patch *patch           // af must keep the old content where the client does not write
}

// close closes the handle as the client's CLOSE does: a replacement takes the file's place.
func (h *handle) close() error {
	switch {
	case h.dir != nil:
		return h.dir.Close()
	case h.af != nil && h.werr != nil:
		h.af.Abort()
		return h.werr
	case h.af != nil && h.patch != nil:
		if err := h.patch.fill(h.fd, h.af.Dest()); err != nil {
			h.af.Abort()
			return err
		}
		return h.af.Commit()
	case h.af != nil:
		return h.af.Commit()
	}
	return unix.Close(h.fd)
}

// abandon closes the handle of a session that ended without closing it: a replacement is
// dropped, the file keeps its old content.
func (h *handle) abandon() {
	if h.af != nil {
		h.af.Abort()
		return
	}
	h.close()
}

// handles is the session's handle table. Handle strings are four bytes of a counter that is
// never reused within a session, so a stale handle cannot name a newer file.
type handles struct {
	open map[uint32]*handle
	next uint32
	max  int
}

func (t *handles) add(h *handle) (string, error) {
	if len(t.open) >= t.max {
		return "", errTooManyHandles
	}
	if t.open == nil {
		t.open = make(map[uint32]*handle)
	}
	t.next++
	t.open[t.next] = h
	return string(binary.BigEndian.AppendUint32(nil, t.next)), nil
}

func (t *handles) key(s []byte) (uint32, bool) {
	if len(s) != 4 {
		return 0, false
	}
	k := binary.BigEndian.Uint32(s)
	_, ok := t.open[k]
	return k, ok
}

// file returns the open file named by s, or nil.
func (t *handles) file(s []byte) *handle {
	if k, ok := t.key(s); ok && t.open[k].dir == nil {
		return t.open[k]
	}
	return nil
}

// directory returns the open directory named by s, or nil.
func (t *handles) directory(s []byte) *handle {
	if k, ok := t.key(s); ok && t.open[k].dir != nil {
		return t.open[k]
	}
	return nil
}

// remove forgets the handle named by s and returns it, or nil.
func (t *handles) remove(s []byte) *handle {
	k, ok := t.key(s)
	if !ok {
		return nil
	}
	h := t.open[k]
	delete(t.open, k)
	return h
}

func (t *handles) closeAll() {
	for k, h := range t.open {
		h.abandon()
		delete(t.open, k)
	}
}

// fileOrFail looks up an open file's handle, answering FAILURE (as sftp-server does) when the
// handle names none; the caller then has nothing more to do.
func (s *server) fileOrFail(id uint32, hs []byte) *handle {
	h := s.handles.file(hs)
	if h == nil {
		s.sendCode(id, fxFailure)
	}
	return h
}
