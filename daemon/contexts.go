package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mitogen-go/mitogend/internal/vis"
	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
	"github.com/mitogen-go/mitogend/tunnel"
)

// maxContexts bounds the contexts started through one SSH connection's agent (become and
// container contexts, at every depth); past it the least recently used idle one is recycled,
// as Mitogen keeps 20.
const maxContexts = 20

// policyMemory is how long a policy refusal of a context is remembered, so that the calls that
// fall back to running their command as ssh would do not each run the tool twice. Policy
// changes show after it.
const policyMemory = 10 * time.Minute

// spawnTimeout bounds starting one context, prompts included: a user who walks away from a
// password prompt must not hold the call forever.
const spawnTimeout = 5 * time.Minute

// child is a context the daemon started through another: sudo, su or doas on a target, or a
// container runtime. Fields other than ready, err, refused, id, info and lastUsed are set
// before it is shared; those are set before ready is closed and read-only after, except
// lastUsed.
type child struct {
	key    string // the chain of steps from the SSH context, as stepKey spells it
	name   string // for logs and status: "sudo -u postgres"
	parent router.ID
	depth  int // 1 for a context started by the SSH context's agent

	ready     chan struct{}
	err       error
	refused   *proto.Refusal // the method's own failure
	refusedAt time.Time      // when a policy refusal was made: it is kept for policyMemory
	id        router.ID
	info      proto.AgentInfo

	lastUsed atomic.Int64 // unix nanoseconds of the last call that asked for it
}

func (ch *child) touch() { ch.lastUsed.Store(time.Now().UnixNano()) }

// contextFor returns the context at the end of steps, starting each one that does not run yet
// through the one before it, beginning at c's SSH context. caller is the client that asked,
// prompted when a step asks for a password and prompt allows.
func (d *Daemon) contextFor(ctx context.Context, c *conn, steps []proto.Step, caller router.ID, prompt bool, debug func(string)) (router.ID, *proto.Refusal, error) {
	parent, key := c.id, ""
	for i, st := range steps {
		key += stepKey(st) + "\x00"
		ch, created := d.childEntry(c, key, parent, i+1, stepName(st), time.Now())
		if created {
			d.spawn(ctx, c, ch, st, caller, prompt && !st.NonInteractive)
		}
		select {
		case <-ch.ready:
		case <-ctx.Done():
			return 0, nil, context.Cause(ctx)
		}
		if ch.err != nil || ch.refused != nil {
			return 0, ch.refused, ch.err
		}
		ch.touch()
		how := "reusing"
		if created {
			how = "started"
		}
		debug(fmt.Sprintf("debug1: mitogend: %s context %d (%s) behind context %d", how, ch.id, ch.name, parent))
		parent = ch.id
	}
	return parent, nil, nil
}

// childEntry finds the context key of c, or registers a new one for the caller to start (also
// in place of a policy refusal older than policyMemory).
func (d *Daemon) childEntry(c *conn, key string, parent router.ID, depth int, name string, now time.Time) (*child, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if ch := c.children[key]; ch != nil && (ch.refused == nil || now.Sub(ch.refusedAt) < policyMemory) {
		return ch, false
	}
	ch := &child{key: key, name: name, parent: parent, depth: depth, ready: make(chan struct{})}
	c.children[key] = ch
	return ch, true
}

// forgetChild drops ch from c once it failed or went away, so that the next call starts it
// afresh (and asks for the password again, rather than retrying behind the user's back).
func (d *Daemon) forgetChild(c *conn, ch *child) {
	d.mu.Lock()
	if c.children[ch.key] == ch {
		delete(c.children, ch.key)
	}
	d.mu.Unlock()
}

// spawn starts ch through its parent and closes ch.ready.
func (d *Daemon) spawn(ctx context.Context, c *conn, ch *child, st proto.Step, caller router.ID, prompt bool) {
	defer close(ch.ready)
	ctx, cancel := context.WithTimeoutCause(ctx, spawnTimeout, fmt.Errorf("daemon: starting %s took longer than %v", ch.name, spawnTimeout))
	defer cancel()
	d.recycle(ctx, c)
	id := router.ID(d.nextID.Add(1))
	if err := d.routeThrough(ctx, c, ch.parent, id); err != nil {
		ch.err = err
		d.forgetChild(c, ch)
		return
	}
	req := spawnRequest(st, id, ch.name)
	payload, _ := json.Marshal(req)
	s, err := d.ep.Open(ctx, ch.parent, proto.AgentSpawn, payload)
	if err != nil {
		ch.err = fmt.Errorf("daemon: %s: starting %s: %w", c.dest, ch.name, err)
		d.forgetChild(c, ch)
		return
	}
	defer s.Close()
	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()
	for r := range s.Requests() {
		switch r.Name {
		case proto.ReqPrompt:
			d.relayPrompt(ctx, s, r.Payload, caller, prompt)
		case proto.ReqSpawned:
			json.Unmarshal(r.Payload, &ch.info)
			ch.id = id
			d.logf("daemon: %s: context %d (%s) up behind context %d, agent pid %d", c.dest, id, ch.name, ch.parent, ch.info.PID)
			return
		case proto.ReqSpawnFailed:
			var f proto.SpawnFailure
			json.Unmarshal(r.Payload, &f)
			d.logf("daemon: %s: %s did not start (status %d): %s", c.dest, ch.name, f.Status, vis.Safe(f.Reason))
			ch.refused = refusalOf(f, st)
			if ch.refused.Policy {
				ch.refusedAt = time.Now() // kept: later calls fall back at once
			} else {
				d.forgetChild(c, ch)
			}
			return
		}
	}
	ch.err = fmt.Errorf("daemon: %s: starting %s: %w", c.dest, ch.name, context.Cause(ctx))
	if ctx.Err() == nil {
		ch.err = fmt.Errorf("daemon: %s: starting %s: the agent ended the attempt", c.dest, ch.name)
	}
	d.forgetChild(c, ch)
}

