package daemon

import (
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/mitogen-go/mitogend/internal/sshopt"
	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/sshconfig"
	"github.com/mitogen-go/mitogend/sshdial"
)

// A chain is what stands in front of a destination, resolved as ssh resolves it. ssh -J h runs
// `ssh -W '[%h]:%p' h` as the ProxyCommand, and that ssh reads the configuration for h in turn,
// so a jump host's own ProxyJump or ProxyCommand is followed; a ProxyCommand that is itself
// `ssh -W host:port jump` is the same thing spelt out. Both become a direct-tcpip channel on the
// jump host's connection here, so a chain is a list: the first connection is reached by TCP or
// by running chain.proxy, every other one through a channel of the one before.

// hop is one SSH connection of a chain as ssh resolves it (command line, then the config files),
// with the options it was resolved from: they say what ssh would turn off, and print, if its
// host key were let through changed.
type hop struct {
	target sshconfig.Target
	opts   sshconfig.Options
	// configFile is the -F it was resolved with: the ssh that ProxyJump runs is given the same
	// one, a ProxyCommand's ssh the one on its own command line.
	configFile string
	// addr is what the connection in front opens its direct-tcpip channel to: "[%h]:%p" of this
	// hop for a ProxyJump, the -W argument of a ProxyCommand; "" for a chain's first connection.
	addr string
}

// targetChain is a destination and the hops in front of it, outermost first.
type targetChain struct {
	hops []hop
	dest hop
	// proxy is the ProxyCommand run to reach the first connection (hops[0], else dest), "" for
	// a TCP connection.
	proxy string
}

// maxChain bounds the resolutions of one chain. A loop is caught when a resolution repeats;
// this catches chains that grow without repeating (a ProxyCommand whose %h makes a new name at
// every step), where ssh would start processes until something gave out.
const maxChain = 32

// ErrJumpLoop is wrapped by the failure of a chain that leads back to itself.
var ErrJumpLoop = fmt.Errorf("daemon: jumphost loop")

// resolveHop resolves host with cmdline as the command line, without dialing. A Match exec
// runs as the caller's ProxyCommand would: its shell, PATH and HOME.
func resolveHop(host string, cmdline sshconfig.Options, configFile string, req proto.ConnectRequest) (hop, error) {
	shell, env := req.Shell, proxyEnv(os.Environ(), req)
	getenv := func(name string) (string, bool) { return lookupEnv(env, name) }
	opts, err := sshconfig.Resolve(sshconfig.Input{
		Host: host, Cmdline: cmdline, ConfigFile: configFile, Home: req.Home, LocalUser: req.LocalUser,
		Exec: sshconfig.ShellExec(shell, shell != "", env, io.Discard), Getenv: getenv,
	})
	if err == nil {
		opts, err = sshconfig.ExpandEnv(opts, getenv, true)
	}
	if err != nil {
		return hop{}, err
	}
	return hopFor(host, opts, configFile, req)
}

// lookupEnv is getenv over env (KEY=VALUE, the last one winning).
func lookupEnv(env []string, name string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}

// hopFor is the hop to host with opts already resolved.
func hopFor(host string, opts sshconfig.Options, configFile string, req proto.ConnectRequest) (hop, error) {
	t, err := opts.Target(host, req.Home, req.LocalUser)
	return hop{target: t, opts: opts, configFile: configFile}, err
}

// resolveChain resolves the destination and everything in front of it.
func resolveChain(req proto.ConnectRequest) (targetChain, error) {
	r := &chainResolver{req: req, seen: map[string]bool{}, resolved: sshconfig.Options(req.Resolved)}
	dest, err := r.resolve(req.Host, sshconfig.Options(req.Config), req.ConfigFile)
	if err != nil {
		return targetChain{}, err
	}
	if dest.target.ServerAliveInterval == 0 {
		dest.target.ServerAliveInterval = defaultServerAliveInterval
	}
	chain := targetChain{dest: dest}
	var front []hop // innermost first
	for cur := &chain.dest; ; cur = &front[len(front)-1] {
		next, addr, proxy, err := r.inFront(*cur)
		if err != nil {
			return targetChain{}, err
		}
		if next == nil {
			chain.proxy = proxy
			break
		}
		cur.addr = addr
		front = append(front, *next)
	}
	for i := len(front) - 1; i >= 0; i-- {
		chain.hops = append(chain.hops, front[i])
	}
	return chain, nil
}

// chainResolver remembers the resolutions of one chain, to refuse a loop.
type chainResolver struct {
	req      proto.ConnectRequest
	seen     map[string]bool   // host, config file and command line of each resolution so far
	path     []string          // the hosts resolved, destination first
	resolved sshconfig.Options // the caller's resolution of the destination, used once
}

