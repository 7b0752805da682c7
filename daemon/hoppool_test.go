package daemon

import (
	"sync"
	"testing"
)

// Many callers asking at once for one hop get one connection, opened by one of them; it is
// dropped with the last reference, and one whose transport went is replaced, not handed out.
func TestHopPoolShares(t *testing.T) {
	var p hopPool
	var h hop
	h.target.User, h.target.HostName, h.target.Port = "u", "bastion", 22
	const callers = 50
	got := make(chan *hopConn, callers)
	fresh := make(chan bool, callers)
	var wg sync.WaitGroup
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc, f := p.get("k", h)
			got <- hc
			fresh <- f
		}()
	}
	wg.Wait()
	close(got)
	close(fresh)
	opened := 0
	for f := range fresh {
		if f {
			opened++
		}
	}
	var first *hopConn
	for hc := range got {
		if first == nil {
			first = hc
		}
		if hc != first {
			t.Fatal("two connections for one hop")
		}
	}
	if opened != 1 {
		t.Fatalf("%d callers were told to open the hop, want 1", opened)
	}
	if conns, refs := p.count(); conns != 1 || refs != callers {
		t.Fatalf("%d connections with %d references, want 1 with %d", conns, refs, callers)
	}
	close(first.ready)
	for range callers - 1 {
		p.release(first)
	}
	if conns, _ := p.count(); conns != 1 {
		t.Fatalf("released before the last reference went")
	}
	p.release(first)
	if conns, _ := p.count(); conns != 0 {
		t.Fatalf("%d connections after the last release", conns)
	}

	up, _ := p.get("k", h)
	close(up.ready)
	close(up.done) // its transport ended; a rider still holds it
	next, f := p.get("k", h)
	if !f || next == up {
		t.Errorf("a hop whose transport went was handed out again")
	}
}
