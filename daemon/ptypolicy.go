package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"golang.org/x/crypto/ssh"

	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
)

// The agent allocates ptys itself, so sshd's PermitTTY (and an authorized_keys no-pty) would
// not hold for fakessh -t. The daemon therefore asks sshd, once per connection, with one pty-req
// on a throwaway session, and fakessh does what ssh does when sshd refuses.

// ptyProbe is one connection's answer, asked for once.
type ptyProbe struct {
	once    sync.Once
	allowed bool
	err     error
}

func (f *forwarding) handlePTYCheck(_ context.Context, src router.ID, p []byte) ([]byte, error) {
	if !f.allowed(src) {
		return nil, fmt.Errorf("daemon: permission denied")
	}
	var req proto.PTYCheck
	if err := json.Unmarshal(p, &req); err != nil {
		return nil, fmt.Errorf("daemon: bad pty check: %w", err)
	}
	allowed := true // behind an agent no sshd decides
	if client := f.direct(req.Context); client != nil {
		allowed = f.ptyAllowed(client)
	}
	return json.Marshal(proto.PTYPolicy{Allowed: allowed})
}

// ptyAllowed asks sshd on client the first time and remembers the answer for the connection's
// life. A probe that could not ask (no session to be had) counts as a refusal and is not kept:
// a policy that cannot be learnt is not bypassed.
func (f *forwarding) ptyAllowed(client *ssh.Client) bool {
	f.mu.Lock()
	p := f.ptys[client]
	if p == nil {
		p = &ptyProbe{}
		f.ptys[client] = p
		go func() {
			client.Wait()
			f.forgetProbe(client, p)
		}()
	}
	f.mu.Unlock()
	p.once.Do(func() { p.allowed, p.err = probePTY(client) })
	if p.err != nil {
		f.logf("daemon: pty policy: %v", p.err)
		f.forgetProbe(client, p)
	}
	return p.allowed
}

func (f *forwarding) forgetProbe(client *ssh.Client, p *ptyProbe) {
	f.mu.Lock()
	if f.ptys[client] == p {
		delete(f.ptys, client)
	}
	f.mu.Unlock()
}

// ptyRequest is RFC 4254's pty-req body.
type ptyRequest struct {
	Term                      string
	Cols, Rows, Width, Height uint32
	Modes                     string
}

// probePTY sends a pty-req with want-reply on a session that runs nothing, then closes it.
func probePTY(client *ssh.Client) (bool, error) {
	ch, reqs, err := client.OpenChannel("session", nil)
	if err != nil {
		return false, fmt.Errorf("daemon: session for a pty probe: %w", err)
	}
	go ssh.DiscardRequests(reqs)
	defer ch.Close()
	ok, err := ch.SendRequest("pty-req", true, ssh.Marshal(&ptyRequest{Term: "vt100", Cols: 80, Rows: 24, Modes: "\x00"}))
	if err != nil {
		return false, fmt.Errorf("daemon: pty probe: %w", err)
	}
	return ok, nil
}
