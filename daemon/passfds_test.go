package daemon

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/mitogen-go/mitogend/router"
)

// socketPair is a connected pair of Unix stream sockets as net.UnixConns.
func socketPair(t *testing.T) (*net.UnixConn, *net.UnixConn) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	conn := func(fd int) *net.UnixConn {
		f := os.NewFile(uintptr(fd), "sock")
		defer f.Close()
		c, err := net.FileConn(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c.(*net.UnixConn)
	}
	return conn(fds[0]), conn(fds[1])
}

// The descriptors sent with the Hello's first bytes arrive with it; the Hello still parses, and
// a reader over the same connection is left exactly after it.
func TestRightsReaderKeepsHelloFiles(t *testing.T) {
	a, b := socketPair(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	go func() {
		hw := &helloRights{c: a, fds: []int{int(w.Fd()), int(w.Fd()), int(w.Fd())}}
		router.WriteHello(hw, router.Hello{})
		a.Write([]byte("after"))
		w.Close()
	}()
	rr := &rightsReader{c: b}
	if _, err := router.ReadHello(rr); err != nil {
		t.Fatal(err)
	}
	if len(rr.files) != 3 {
		t.Fatalf("got %d files, want 3", len(rr.files))
	}
	if _, err := rr.files[1].Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	closeFiles(rr.files)
	buf := make([]byte, 8)
	if n, _ := r.Read(buf); string(buf[:n]) != "x" {
		t.Errorf("through the passed pipe: %q", buf[:n])
	}
	n, _ := rr.Read(buf)
	if string(buf[:n]) != "after" {
		t.Errorf("after the hello: %q", buf[:n])
	}
}

// More descriptors than a client passes are all refused (closed), never kept.
func TestRightsReaderRefusesExtraFiles(t *testing.T) {
	a, b := socketPair(t)
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	fd := int(devnull.Fd())
	go router.WriteHello(&helloRights{c: a, fds: []int{fd, fd, fd, fd, fd}}, router.Hello{})
	rr := &rightsReader{c: b}
	if _, err := router.ReadHello(rr); err != nil {
		t.Fatal(err)
	}
	if len(rr.files) != 0 {
		t.Errorf("kept %d files from a Hello that passed 5", len(rr.files))
	}
}

// A stdout that shares its description with a non-blocking stdin (scp's one socket for both)
// still takes every byte: a full buffer is waited out, not returned as EAGAIN.
func TestFDWriterWaitsOutFullBuffer(t *testing.T) {
	a, b := socketPair(t)
	f, err := a.File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	unix.SetNonblock(int(f.Fd()), true)
	want := 4 << 20 // far beyond a socket buffer
	done := make(chan int)
	go func() {
		n := 0
		buf := make([]byte, 64<<10)
		for n < want {
			m, err := b.Read(buf)
			if err != nil {
				break
			}
			n += m
		}
		done <- n
	}()
	n, err := newFDWriter(f).Write(make([]byte, want))
	if err != nil || n != want {
		t.Fatalf("wrote %d, %v; want %d", n, err, want)
	}
	if got := <-done; got != want {
		t.Errorf("read %d, want %d", got, want)
	}
}

// writeBuffers puts every byte of every buffer, in order, into a blocking pipe that fills:
// the writes without waiting come first, and where the pipe is full, the waiting ones.
func TestFDWriterWritesBuffers(t *testing.T) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	r, w := os.NewFile(uintptr(p[0]), "pipe"), os.NewFile(uintptr(p[1]), "pipe")
	defer r.Close()
	var bufs [][]byte
	var want []byte
	for i := range 200 {
		b := make([]byte, 1000+i*97) // 2.1 MB in all, far beyond a pipe's 64 KiB
		for j := range b {
			b[j] = byte(i + j)
		}
		bufs = append(bufs, b)
		want = append(want, b...)
	}
	got := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(r)
		got <- b
	}()
	n, err := newFDWriter(w).writeBuffers(bufs)
	w.Close()
	if err != nil || n != int64(len(want)) {
		t.Fatalf("wrote %d, %v; want %d", n, err, len(want))
	}
	if !bytes.Equal(<-got, want) {
		t.Fatal("the pipe carried other bytes than were written")
	}
}

// helloRights is the client's rightsWriter, kept here so the daemon's test needs no client.
type helloRights struct {
	c    *net.UnixConn
	fds  []int
	sent bool
}

func (w *helloRights) Write(p []byte) (int, error) {
	if w.sent {
		return w.c.Write(p)
	}
	w.sent = true
	n, _, err := w.c.WriteMsgUnix(p, unix.UnixRights(w.fds...), nil)
	return n, err
}

// A caller's stdin that is a regular file is read copyBufSize at a time, as a pipe is:
// *os.File's WriteTo, which io.CopyBuffer would otherwise prefer, reads 32 KiB a time, eight
// read(2)s and eight calls of the channel's Write (or frames to an agent) for each one now.
func TestCopyBufferedReadsFilesInLargePieces(t *testing.T) {
	size := 3*copyBufSize + 1000
	path := filepath.Join(t.TempDir(), "stdin")
	data := bytes.Repeat([]byte("0123456789abcdef"), size/16+1)[:size]
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var w recordingWriter
	n, err := copyBuffered(&w, f)
	if err != nil || n != int64(size) || !bytes.Equal(w.buf.Bytes(), data) {
		t.Fatalf("copied %d bytes (err %v), equal %v; want %d", n, err, bytes.Equal(w.buf.Bytes(), data), size)
	}
	want := []int{copyBufSize, copyBufSize, copyBufSize, 1000}
	if !slices.Equal(w.sizes, want) {
		t.Fatalf("writes of %v bytes, want %v", w.sizes, want)
	}
}

// recordingWriter keeps what it is given and the size of each Write.
type recordingWriter struct {
	buf   bytes.Buffer
	sizes []int
}

func (w *recordingWriter) Write(p []byte) (int, error) {
	w.sizes = append(w.sizes, len(p))
	return w.buf.Write(p)
}
