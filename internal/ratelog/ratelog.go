// Package ratelog bounds how often one kind of log line is written, so that a peer that
// provokes a line per frame (a hostile target flooding forged frames) cannot flood the log.
// It is not a logger: it decides whether a line goes to the Logf it is given.
package ratelog

import (
	"fmt"
	"sync"
	"time"
)

// Limiter lets through a burst of lines, then one per interval, and says how many it held
// back when it next lets one through. The zero value is not usable; see New. It is safe for
// concurrent use.
type Limiter struct {
	burst    int
	interval time.Duration
	now      func() time.Time

	mu         sync.Mutex // protects the fields below
	tokens     int
	last       time.Time
	suppressed int
}

// New returns a Limiter that allows burst lines at once and one more per interval.
func New(burst int, interval time.Duration) *Limiter {
	return &Limiter{burst: burst, interval: interval, now: time.Now, tokens: burst}
}

// Logf writes the line through logf unless the limit is reached.
func (l *Limiter) Logf(logf func(string, ...any), format string, args ...any) {
	held, ok := l.allow()
	if !ok {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if held > 0 {
		msg += fmt.Sprintf(" (%d similar lines suppressed)", held)
	}
	logf("%s", msg)
}

func (l *Limiter) allow() (held int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if l.last.IsZero() {
		l.last = now
	}
	if refill := int(now.Sub(l.last) / l.interval); refill > 0 {
		l.tokens = min(l.burst, l.tokens+refill)
		l.last = l.last.Add(time.Duration(refill) * l.interval)
	}
	if l.tokens == 0 {
		l.suppressed++
		return 0, false
	}
	l.tokens--
	held, l.suppressed = l.suppressed, 0
	return held, true
}