// refusalOf is how a failed start reads to the caller: the method's own words and status, as
// the command's failure under ssh would end the call.
func refusalOf(f proto.SpawnFailure, st proto.Step) *proto.Refusal {
	out := f.Output
	if out != "" && !strings.HasSuffix(out, "\n") {
		out += "\n"
	}
	status := f.Status
	if status <= 0 {
		status = 1
	}
	if out == "" {
		out = fmt.Sprintf("%s: %s\n", st.Method, f.Reason)
	}
	return &proto.Refusal{Stderr: out, Status: status, Policy: policyRefusal(st.Method, out)}
}

// policyRefusal reports whether out is the tool refusing the command by its policy (sudoers,
// doas.conf) rather than the user's authentication or an unknown account.
func policyRefusal(method, out string) bool {
	switch method {
	case "sudo":
		return strings.Contains(out, "is not allowed to execute")
	case "doas":
		return strings.Contains(out, "Operation not permitted")
	}
	return false
}

// relayPrompt asks the caller what the spawned command asks, and passes the answer back.
func (d *Daemon) relayPrompt(ctx context.Context, s *tunnel.Stream, payload []byte, caller router.ID, prompt bool) {
	answer := proto.PromptReply{NoAnswer: true}
	if prompt {
		b, err := d.ep.Call(ctx, caller, proto.ClientPrompt, payload)
		if err == nil {
			err = json.Unmarshal(b, &answer)
		}
		if err != nil {
			d.logf("daemon: prompt to context %d: %v", caller, err)
			answer = proto.PromptReply{NoAnswer: true}
		}
	}
	b, _ := json.Marshal(answer)
	s.SendRequest(proto.ReqAnswer, b)
}

// routeThrough makes id, about to start behind parent, reachable: here, and at every agent
// between the SSH context and parent (the SSH context's own agent routes to its children by
// their links).
func (d *Daemon) routeThrough(ctx context.Context, c *conn, parent, id router.ID) error {
	for _, via := range d.ancestors(c, parent) {
		b, _ := json.Marshal(proto.RouteRequest{ID: id, Via: parent})
		if _, err := d.ep.Call(ctx, via, proto.AgentRoute, b); err != nil {
			return fmt.Errorf("daemon: %s: routing context %d: %w", c.dest, id, err)
		}
	}
	return d.r.AddRoute(id, parent)
}

// ancestors are the contexts strictly above parent in c's tree, from the SSH context down.
func (d *Daemon) ancestors(c *conn, parent router.ID) []router.ID {
	d.mu.Lock()
	defer d.mu.Unlock()
	up := map[router.ID]router.ID{}
	for _, ch := range c.children {
		if ch.id != 0 {
			up[ch.id] = ch.parent
		}
	}
	var out []router.ID
	for p, ok := up[parent]; ok; p, ok = up[p] {
		out = append([]router.ID{p}, out...)
	}
	return out
}

// recycle makes room for one more context on c: past maxContexts, the least recently used
// context that serves no stream and has none behind it is dropped by its parent.
func (d *Daemon) recycle(ctx context.Context, c *conn) {
	d.mu.Lock()
	var idle []*child
	parents := map[router.ID]bool{}
	n := 0 // contexts that run or are starting, not refusals kept for policyMemory
	for _, ch := range c.children {
		parents[ch.parent] = true
		if ch.refused == nil {
			n++
		}
	}
	for _, ch := range c.children {
		if ch.id != 0 && !parents[ch.id] {
			idle = append(idle, ch)
		}
	}
	d.mu.Unlock()
	if n <= maxContexts {
		return
	}
	sort.Slice(idle, func(i, j int) bool { return idle[i].lastUsed.Load() < idle[j].lastUsed.Load() })
	for _, ch := range idle {
		if d.streamsAt(ctx, ch.id) != 0 {
			continue
		}
		b, _ := json.Marshal(proto.RouteRequest{ID: ch.id})
		if _, err := d.ep.Call(ctx, ch.parent, proto.AgentDrop, b); err == nil {
			d.logf("daemon: %s: recycled context %d (%s), idle since %v", c.dest, ch.id, ch.name, time.Unix(0, ch.lastUsed.Load()).Format(time.TimeOnly))
			d.forgetChild(c, ch)
			return
		}
	}
}

// streamsAt is how many streams context id serves, or -1 when it does not say.
func (d *Daemon) streamsAt(ctx context.Context, id router.ID) int {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	b, err := d.ep.Call(cctx, id, proto.AgentStatus, nil)
	var ai proto.AgentInfo
	if err != nil || json.Unmarshal(b, &ai) != nil {
		return -1
	}
	return ai.Streams
}

// contextGone forgets a child context whose Disconnect reached the daemon.
func (d *Daemon) contextGone(id router.ID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.conns {
		for k, ch := range c.children {
			if ch.id == id {
				delete(c.children, k)
			}
		}
	}
}

// contextStatus lists c's children for status.
func (d *Daemon) contextStatus(c *conn) []proto.ContextStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []proto.ContextStatus
	for _, ch := range c.children {
		if ch.id == 0 {
			continue
		}
		idle := time.Since(time.Unix(0, ch.lastUsed.Load())).Round(time.Second)
		out = append(out, proto.ContextStatus{Context: ch.id, Parent: ch.parent, Name: ch.name, Agent: ch.info, Idle: idle.String()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Context < out[j].Context })
	return out
}
