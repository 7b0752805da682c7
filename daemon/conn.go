package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mitogen-go/mitogend/internal/bootstrap"
	"github.com/mitogen-go/mitogend/internal/chains"
	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
	"github.com/mitogen-go/mitogend/sshconfig"
	"github.com/mitogen-go/mitogend/sshdial"
)

// conn is one SSH connection with its agent. Fields other than ready, err and lost are set
// before ready is closed and read-only after; id, client, hops, warnings, stderr and dialErr
// before dialed is.
//
// Lifecycle: the record is registered in Daemon.conns (under Daemon.mu) before it is dialled,
// so concurrent callers for the same key wait on one connection; link is set under Daemon.mu
// before the link's reader starts (router.AddLinkThen), so linkDown, which finds the record by
// its link under Daemon.mu, always finds it; a failed or lost connection is removed from conns
// (fail, linkDown), and a caller that finds one not yet removed checks up() (link and SSH
// transport alive) before reusing it.
type conn struct {
	key      string
	filedAs  string // the key it is filed under in Daemon.conns: key, or another once exiting
	shareKey string // key without host-key checking (share.go)
	dest     string
	host     string // how ssh names the host in its messages: the resolved HostName
	ready    chan struct{}
	err      error
	// dialed is closed once the SSH connection is up, or failed (dialErr), before the agent
	// is: a plain command on passed descriptors starts on a session channel of its own at once
	// (ConnectRequest.Early) while the agent bootstraps.
	dialed  chan struct{}
	dialErr error
	// bootGo, closed by startAgent, lets the bootstrap begin behind an early first call: not
	// before that call's exec is out (the agent's upload, in the same TCP stream, would queue
	// in front of it), or as soon as someone needs the agent.
	bootGo   chan struct{}
	bootOnce sync.Once
	warnings []string // what ssh would have printed while connecting, for the first caller
	stderr   []byte   // what a ProxyCommand printed while connecting, for the first caller

	id     router.ID
	client *sshdial.Client
	hops   []*hopConn // the hop connections the client rides, outermost first (shared)
	link   *router.Link
	info   proto.AgentInfo
	since  time.Time

	lost    atomic.Pointer[string] // set once keepalives gave up: why the link is about to go
	exiting bool                   // -O exit is closing it: no caller may take it up; guarded by Daemon.mu
	env     envPolicy              // the sshd's AcceptEnv, as far as callers asked
	lanes   lanePool               // the set of lanes ready for the next bulk command (lanes.go)

	children map[string]*child // contexts started through this one's agent, by stepKey chain; guarded by Daemon.mu
}

// downReason words the connection's end for the callers whose streams it ends, as ssh words
// it: keepalives that went unanswered, else the far end closing.
func (c *conn) downReason(error) string {
	if p := c.lost.Load(); p != nil {
		return *p
	}
	if msg := hopsGone(c.hops, c.host); msg != "" {
		return msg
	}
	return fmt.Sprintf("Connection to %s closed by remote host.", c.host)
}

// up reports whether the connection is ready and alive: its link up and its SSH transport not
// ended (the link follows the transport down, on a goroutine of its own: a caller reusing the
// connection in between must not get it).
func (c *conn) up() bool {
	select {
	case <-c.ready:
	default:
		return false
	}
	if c.err != nil || c.link == nil {
		return false
	}
	if c.client != nil && isClosed(c.client.Done()) {
		return false
	}
	return !isClosed(c.link.Done())
}

// alive reports whether c may still serve a caller: dialling, or logged in with its SSH
// transport up and, once ready, its link up too. A record that is not alive but not yet
// removed (its bootstrap, held back behind an early first call, has yet to notice the cut) is
// replaced rather than reused. Called under Daemon.mu.
func (c *conn) alive() bool {
	if c.exiting {
		return false
	}
	if !isClosed(c.dialed) {
		return true // the caller waits for the dial's outcome
	}
	if c.dialErr != nil || (c.client != nil && isClosed(c.client.Done())) {
		return false
	}
	return !isClosed(c.ready) || c.up()
}

func (c *conn) close() {
	if c.link != nil {
		c.link.Close()
	}
	if c.client != nil {
		c.client.Close()
	}
}

