package daemon

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

func TestBulkCommand(t *testing.T) {
	for cmd, want := range map[string]bool{
		"rsync --server -logDtpre.iLsfxCIvu . /dst/":             true,
		"rsync --server --sender -logDtpre.iLsfxCIvu . /src/":    true,
		"/usr/local/bin/rsync  --server -e.iLsfxCIvu . /dst/":    true,
		"sudo -u svc rsync --server -logDtpre.iLsfxCIvu . /dst/": false, // a become step of its own
		"rsync --version":    false,
		"rsync --serverless": false,
		"cat big":            false,
		"":                   false,
	} {
		if got := bulkCommand(cmd); got != want {
			t.Errorf("bulkCommand(%q) = %v, want %v", cmd, got, want)
		}
	}
}

// TestCutWhenStalled: a read that waits past the bound is cut; one that is not waiting, or a
// watch already done, is left alone.
func TestCutWhenStalled(t *testing.T) {
	pr, pw := io.Pipe()
	w := &stallWatch{r: pr}
	read := make(chan error, 1)
	go func() {
		_, err := w.Read(make([]byte, 1))
		read <- err
	}()
	cut := make(chan struct{})
	go cutWhenStalled(w, 40*time.Millisecond, make(chan struct{}), func() {
		close(cut)
		pw.CloseWithError(errors.New("cut"))
	})
	<-cut
	if err := <-read; err == nil || err.Error() != "cut" {
		t.Fatalf("the stalled read ended with %v, want the cut", err)
	}
	pw.Close()

	idle := &stallWatch{r: pr}
	if idle.stalled(0, time.Time{}) {
		t.Fatal("a watch with no read waiting says it stalled")
	}
	// A read that began long before the watch counts from the watch's start.
	idle.since.Store(time.Now().Add(-time.Hour).UnixNano())
	if idle.stalled(time.Minute, time.Now()) {
		t.Fatal("a read waiting since before the watch began counts as stalled at once")
	}
	if !idle.stalled(time.Minute, time.Time{}) {
		t.Fatal("a read waiting an hour does not count as stalled a minute")
	}
	done := make(chan struct{})
	close(done)
	cutWhenStalled(w, time.Millisecond, done, func() { t.Fatal("cut after done") })
}

// TestIdleLaneHandsOnItsPeek: the byte the pending read of an idle lane took is the first the
// lane's reader gets, and an end seen while idle is its reader's too; ended runs for each.
func TestIdleLaneHandsOnItsPeek(t *testing.T) {
	a, b := net.Pipe()
	c, d := net.Pipe()
	ended := make(chan struct{}, 2)
	set := watchIdle([]net.Conn{a, c}, func() { ended <- struct{}{} })
	go func() { b.Write([]byte("xyz")); b.Close() }()
	d.Close()
	<-ended
	<-ended
	got, err := io.ReadAll(set[0])
	if string(got) != "xyz" || err != nil {
		t.Fatalf("lane 0 read %q, %v; want all of \"xyz\"", got, err)
	}
	if n, err := set[1].Read(make([]byte, 4)); n != 0 || err != io.EOF {
		t.Fatalf("lane 1, ended while idle, read %d, %v; want EOF", n, err)
	}
}

// TestEndedWhileIdle: a set one of whose lanes ended while it waited is seen as ended before
// endedIdle has dropped it; a set whose lanes wait is not.
func TestEndedWhileIdle(t *testing.T) {
	a, b := net.Pipe()
	c, d := net.Pipe()
	defer b.Close()
	ended := make(chan struct{}, 2)
	set := watchIdle([]net.Conn{a, c}, func() { ended <- struct{}{} })
	if endedWhileIdle(set) {
		t.Fatal("a set whose lanes wait is taken for ended")
	}
	d.Close()
	<-ended // after the watcher's result is in
	if !endedWhileIdle(set) {
		t.Fatal("a set with a lane that ended is not taken for ended")
	}
	a.Close()
}
