package daemon

import (
	"net"
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/mitogen-go/mitogend/internal/rawio"
	"github.com/mitogen-go/mitogend/router"
)

// maxPassedFiles is what a client may pass with its Hello: its stdin, stdout and stderr.
const maxPassedFiles = 3

// rightsReader reads the client's Hello, keeping the descriptors passed with its first bytes
// (fakessh sends them with the Hello, see client/passfds.go). Later reads are plain: the
// router reads the link without ancillary data, and the kernel closes any descriptors sent
// later, so a client can pass files only once per connection.
type rightsReader struct {
	c     *net.UnixConn
	files []*os.File
	read  bool
}

func (r *rightsReader) Read(p []byte) (int, error) {
	if r.read {
		return r.c.Read(p)
	}
	r.read = true
	oob := make([]byte, unix.CmsgSpace(4*maxPassedFiles))
	n, oobn, flags, _, err := r.c.ReadMsgUnix(p, oob)
	r.files = parseRights(oob[:oobn])
	if flags&unix.MSG_CTRUNC != 0 { // more than a client passes: none of them is trusted
		closeFiles(r.files)
		r.files = nil
	}
	return n, err
}

// parseRights turns SCM_RIGHTS messages into files (already close-on-exec: Go receives with
// MSG_CMSG_CLOEXEC). Anything beyond maxPassedFiles is closed.
func parseRights(oob []byte) []*os.File {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var files []*os.File
	for i := range msgs {
		fds, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if len(files) == maxPassedFiles {
				unix.Close(fd)
				continue
			}
			files = append(files, os.NewFile(uintptr(fd), "passed"))
		}
	}
	return files
}

func closeFiles(files []*os.File) {
	for _, f := range files {
		if f != nil {
			f.Close()
		}
	}
}

// keepPassed holds a client's passed files until a DaemonExecFDs stream takes them or the
// client goes.
func (d *Daemon) keepPassed(id router.ID, files []*os.File) {
	if len(files) == 0 {
		return
	}
	d.mu.Lock()
	d.passed[id] = files
	d.mu.Unlock()
}

// takePassed hands over (once) the files client id passed.
func (d *Daemon) takePassed(id router.ID) []*os.File {
	d.mu.Lock()
	defer d.mu.Unlock()
	files := d.passed[id]
	delete(d.passed, id)
	return files
}

// dropPassed closes what the clients behind a link that went down passed and no call took.
func (d *Daemon) dropPassed(ids []router.ID) {
	for _, id := range ids {
		closeFiles(d.takePassed(id))
	}
}

// fdWriter writes to a passed descriptor whatever its flags: the caller's stdout may share an
// open file description with its stdin (scp hands ssh one socket for both), which the daemon
// made non-blocking, so a full buffer is waited out with poll rather than returned as EAGAIN.
// The descriptor's flags are left alone: stdout and stderr may be a terminal that others share.
//
// A write goes first without waiting, as a call the runtime does not see (rawio), except to a
// regular file, where the kernel may wait for the file position's lock before it looks at
// RWF_NOWAIT; where that cannot be done, or would wait, it goes as an ordinary writev(2).
type fdWriter struct {
	f       *os.File
	noWait  bool        // try rawio.WritevNoWait first
	refused atomic.Bool // the kernel refused it once: not again
}

func newFDWriter(f *os.File) *fdWriter {
	var st unix.Stat_t
	regular := unix.Fstat(int(f.Fd()), &st) != nil || st.Mode&unix.S_IFMT == unix.S_IFREG
	return &fdWriter{f: f, noWait: !regular}
}

func (w *fdWriter) Write(p []byte) (int, error) {
	n, err := w.writeBuffers([][]byte{p})
	return int(n), err
}

// writeBuffers writes bufs to the descriptor in as few writev(2)s as it takes.
func (w *fdWriter) writeBuffers(bufs [][]byte) (int64, error) {
	fd := int(w.f.Fd())
	var n int64
	for len(bufs) > 0 {
		m, err := w.writev(fd, bufs)
		switch {
		case err == unix.EAGAIN:
			pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
			if _, err := unix.Poll(pfd, -1); err != nil && err != unix.EINTR {
				return n, err
			}
		case err == unix.EINTR:
		case err != nil:
			return n, err
		default:
			n += int64(m)
			bufs = advance(bufs, m)
		}
	}
	return n, nil
}

// maxIOV is how many buffers writev(2) takes in one call (IOV_MAX).
const maxIOV = 1024

func (w *fdWriter) writev(fd int, bufs [][]byte) (int, error) {
	if w.noWait && !w.refused.Load() {
		m, err := rawio.WritevNoWait(fd, bufs)
		switch {
		case rawio.Refused(err):
			w.refused.Store(true)
		case err != unix.EAGAIN:
			return m, err
		}
	}
	return unix.Writev(fd, bufs[:min(len(bufs), maxIOV)])
}

// advance drops the first n bytes of bufs.
func advance(bufs [][]byte, n int) [][]byte {
	for len(bufs) > 0 && n >= len(bufs[0]) {
		n -= len(bufs[0])
		bufs = bufs[1:]
	}
	if len(bufs) > 0 {
		bufs[0] = bufs[0][n:]
	}
	return bufs
}
