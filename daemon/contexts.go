package daemon

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mitogen-go/mitogend/internal/vis"
	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
	"github.com/mitogen-go/mitogend/tunnel"
)

// DefaultMaxContexts bounds the contexts started through one SSH connection's agent (become and
// container contexts, at every depth) unless Config.MaxContexts says otherwise; past it the least
// recently used idle one is recycled. It is Mitogen's figure: each context is a process with an
// agent of its own on someone's machine, and a loop over many accounts or containers should not
// leave hundreds of them there unless whoever runs the daemon asked for that (a fleet reached
// through intermediaries does: mitogend serve --max-contexts).
const DefaultMaxContexts = 20

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
	conn   *conn  // the SSH connection it was started through
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
			// Not bound to this caller's lifetime: other callers may be waiting on ch, and
			// spawnTimeout bounds it.
			d.start(context.WithoutCancel(ctx), c, ch, st, caller, prompt && !st.NonInteractive)
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
	ch := &child{key: key, conn: c, name: name, parent: parent, depth: depth, ready: make(chan struct{})}
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
	if ch.id != 0 && d.contexts[ch.id] == ch {
		delete(d.contexts, ch.id)
	}
	d.mu.Unlock()
}

// start starts ch and closes ch.ready. A step found in the caller's command line (Fallback) is
// first tried without prompting; when that fails, the call falls back to running its command
// as ssh would (Refused.Policy), unless a password is all that is missing, the method's policy
// does not let the caller's own command run without one, and the caller can be asked.
func (d *Daemon) start(ctx context.Context, c *conn, ch *child, st proto.Step, caller router.ID, prompt bool) {
	defer close(ch.ready)
	ctx, cancel := context.WithTimeoutCause(ctx, spawnTimeout, fmt.Errorf("daemon: starting %s took longer than %v", ch.name, spawnTimeout))
	defer cancel()
	d.recycle(ctx, c)
	try := st
	try.NonInteractive = st.NonInteractive || st.Fallback
	res := d.spawnOnce(ctx, c, ch, try, caller, prompt && !try.NonInteractive)
	if st.Fallback && res.refused != nil && !st.NonInteractive {
		if prompt && passwordMissing(st.Method, res.refused.Stderr) && !d.allowedWithoutPassword(ctx, ch.parent, st) {
			res = d.spawnOnce(ctx, c, ch, st, caller, true)
		} else {
			res.refused.Policy = true
		}
	}
	d.mu.Lock()
	ch.id, ch.info, ch.refused, ch.err = res.id, res.info, res.refused, res.err
	if ch.id != 0 {
		d.contexts[ch.id] = ch
	}
	d.mu.Unlock()
	switch {
	case ch.refused != nil && ch.refused.Policy:
		ch.refusedAt = time.Now() // kept: later calls fall back at once
	case ch.refused != nil || ch.err != nil:
		d.forgetChild(c, ch)
	}
}

// spawned is how one attempt to start a context ended.
type spawned struct {
	id      router.ID
	info    proto.AgentInfo
	refused *proto.Refusal
	err     error
}

