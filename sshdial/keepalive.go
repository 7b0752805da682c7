package sshdial

import (
	"fmt"
	"sync"
	"time"
)

// keepalive sends "keepalive@openssh.com" every ServerAliveInterval. A request still
// unanswered at the next tick counts as a miss; after ServerAliveCountMax misses the client is
// closed, which is when ssh gives up with "Timeout, server HOST not responding.". It runs on a
// timer, not a goroutine of its own: a fleet's idle connections each cost a timer, and a
// goroutine only while a request is out.
type keepalive struct {
	client *Client
	cfg    *Config
	timer  *time.Timer

	mu      sync.Mutex
	pending bool // a request is out, unanswered
	misses  int
	stopped bool
}

func startKeepalive(client *Client, c *Config) {
	k := &keepalive{client: client, cfg: c}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.timer = time.AfterFunc(c.Target.ServerAliveInterval, k.tick)
	client.AfterClose(k.stop)
}

func (k *keepalive) stop() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.stopped = true
	k.timer.Stop()
}

func (k *keepalive) tick() {
	t := k.cfg.Target
	k.mu.Lock()
	if k.stopped {
		k.mu.Unlock()
		return
	}
	if k.pending {
		k.misses++
		if k.misses >= max(t.ServerAliveCountMax, 1) {
			k.stopped = true
			k.mu.Unlock()
			msg := fmt.Sprintf("Timeout, server %s not responding.", t.HostName)
			if k.cfg.Lost != nil {
				k.cfg.Lost(msg)
			} else {
				k.cfg.warnf("%s", msg)
			}
			k.client.Close()
			return
		}
	} else {
		k.pending = true
		go k.send()
	}
	k.timer.Reset(t.ServerAliveInterval)
	k.mu.Unlock()
}

// send makes one request and waits for its answer: a server that never answers holds this
// goroutine until the connection ends, which the misses see to.
func (k *keepalive) send() {
	_, _, err := k.client.SendRequest("keepalive@openssh.com", true, nil)
	k.mu.Lock()
	defer k.mu.Unlock()
	if err != nil {
		k.stopped = true
		k.timer.Stop()
		return
	}
	k.pending, k.misses = false, 0
}
