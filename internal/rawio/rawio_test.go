//go:build linux

package rawio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// tcpPair is both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (*net.TCPConn, *net.TCPConn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b := <-accepted
	if b == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a.(*net.TCPConn), b.(*net.TCPConn)
}

// TestConnCarriesBytes writes more than the socket buffers hold through a Conn, so that the
// writer waits on the poller, and reads it back through another, to its end.
func TestConnCarriesBytes(t *testing.T) {
	a, b := tcpPair(t)
	wa, rb := New(a), New(b)
	if wa == nil || rb == nil {
		t.Fatal("New returned nil for a TCP connection")
	}
	data := make([]byte, 16<<20)
	for i := range data {
		data[i] = byte(i * 7 / 3)
	}
	werr := make(chan error, 1)
	go func() {
		_, err := wa.Write(data)
		a.CloseWrite()
		werr <- err
	}()
	got, err := io.ReadAll(rb)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, not the %d written", len(got), len(data))
	}
	// Linux has taken RWF_NOWAIT on sockets since 4.14: the raw calls were made.
	if wa.plain.Load() || rb.plain.Load() {
		t.Error("the calls fell back to ordinary ones on a TCP socket")
	}
}

// TestCloseEndsRead: closing the connection ends a Read that waits for data.
func TestCloseEndsRead(t *testing.T) {
	a, _ := tcpPair(t)
	r := New(a)
	done := make(chan error, 1)
	go func() {
		_, err := r.Read(make([]byte, 10))
		done <- err
	}()
	a.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Read on a closed connection returned no error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Read still waits 10 s after Close")
	}
}

// TestNewRefuses what a raw call could block on: a blocking pipe, a file.
func TestNewRefuses(t *testing.T) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	r := os.NewFile(uintptr(p[0]), "blocking pipe")
	w := os.NewFile(uintptr(p[1]), "blocking pipe")
	defer r.Close()
	defer w.Close()
	if New(r) != nil {
		t.Error("New took a blocking pipe")
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "file"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	unix.SetNonblock(int(f.Fd()), true)
	if New(f) != nil {
		t.Error("New took a regular file")
	}
	if New(struct{ io.Reader }{r}) != nil {
		t.Error("New took what is not a syscall.Conn")
	}
	pr, pw, err := os.Pipe() // non-blocking, in the poller
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	if New(pr) == nil {
		t.Error("New refused a non-blocking pipe")
	}
}

// TestWritevNoWaitNeverWaits: on a blocking pipe nobody reads, WritevNoWait writes what fits
// and then says to wait, where writev(2) would block.
func TestWritevNoWaitNeverWaits(t *testing.T) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	chunk := make([]byte, 32<<10)
	bufs := [][]byte{chunk, chunk, chunk, chunk}
	total := 0
	done := make(chan error, 1)
	go func() {
		for i := 0; i <= 100; i++ {
			n, err := WritevNoWait(p[1], bufs)
			if err == unix.EAGAIN {
				done <- nil
				return
			}
			if err != nil {
				done <- err
				return
			}
			total += n
		}
		done <- errors.New("100 writes went into a pipe nobody reads")
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("WritevNoWait still waits for the full pipe after 10 s")
	}
	if _, err := WritevNoWait(p[1], bufs); !errors.Is(err, unix.EAGAIN) {
		t.Fatalf("WritevNoWait to a full pipe: %v, want EAGAIN", err)
	}
	pending, err := unix.IoctlGetInt(p[0], unix.TIOCINQ)
	if err != nil {
		t.Fatal(err)
	}
	if total == 0 || pending != total {
		t.Fatalf("wrote %d bytes; the pipe holds %d", total, pending)
	}
}

// TestWritevNoWaitWrites every buffer, in order, to what takes them.
func TestWritevNoWaitWrites(t *testing.T) {
	a, b := tcpPair(t)
	raw, err := a.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	raw.Control(func(fd uintptr) {
		n, err = WritevNoWait(int(fd), [][]byte{[]byte("one "), nil, []byte("two "), []byte("three")})
	})
	if err != nil || n != 13 {
		t.Fatalf("WritevNoWait: %d, %v", n, err)
	}
	a.CloseWrite()
	got, _ := io.ReadAll(b)
	if string(got) != "one two three" {
		t.Fatalf("read %q", got)
	}
	if _, err := WritevNoWait(-1, [][]byte{[]byte("x")}); err == nil || errors.Is(err, unix.EAGAIN) {
		t.Fatalf("WritevNoWait on a bad descriptor: %v", err)
	}
}

// TestReadNeverHoldsTheProcessor: a Read on an empty pipe whose O_NONBLOCK another holder of
// the open file cleared after New (fakessh restores the caller's flags, a second caller saved
// other ones) waits on the poller, not in the kernel: with one processor, a raw call that
// waited there would stop every goroutine, the one that would write included. Run in a child
// process, which a hang cannot take down with the test.
func TestReadNeverHoldsTheProcessor(t *testing.T) {
	if os.Getenv("RAWIO_CHILD") == "1" {
		readOnOneProcessor()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestReadNeverHoldsTheProcessor$", "-test.v")
	cmd.Env = append(os.Environ(), "RAWIO_CHILD=1")
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("a Read on an emptied blocking pipe stopped the process (killed after 60 s):\n%s", out)
	}
	if err != nil || !bytes.Contains(out, []byte("read 5 bytes")) {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func readOnOneProcessor() {
	runtime.GOMAXPROCS(1)
	r, w, err := os.Pipe()
	if err != nil {
		panic(err)
	}
	c := New(r)
	if c == nil {
		panic("New refused a non-blocking pipe")
	}
	rc, err := r.SyscallConn()
	if err != nil {
		panic(err)
	}
	rc.Control(func(fd uintptr) { unix.SetNonblock(int(fd), false) }) // as another holder would
	started := make(chan struct{})
	got := make(chan int)
	go func() {
		close(started)
		n, _ := c.Read(make([]byte, 10))
		got <- n
	}()
	<-started
	runtime.Gosched() // let the reader go into Read: it must come back here
	w.Write([]byte("hello"))
	fmt.Printf("read %d bytes\n", <-got)
}