// spawnOnce starts st's context through ch.parent once.
func (d *Daemon) spawnOnce(ctx context.Context, c *conn, ch *child, st proto.Step, caller router.ID, prompt bool) spawned {
	id := router.ID(d.nextID.Add(1))
	if err := d.routeThrough(ctx, c, ch.parent, id); err != nil {
		return spawned{err: err}
	}
	payload, _ := json.Marshal(spawnRequest(st, id, ch.name))
	s, err := d.ep.Open(ctx, ch.parent, proto.AgentSpawn, payload)
	if err != nil {
		return spawned{err: fmt.Errorf("daemon: %s: starting %s: %w", c.dest, ch.name, err)}
	}
	defer s.Close()
	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()
	for r := range s.Requests() {
		switch r.Name {
		case proto.ReqPrompt:
			d.relayPrompt(ctx, s, r.Payload, caller, prompt)
		case proto.ReqSpawned:
			res := spawned{id: id}
			json.Unmarshal(r.Payload, &res.info)
			d.logf("daemon: %s: context %d (%s) up behind context %d, agent pid %d", c.dest, id, ch.name, ch.parent, res.info.PID)
			return res
		case proto.ReqSpawnFailed:
			var f proto.SpawnFailure
			json.Unmarshal(r.Payload, &f)
			d.logf("daemon: %s: %s did not start (status %d): %s", c.dest, ch.name, f.Status, vis.Safe(f.Reason))
			return spawned{refused: refusalOf(f, st)}
		}
	}
	if ctx.Err() != nil {
		return spawned{err: fmt.Errorf("daemon: %s: starting %s: %w", c.dest, ch.name, context.Cause(ctx))}
	}
	return spawned{err: fmt.Errorf("daemon: %s: starting %s: the agent ended the attempt", c.dest, ch.name)}
}

// passwordMissing reports whether a non-interactive start failed only for want of a password.
func passwordMissing(method, out string) bool {
	switch method {
	case "sudo":
		return strings.Contains(out, "a password is required")
	case "doas":
		return strings.Contains(out, "Authentication required")
	case "su":
		return true // su has no -n: any failure of the quiet start may be the password
	}
	return false
}

// allowedWithoutPassword asks sudo, on the parent, whether the caller's own command may run
// without a password (sudo -n -l): then a rule for that command alone (sudoers' NOPASSWD:
// /usr/bin/rsync) is what let ssh run it, and asking for a password would be wrong.
func (d *Daemon) allowedWithoutPassword(ctx context.Context, parent router.ID, st proto.Step) bool {
	if st.Method != "sudo" || len(st.Command) == 0 {
		return false
	}
	argv := []string{program(st), "-n", "-l"}
	if st.User != "" {
		argv = append(argv, "-u", st.User)
	}
	if st.Group != "" {
		argv = append(argv, "-g", st.Group)
	}
	status, err := d.runOn(ctx, parent, append(append(argv, "--"), st.Command...))
	return err == nil && status == 0
}

// runOn runs argv in context id, discarding its output, and returns its exit status.
func (d *Daemon) runOn(ctx context.Context, id router.ID, argv []string) (int, error) {
	payload, _ := json.Marshal(proto.ExecRequest{Argv: argv, KeepDir: true})
	s, err := d.ep.Open(ctx, id, proto.AgentExec, payload)
	if err != nil {
		return -1, err
	}
	defer s.Close()
	s.CloseWrite()
	go io.Copy(io.Discard, s.Stderr())
	io.Copy(io.Discard, s)
	for r := range s.Requests() {
		if r.Name == proto.ReqExitStatus && len(r.Payload) == 4 {
			return int(int32(binary.BigEndian.Uint32(r.Payload))), nil
		}
	}
	return -1, fmt.Errorf("daemon: %v: no exit status", argv)
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
	var q proto.PromptRequest
	if prompt && json.Unmarshal(payload, &q) == nil {
		q.Become = true
		payload, _ = json.Marshal(q)
		var got proto.PromptReply
		b, err := d.ep.Call(ctx, caller, proto.ClientPrompt, payload)
		if err == nil {
			err = json.Unmarshal(b, &got)
		}
		if err == nil {
			answer = got
		} else {
			d.logf("daemon: prompt to context %d: %v", caller, err)
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

// recycle makes room for one more context on c: past Daemon.maxContexts, the least recently used
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
	if n <= d.maxContexts {
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

// contextGone forgets a child context whose Disconnect reached the daemon. Every context's end
// comes here, clients' included (each fakessh that exits), so it looks the id up rather than
// going through the connections.
func (d *Daemon) contextGone(id router.ID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ch := d.contexts[id]
	if ch == nil {
		return
	}
	delete(d.contexts, id)
	if ch.conn.children[ch.key] == ch {
		delete(ch.conn.children, ch.key)
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