// connectTimeout bounds a connection attempt when ConnectTimeout is not set: the daemon must not
// wait forever on a target that never answers.
const connectTimeout = 60 * time.Second

// defaultServerAliveInterval is the keepalive the daemon runs on a connection whose first caller
// asked for none (with ssh's ServerAliveCountMax, 3 unless set). ssh runs none by default, but a
// shared connection outlives its callers: without one, a target that stops answering would
// hold every later call on it forever.
const defaultServerAliveInterval = 15 * time.Second

func (d *Daemon) handleConnect(ctx context.Context, src router.ID, p []byte) ([]byte, error) {
	var req proto.ConnectRequest
	if err := json.Unmarshal(p, &req); err != nil {
		return nil, fmt.Errorf("daemon: bad connect request: %w", err)
	}
	req.Caller = src
	reply, err := d.connect(ctx, req)
	if err != nil {
		ce := callError(err)
		reply = proto.ConnectReply{Failure: ce.Texts(), Error: ce, Stderr: proxyStderr(err)}
	}
	return json.Marshal(reply)
}

// logMessages are the log messages ssh would print for err: its own when it has them.
func logMessages(err error) []string {
	var lm interface{ LogMessages() []string }
	if errors.As(err, &lm) {
		return lm.LogMessages()
	}
	return strings.Split(err.Error(), "\n")
}

// connect finds or opens the connection for req and checks it for this caller, then the
// contexts below it that req asks for.
func (d *Daemon) connect(ctx context.Context, req proto.ConnectRequest) (proto.ConnectReply, error) {
	req, err := chains.Expand(req)
	if err != nil {
		return proto.ConnectReply{}, err
	}
	chain, err := resolveChain(req)
	if err != nil {
		return proto.ConnectReply{}, err
	}
	// A plain command on passed descriptors need not wait for the agent (execfds.go).
	early := req.Early && len(req.Steps) == 0 && !d.cfg.NoSessionExec
	c, shared := d.compatibleConn(chain, req)
	reused := c != nil
	if c != nil && !early && !isClosed(c.ready) {
		if err := waitReady(ctx, c); err != nil {
			return proto.ConnectReply{}, err
		}
	}
	if c == nil {
		if c, reused, err = d.connFor(ctx, chain, req, early); err != nil {
			return proto.ConnectReply{}, err
		}
	}
	reply := proto.ConnectReply{Context: c.id, Reused: reused, Host: c.host,
		Warnings: c.warnings, Stderr: string(c.stderr), ForwardingDisabled: c.client.HostKeyResult.ForwardingDisabled,
		Early: !isClosed(c.ready)}
	if reused {
		reply.Warnings, reply.Stderr = nil, ""
		var res sshdial.HostKeyResult
		if shared != nil { // checked already, for this caller
			res, reply.Warnings = shared.result, shared.warnings
		} else if res, err = d.recheck(c, chain, req, func(format string, args ...any) {
			reply.Warnings = append(reply.Warnings, fmt.Sprintf(format, args...))
		}); err != nil {
			d.logf("daemon: %s: refused to a caller whose known_hosts or policy refuses its host key", c.dest)
			return proto.ConnectReply{}, err
		}
		reply.ForwardingDisabled = res.ForwardingDisabled
	}
	if req.Verbose > 0 {
		how := "opened the connection to"
		if reused {
			how = "reusing the connection to"
		}
		agent := "agent starting"
		if !reply.Early {
			agent = fmt.Sprintf("agent pid %d", c.info.PID)
		}
		reply.Debug = append(reply.Debug, fmt.Sprintf("debug1: mitogend: %s %s (context %d, %s)", how, c.dest, c.id, agent))
	}
	// An early call runs on a session channel of its own, whose sshd applies AcceptEnv to the
	// env requests itself, as it does for ssh: asking first would put two round trips before
	// the call's exec. Should the call end up in the agent after all, runInAgent asks then: on
	// a session channel of the two that maxSessionsPerConn leaves to sshd's default MaxSessions.
	if len(req.EnvNames) > 0 && !early {
		reply.AcceptedEnv, reply.EnvChecked = d.acceptedEnv(c, req.EnvNames), true
	}
	if len(req.Steps) > 0 {
		debug := func(line string) {
			if req.Verbose > 0 {
				reply.Debug = append(reply.Debug, line)
			}
		}
		id, refused, err := d.contextFor(ctx, c, req.Steps, req.Caller, req.Prompt || req.StdinPrompt, debug)
		if err != nil {
			return proto.ConnectReply{}, err
		}
		if refused != nil {
			return proto.ConnectReply{Refused: refused, Host: c.host}, nil
		}
		reply.Context = id
	}
	return reply, nil
}

