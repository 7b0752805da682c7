package daemon

import (
	"context"
	"encoding/json"
	"os"
	"time"

	"github.com/mitogen-go/mitogend/internal/version"
	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
)

// handleStatus is DaemonStatus: every connection with its link, or, when p is a ConnectRequest,
// the destination's connection alone (resolved as -O check resolves it, never dialled).
func (d *Daemon) handleStatus(ctx context.Context, _ router.ID, p []byte) ([]byte, error) {
	st := proto.Status{PID: os.Getpid(), Version: version.Version(), Socket: d.cfg.Socket,
		Uptime: time.Since(d.started).Round(time.Second).String()}
	links := map[string]router.LinkStats{}
	var linkStatus []proto.LinkStatus
	for _, ls := range d.r.Links() {
		links[ls.Name] = ls
		linkStatus = append(linkStatus, proto.LinkStatus{Name: ls.Name, Trusted: ls.Trusted, Contexts: ls.Routes, BytesIn: ls.BytesIn, BytesOut: ls.BytesOut})
	}
	var conns []*conn
	if len(p) > 0 {
		c, reply, err := d.liveConn(p)
		if err != nil {
			return nil, err
		}
		st.Destination = reply.Destination
		if c != nil {
			conns = append(conns, c)
		}
	} else {
		st.Links = linkStatus
		conns = d.linkedConns()
	}
	for _, c := range conns {
		st.Connections = append(st.Connections, d.connStatus(ctx, c, links[c.link.Name()]))
	}
	proto.SortStatus(&st)
	return json.Marshal(st)
}

// linkedConns are the connections that have a link to their agent (bootstrapped).
func (d *Daemon) linkedConns() []*conn {
	d.mu.Lock()
	defer d.mu.Unlock()
	conns := make([]*conn, 0, len(d.conns))
	for _, c := range d.conns {
		if c.link != nil {
			conns = append(conns, c)
		}
	}
	return conns
}

// connStatus is c's line of the status, with the stream count its agent reports.
func (d *Daemon) connStatus(ctx context.Context, c *conn, ls router.LinkStats) proto.Connection {
	pc := proto.Connection{Destination: c.dest, Context: c.id, Agent: c.info, Since: c.since.Format(time.RFC3339),
		BytesIn: ls.BytesIn, BytesOut: ls.BytesOut, Contexts: d.contextStatus(c)}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if b, err := d.ep.Call(cctx, c.id, proto.AgentStatus, nil); err == nil {
		var ai proto.AgentInfo
		if json.Unmarshal(b, &ai) == nil {
			pc.Agent.Streams = ai.Streams
			pc.Streams = ai.Streams
		}
	}
	return pc
}