// resolve is resolveHop, refusing a resolution made before in the same chain: the same inputs
// lead to the same hop again and again, which is a loop.
func (r *chainResolver) resolve(host string, cmdline sshconfig.Options, configFile string) (hop, error) {
	r.path = append(r.path, host)
	key := host + "\x00" + configFile + "\x00" + canonical(cmdline)
	if r.seen[key] {
		return hop{}, jumpError(fmt.Sprintf("jumphost loop via %s: %s", host, strings.Join(r.path, " -> ")))
	}
	if len(r.seen) > maxChain {
		return hop{}, jumpError(fmt.Sprintf("jumphost loop via %s: more than %d hosts in front of %s", host, maxChain, r.path[0]))
	}
	r.seen[key] = true
	if o := r.resolved; o != nil {
		r.resolved = nil
		return hopFor(host, o, configFile, r.req)
	}
	return resolveHop(host, cmdline, configFile, r.req)
}

// inFront resolves what stands in front of h: the last hop of its ProxyJump, the jump host of a
// ProxyCommand that is ssh -W, or nothing, when h is reached by TCP or by running proxy. addr is
// what the channel to h connects to.
func (r *chainResolver) inFront(h hop) (next *hop, addr, proxy string, err error) {
	t := h.target
	switch {
	case t.ProxyJump != "":
		return r.jump(h)
	case t.ProxyCommand != "":
		w, ok := parseStdioProxy(t.ProxyCommand)
		if fdpass := sshopt.ASCIILower(h.opts.Get("proxyusefdpass")); !ok && (fdpass == "yes" || fdpass == "true") {
			// The command would hand over a socket on a socketpair; the daemon speaks over pipes.
			return nil, "", "", &sshdial.Error{Message: "fakessh: ProxyUseFdpass is not supported", Err: sshdial.ErrUnsupported}
		}
		if !ok {
			return nil, "", t.ProxyCommand, nil
		}
		jh, err := r.resolve(w.host, w.config, w.configFile)
		return &jh, w.addr, "", err
	}
	return nil, "", "", nil
}

// jump resolves the last hop of h's ProxyJump as the ssh that ssh.c runs for it would:
// `ssh [-l user] [-p port] [-J the hops before] [-F file] -W '[%h]:%p' host`.
func (r *chainResolver) jump(h hop) (*hop, string, string, error) {
	t := h.target
	specs := strings.Split(t.ProxyJump, ",")
	user, host, port, ok := sshconfig.SplitDestination(specs[len(specs)-1])
	if !ok {
		return nil, "", "", fmt.Errorf("daemon: bad ProxyJump hop %q", specs[len(specs)-1])
	}
	// ssh.c's own check, made before it runs anything.
	jumpPort, jumpUser := 22, t.User
	if port != "" {
		jumpPort = sshopt.A2port(port)
	}
	if user != "" {
		jumpUser = user
	}
	if host == t.HostName && jumpPort == t.Port && jumpUser == t.User {
		return nil, "", "", jumpError("jumphost loop via " + host)
	}
	cmdline := sshconfig.Options{}
	if user != "" {
		cmdline["user"] = []string{user}
	}
	if port != "" {
		cmdline["port"] = []string{port}
	}
	if len(specs) > 1 {
		cmdline["proxyjump"] = []string{strings.Join(specs[:len(specs)-1], ",")}
	}
	jh, err := r.resolve(host, cmdline, h.configFile)
	return &jh, net.JoinHostPort(t.HostName, strconv.Itoa(t.Port)), "", err
}

// jumpError is a refused chain, worded for the caller's stderr as it is.
func jumpError(msg string) error {
	return &sshdial.Error{Message: msg, Err: ErrJumpLoop}
}

// canonical is a command line as one string, the same for the same options.
func canonical(o sshconfig.Options) string {
	keys := make([]string, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + strings.Join(o[k], "\x01") + "\x00")
	}
	return b.String()
}

// key identifies the connections a call may share: everything that decides whether OpenSSH
// would have made that connection, at every hop, and how each is reached. Settings that only
// tune a live connection (ConnectTimeout, ServerAlive*) are not part of it: the first caller's
// apply.
func (ch targetChain) key(authSock string) string {
	return ch.prefixKey(len(ch.hops), authSock) + "\x00\x00" + ch.dest.key(authSock)
}

// prefixKey is the key of the connection to hops[n-1] (n = 0: of what reaches the first): the
// part of key that a connection riding it shares.
func (ch targetChain) prefixKey(n int, authSock string) string {
	parts := []string{ch.proxy}
	for _, h := range ch.hops[:n] {
		parts = append(parts, h.key(authSock))
	}
	return strings.Join(parts, "\x00\x00")
}

// key is one hop's part of a chain's key.
func (h hop) key(authSock string) string {
	return targetKey(h.target, authSock) + "\x00" + h.addr
}
