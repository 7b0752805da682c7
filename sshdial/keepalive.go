package sshdial

import (
	"fmt"
	"time"

	"golang.org/x/crypto/ssh"
)

// keepalive sends "keepalive@openssh.com" every ServerAliveInterval. A
// request still unanswered at the next tick counts as a miss; after
// ServerAliveCountMax misses the client is closed, which is when ssh gives
// up with "Timeout, server HOST not responding.".
func keepalive(client *ssh.Client, c *Config) {
	t := c.Target
	closed := make(chan struct{})
	go func() {
		client.Wait()
		close(closed)
	}()
	tick := time.NewTicker(t.ServerAliveInterval)
	defer tick.Stop()
	var pending chan error
	misses := 0
	for {
		select {
		case <-closed:
			return
		case err := <-pending:
			pending = nil
			if err != nil {
				return
			}
			misses = 0
		case <-tick.C:
			if pending != nil {
				misses++
				if misses >= max(t.ServerAliveCountMax, 1) {
					msg := fmt.Sprintf("Timeout, server %s not responding.", t.HostName)
					if c.Lost != nil {
						c.Lost(msg)
					} else {
						c.warnf("%s", msg)
					}
					client.Close()
					return
				}
				continue
			}
			pending = make(chan error, 1)
			go func(done chan<- error) {
				_, _, err := client.SendRequest("keepalive@openssh.com", true, nil)
				done <- err
			}(pending)
		}
	}
}
