package agent

import (
	"context"
	"sync"
)

// inFlight counts the services running that write through temporary files (transfers, scp's
// sink, sftp): cut short, they leave the file behind, so that Run waits for them once its link
// is gone, and they fail with the link's streams and remove their files at once. Commands,
// forwards and child contexts are not counted: they may run on long after their stream is gone.
// The zero value is ready; its methods are safe for concurrent use.
type inFlight struct {
	mu   sync.Mutex    // protects n and idle
	n    int           // services running
	idle chan struct{} // closed when n falls to zero; nil while it is zero
}

// start counts one service in; the service calls done when it has finished.
func (f *inFlight) start() (done func()) {
	f.mu.Lock()
	if f.n == 0 {
		f.idle = make(chan struct{})
	}
	f.n++
	f.mu.Unlock()
	var once sync.Once
	return func() { once.Do(f.end) }
}

func (f *inFlight) end() {
	f.mu.Lock()
	if f.n--; f.n == 0 {
		close(f.idle)
		f.idle = nil
	}
	f.mu.Unlock()
}

// wait returns once no service is running (the first moment none is), or with ctx's cause when
// ctx ends first, and the number still running then.
func (f *inFlight) wait(ctx context.Context) (int, error) {
	f.mu.Lock()
	idle := f.idle
	f.mu.Unlock()
	if idle == nil {
		return 0, nil
	}
	select {
	case <-idle:
		return 0, nil
	case <-ctx.Done():
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.n, context.Cause(ctx)
	}
}
