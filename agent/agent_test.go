package agent

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mitogen-go/mitogend/internal/atomicfile"
	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
	"github.com/mitogen-go/mitogend/transfer"
	"github.com/mitogen-go/mitogend/tunnel"
)

// TestLinkLostMidTransferLeavesNoTemp cuts an agent's link while a file is half sent to it:
// by the time Run returns (and the agent's process would exit), the transfer has removed its
// temporary file. An agent that returned at once left the file behind for the next transfer
// into the directory to reap, and an exit may come before that transfer's reap.
func TestLinkLostMidTransferLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(t.TempDir(), "src")
	if err := os.WriteFile(src, make([]byte, 8<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	ep := tunnel.NewEndpoint(nil)
	r := router.New(router.Config{ID: proto.Root, Handler: ep})
	ep.Attach(r)
	t.Cleanup(r.Close)
	agentEnd, daemonEnd := net.Pipe()
	ran := make(chan error, 1)
	go func() { ran <- Run(context.Background(), Config{In: agentEnd, Out: agentEnd}) }()
	if _, err := router.ReadHello(daemonEnd); err != nil {
		t.Fatal(err)
	}
	const agentID router.ID = 2
	if err := router.WriteHello(daemonEnd, router.Hello{ID: agentID, Parent: proto.Root}); err != nil {
		t.Fatal(err)
	}
	r.AddLink(daemonEnd, router.LinkConfig{Name: "target", Peer: agentID})

	// The sender stops once a megabyte is out, and stays stopped until the link is gone.
	halfway, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	var sent int64
	progress := func(n int64) {
		if sent += n; sent >= 1<<20 && sent-n < 1<<20 {
			close(halfway)
			<-release
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go transfer.Push(ctx, ep, agentID, []string{src}, filepath.Join(dir, "dest"), transfer.Options{Progress: progress})
	select {
	case <-halfway:
	case <-ctx.Done():
		t.Fatal("the transfer never sent a megabyte")
	}
	for len(temps(t, dir)) == 0 {
		if ctx.Err() != nil {
			t.Fatal("no temporary file appeared in the destination directory")
		}
		runtime.Gosched()
	}

	daemonEnd.Close()
	select {
	case <-ran:
	case <-ctx.Done():
		t.Fatal("Run did not return after its link closed")
	}
	if left := temps(t, dir); len(left) > 0 {
		t.Fatalf("Run returned with the transfer's temporary file still there: %v", left)
	}
}

func temps(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), atomicfile.TempPrefix) {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestInFlight: wait returns at once with nothing running, gives ctx's cause and the count while
// a service runs, and returns once the last one is done; done twice counts once.
func TestInFlight(t *testing.T) {
	var f inFlight
	if n, err := f.wait(context.Background()); n != 0 || err != nil {
		t.Fatalf("idle: %d, %v", n, err)
	}
	done1, done2 := f.start(), f.start()
	cause := errors.New("gave up")
	over, cancel := context.WithCancelCause(context.Background())
	cancel(cause)
	if n, err := f.wait(over); n != 2 || !errors.Is(err, cause) {
		t.Fatalf("two running, ctx over: %d, %v; want 2, %v", n, err, cause)
	}
	done1()
	done1()
	if n, err := f.wait(over); n != 1 || !errors.Is(err, cause) {
		t.Fatalf("one running after done1 twice: %d, %v; want 1, %v", n, err, cause)
	}
	waited := make(chan error, 1)
	go func() { _, err := f.wait(context.Background()); waited <- err }()
	done2()
	if err := <-waited; err != nil {
		t.Fatalf("after the last done: %v", err)
	}
	if n, err := f.wait(over); n != 0 || err != nil {
		t.Fatalf("idle again: %d, %v", n, err)
	}
}
