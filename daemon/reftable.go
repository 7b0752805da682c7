package daemon

import "sync"

// refTable hands out refs (never 0, never reused while the daemon runs) for relays that an
// agent names when it opens a stream back to the daemon: a forwarded port's listener, a -A
// command's agent socket. Safe for concurrent use.
type refTable[T any] struct {
	mu   sync.Mutex // protects next and m
	next uint32
	m    map[uint32]T
}

// add files v and returns its ref.
func (t *refTable[T]) add(v T) uint32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[uint32]T{}
	}
	t.next++
	t.m[t.next] = v
	return t.next
}

func (t *refTable[T]) get(ref uint32) (T, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.m[ref]
	return v, ok
}

func (t *refTable[T]) drop(ref uint32) {
	t.mu.Lock()
	delete(t.m, ref)
	t.mu.Unlock()
}