// connFor finds the live connection for chain or opens one. A connection whose link is down but
// not yet forgotten is passed over: the call gets a fresh one rather than a dead one.
func (d *Daemon) connFor(ctx context.Context, chain targetChain, req proto.ConnectRequest, early bool) (*conn, bool, error) {
	key := chain.key(req.AuthSock)
	for {
		d.mu.Lock()
		c, reused := d.conns.byKey[key]
		if reused && !c.alive() {
			d.conns.drop(c) // linkDown forgets it too; whichever comes first
			reused = false
		}
		if !reused {
			c = &conn{key: key, shareKey: chain.shareKey(req.AuthSock), dest: destination(chain.dest.target), host: chain.dest.target.HostName, ready: make(chan struct{}), dialed: make(chan struct{}), bootGo: make(chan struct{}), children: map[string]*child{}}
			d.conns.put(key, c)
		}
		d.mu.Unlock()
		wait := c.ready
		if early {
			wait = c.dialed
		} else {
			c.startAgent()
		}
		switch {
		case !reused && early:
			go d.open(c, chain, req)
		case !reused:
			d.open(c, chain, req)
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, false, context.Cause(ctx)
		}
		if early && !isClosed(c.ready) {
			if c.dialErr != nil {
				return nil, false, c.dialErr
			}
			return c, reused, nil // the agent is still on its way
		}
		if c.err != nil {
			return nil, false, c.err
		}
		if c.up() {
			return c, reused, nil
		}
		// Lost between opening and this call: try once more with a fresh connection.
		if !reused {
			return nil, false, errors.New(c.downReason(nil))
		}
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// recheck applies this caller's known_hosts files and host-key policy, at every hop, to the keys
// the connection was accepted with, as the fresh connection ssh would make for it would: a key
// revoked, removed or changed since is refused, and the caller sees what ssh would print.
func (d *Daemon) recheck(c *conn, chain targetChain, req proto.ConnectRequest, warnf func(string, ...any)) (sshdial.HostKeyResult, error) {
	for i, h := range chain.hops {
		if _, err := sshdial.VerifyHostKey(d.dialConfig(h, req, warnf), c.hops[i].client.HostKey); err != nil {
			return sshdial.HostKeyResult{}, err
		}
	}
	return sshdial.VerifyHostKey(d.dialConfig(chain.dest, req, warnf), c.client.HostKey)
}

// dialConfig is how ssh, run by this caller, would check and authenticate one hop.
func (d *Daemon) dialConfig(h hop, req proto.ConnectRequest, warnf func(string, ...any)) sshdial.Config {
	cfg := sshdial.Config{Target: h.target, AuthSock: req.AuthSock, Logf: d.logf, Warnf: warnf, HideInfo: hidesInfo(req.LogLevel),
		Requests: sshdial.RequestsFor(h.opts), Auth: sshdial.AuthFor(h.opts)}
	if req.Prompt {
		cfg.Prompt = d.promptCaller(req.Caller)
	}
	return cfg
}

// open dials and bootstraps c; concurrent connects for the same key wait on c.ready. It waits
// for a connect slot (dialSlots) behind other targets' connects; its deadline starts once it
// has one.
func (d *Daemon) open(c *conn, chain targetChain, req proto.ConnectRequest) {
	defer close(c.ready)
	var once sync.Once
	markDialed := func() { once.Do(func() { close(c.dialed) }) }
	defer markDialed()
	queue, cancel := context.WithTimeout(context.Background(), connectQueueTimeout)
	defer cancel()
	start := time.Now()
	// What ssh would print before the connection is ready goes to its first caller.
	early := &earlyOutput{logf: func(format string, args ...any) { d.logf("daemon: %s: "+format, append([]any{c.dest}, args...)...) }}
	lost := func(msg string) {
		d.logf("daemon: %s: %s", c.dest, msg)
		c.lost.Store(&msg)
	}
	cd := &chainDial{chain: chain, req: req, early: early, timeout: dialDeadline(chain.dest.target.ConnectTimeout, req.Prompt)}
	defer cd.finish()
	client, hops, ctx, err := d.dialChain(queue, cd, lost)
	if err != nil {
		_, stderr := early.take()
		c.dialErr = withStderr(err, stderr)
		d.fail(c, c.dialErr)
		return
	}
	c.id = router.ID(d.nextID.Add(1))
	d.mu.Lock()
	d.conns.identified(c)
	d.mu.Unlock()
	c.client, c.hops = client, hops
	c.warnings, c.stderr = early.take()
	markDialed()
	waitBootGo(c)
	b, err := d.bootstrap(ctx, client.Client, c.id, c.dest)
	if err != nil {
		why := err.Error() // what an early first call, on its own session, is told
		c.lost.Store(&why)
		client.Close()
		d.fail(c, err)
		return
	}
	cd.finish()
	c.since = time.Now()
	c.info = bootstrap.Info(b.hello)
	// c.link is set under d.mu before the link is routed or read: linkDown, which finds the
	// connection by its link, must find it however early the link goes down.
	d.r.AddLinkThen(b.link, router.LinkConfig{Name: fmt.Sprintf("target-%d(%s)", c.id, c.dest), Peer: c.id,
		MaxQueue: targetQueue, Reason: c.downReason}, func(l *router.Link) {
		d.mu.Lock()
		d.conns.linked(c, l)
		d.mu.Unlock()
	})
	d.logf("daemon: %s: context %d up in %v (agent %s/%s pid %d from %s, %d bytes sent)",
		c.dest, c.id, time.Since(start).Round(time.Millisecond), c.info.OS, c.info.Arch, c.info.PID, c.info.Exe, b.sent)
	client.AfterClose(c.link.Close) // the connection is gone when the SSH transport is: take the link down with it
	go d.fillLanes(c)
}

func (d *Daemon) fail(c *conn, err error) {
	c.err = err
	d.mu.Lock()
	d.conns.drop(c)
	d.mu.Unlock()
	d.logf("daemon: %s: %v", c.dest, err)
}

// targetQueue bounds what may wait on one target's link: the streams' windows bound an honest
// agent's share, so more means a target that stopped reading.
const targetQueue = router.DefaultMaxQueue

// destination names a connection as user@host:port in logs and status.
func destination(t sshconfig.Target) string {
	return fmt.Sprintf("%s@%s", t.User, net.JoinHostPort(t.HostName, strconv.Itoa(t.Port)))
}

// targetKey is one hop's part of a chain's key: endpoint, identity (keys and agent), host-key
// files and policy, address family.
func targetKey(t sshconfig.Target, authSock string) string {
	return strings.Join([]string{
		t.User, t.HostName, strconv.Itoa(t.Port), t.HostKeyAlias, t.StrictHostKeyChecking,
		strings.Join(t.IdentityFiles, ","), strconv.FormatBool(t.IdentitiesOnly), sshdial.AgentSocket(t, authSock),
		strings.Join(t.UserKnownHostsFiles, ","), strings.Join(t.GlobalKnownHostsFiles, ","),
		t.AddressFamily,
	}, "\x00") // how it is reached is the chain's part of the key (targetChain.key)
}

// bootDelayMax bounds how long an early first call holds the agent's bootstrap back.
const bootDelayMax = 2 * time.Second

// waitBootGo waits (bounded) until c's bootstrap may begin.
func waitBootGo(c *conn) {
	t := time.NewTimer(bootDelayMax)
	defer t.Stop()
	select {
	case <-c.bootGo:
	case <-t.C:
	}
}

// startAgent lets c's bootstrap begin (see bootGo); safe to call any number of times.
func (c *conn) startAgent() { c.bootOnce.Do(func() { close(c.bootGo) }) }

// waitReady waits for c's agent (behind an early first call) and says whether c is up.
func waitReady(ctx context.Context, c *conn) error {
	c.startAgent()
	select {
	case <-c.ready:
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	if c.err != nil {
		return c.err
	}
	if !c.up() {
		return errors.New(c.downReason(nil))
	}
	return nil
}
