package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
	"github.com/mitogen-go/mitogend/sshconfig"
	"github.com/mitogen-go/mitogend/sshdial"
)

// conn is one SSH connection with its agent. Fields other than ready/err are set before ready
// is closed and read-only after.
type conn struct {
	key      string
	dest     string
	ready    chan struct{}
	err      error
	warnings []string // what ssh would have printed while connecting, for the first caller

	id     router.ID
	client *sshdial.Client
	link   *router.Link
	info   proto.AgentInfo
	since  time.Time
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

func (d *Daemon) handleConnect(ctx context.Context, _ router.ID, p []byte) ([]byte, error) {
	var req proto.ConnectRequest
	if err := json.Unmarshal(p, &req); err != nil {
		return nil, fmt.Errorf("daemon: bad connect request: %w", err)
	}
	t, err := resolveTarget(req)
	if err != nil {
		return nil, err
	}
	key := targetKey(t)
	d.mu.Lock()
	c, reused := d.conns[key]
	if !reused {
		c = &conn{key: key, dest: destination(t), ready: make(chan struct{})}
		d.conns[key] = c
	}
	d.mu.Unlock()
	if !reused {
		d.open(c, t, req)
	}
	select {
	case <-c.ready:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	if c.err != nil {
		return nil, c.err
	}
	reply := proto.ConnectReply{Context: c.id, Reused: reused}
	if !reused {
		reply.Warnings = c.warnings
	}
	if req.Verbose > 0 {
		how := "opened the connection to"
		if reused {
			how = "reusing the connection to"
		}
		reply.Debug = append(reply.Debug, fmt.Sprintf("debug1: mitogend: %s %s (context %d, agent pid %d)", how, c.dest, c.id, c.info.PID))
	}
	return json.Marshal(reply)
}

// open dials and bootstraps c; concurrent connects for the same key wait on c.ready.
func (d *Daemon) open(c *conn, t sshconfig.Target, req proto.ConnectRequest) {
	defer close(c.ready)
	timeout := connectTimeout
	if t.ConnectTimeout > 0 {
		timeout = t.ConnectTimeout + 30*time.Second // ConnectTimeout covers the dial; then the bootstrap
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	var early []string // warnings before the connection is ready go to its first caller
	var mu sync.Mutex  // protects early against the keepalive goroutine
	warnf := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		d.logf("daemon: %s: %s", c.dest, msg)
		mu.Lock()
		early = append(early, msg)
		mu.Unlock()
	}
	defer func() {
		mu.Lock()
		c.warnings, early = early, nil
		mu.Unlock()
	}()
	client, err := d.dialChain(ctx, t, req, warnf)
	if err != nil {
		d.fail(c, err)
		return
	}
	c.id = router.ID(d.nextID.Add(1))
	b, err := d.bootstrap(ctx, client.Client, c.id, c.dest)
	if err != nil {
		client.Close()
		d.fail(c, err)
		return
	}
	c.client, c.since = client, time.Now()
	c.info = proto.AgentInfo{OS: b.hello.Info["os"], Arch: b.hello.Info["arch"], Exe: b.hello.Info["exe"]}
	fmt.Sscan(b.hello.Info["pid"], &c.info.PID)
	c.link = d.r.AddLink(b.link, router.LinkConfig{Name: fmt.Sprintf("target-%d(%s)", c.id, c.dest), Routes: []router.ID{c.id}})
	d.logf("daemon: %s: context %d up in %v (agent %s/%s pid %d from %s, %d bytes sent)",
		c.dest, c.id, time.Since(start).Round(time.Millisecond), c.info.OS, c.info.Arch, c.info.PID, c.info.Exe, b.sent)
	go func() {
		// The connection is gone when the SSH transport is: take the link down with it.
		client.Wait()
		c.link.Close()
	}()
}

func (d *Daemon) fail(c *conn, err error) {
	c.err = err
	d.mu.Lock()
	if d.conns[c.key] == c {
		delete(d.conns, c.key)
	}
	d.mu.Unlock()
	d.logf("daemon: %s: %v", c.dest, err)
}

// resolveTarget resolves a connect request as ssh would (command line, then the config
// files), without dialing.
func resolveTarget(req proto.ConnectRequest) (sshconfig.Target, error) {
	opts, err := sshconfig.Resolve(sshconfig.Input{
		Host: req.Host, Cmdline: sshconfig.Options(req.Config), ConfigFile: req.ConfigFile,
		Home: req.Home, LocalUser: req.LocalUser,
	})
	if err != nil {
		return sshconfig.Target{}, err
	}
	return opts.Target(req.Host, req.Home, req.LocalUser)
}

// destination names a connection as user@host:port in logs and status.
func destination(t sshconfig.Target) string {
	return fmt.Sprintf("%s@%s", t.User, net.JoinHostPort(t.HostName, strconv.Itoa(t.Port)))
}

// targetKey identifies connections that may be shared: same endpoint, same identity, same
// host-key policy.
func targetKey(t sshconfig.Target) string {
	return strings.Join([]string{
		t.User, t.HostName, strconv.Itoa(t.Port), t.HostKeyAlias, t.StrictHostKeyChecking,
		strings.Join(t.IdentityFiles, ","), strconv.FormatBool(t.IdentitiesOnly),
		strings.Join(t.UserKnownHostsFiles, ","), t.ProxyJump, t.ProxyCommand,
	}, "\x00")
}
