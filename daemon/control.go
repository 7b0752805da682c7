package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
)

// registerControl offers the services behind fakessh -O (check, exit, stop) for one destination.
// They resolve the destination as a connect would but never dial.
func (d *Daemon) registerControl() {
	d.ep.HandleCall(proto.DaemonCheck, d.trusted(d.handleCheck))
	d.ep.HandleCall(proto.DaemonExit, d.trusted(d.handleExit))
}

// liveConn finds the destination's connection if it is up; one still connecting is not up,
// as ssh has no master until authentication is done.
func (d *Daemon) liveConn(p []byte) (*conn, proto.ControlReply, error) {
	d.settleEarly(context.Background()) // a connection behind an early first call is up for -O
	var req proto.ConnectRequest
	if err := json.Unmarshal(p, &req); err != nil {
		return nil, proto.ControlReply{}, fmt.Errorf("daemon: bad control request: %w", err)
	}
	chain, err := resolveChain(req)
	if err != nil {
		return nil, proto.ControlReply{}, err
	}
	reply := proto.ControlReply{PID: os.Getpid(), Destination: destination(chain.dest.target)}
	d.mu.Lock()
	c := d.conns.byKey[chain.key(req.AuthSock)]
	d.mu.Unlock()
	if c == nil || !c.up() {
		return nil, reply, nil
	}
	reply.Up = true
	return c, reply, nil
}

func (d *Daemon) handleCheck(_ context.Context, _ router.ID, p []byte) ([]byte, error) {
	_, reply, err := d.liveConn(p)
	if err != nil {
		return nil, err
	}
	return json.Marshal(reply)
}

// handleExit closes the destination's connection. The entry moves to a key of its own first, so
// a connect that follows the reply dials afresh while linkDown still finds (and forgets) it when
// the link goes down. Closing the SSH client, not the link, takes the link down from its own read
// loop: linkDown closes the conn again, which must not run inside the handler's call.
func (d *Daemon) handleExit(_ context.Context, _ router.ID, p []byte) ([]byte, error) {
	c, reply, err := d.liveConn(p)
	if err != nil {
		return nil, err
	}
	if c != nil {
		d.mu.Lock()
		c.exiting = true // a caller looking for a connection to share passes it over from now on
		if d.conns.byKey[c.key] == c {
			d.conns.refile(c, fmt.Sprintf("%s\x00exiting-%d", c.key, c.id))
		}
		d.mu.Unlock()
		d.logf("daemon: %s: closing on request (-O exit)", c.dest)
		c.client.Close()
	}
	return json.Marshal(reply)
}
