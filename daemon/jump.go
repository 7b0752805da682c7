package daemon

import (
	"context"
	"fmt"
	"net"

	"golang.org/x/crypto/ssh"

	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/sshconfig"
	"github.com/mitogen-go/mitogend/sshdial"
)

// dialChain dials t as ssh -J does: through each ProxyJump hop in turn, every SSH connection
// carried by a direct-tcpip channel of the one before. Host keys and authentication are checked
// at every hop, and keys stay here: nothing is forwarded to the jump hosts. The hops close when
// the target's connection does.
func (d *Daemon) dialChain(ctx context.Context, chain targetChain, req proto.ConnectRequest, warnf func(string, ...any), lost func(string)) (*sshdial.Client, error) {
	var dial func(ctx context.Context, network, addr string) (net.Conn, error)
	var hops []*ssh.Client
	closeHops := func() {
		for i := len(hops) - 1; i >= 0; i-- {
			hops[i].Close()
		}
	}
	for _, jt := range chain.hops {
		c, err := sshdial.Dial(ctx, sshdial.Config{Target: jt, AuthSock: req.AuthSock, Logf: d.logf, Warnf: warnf, DialContext: dial})
		if err != nil {
			closeHops()
			return nil, err
		}
		hops = append(hops, c.Client)
		dial = c.DialContext
	}
	client, err := sshdial.Dial(ctx, sshdial.Config{Target: chain.target, AuthSock: req.AuthSock, Logf: d.logf, Warnf: warnf,
		Lost: lost, DialContext: dial})
	if err != nil {
		closeHops()
		return nil, err
	}
	if len(hops) > 0 {
		go func() {
			client.Wait()
			closeHops()
		}()
	}
	return client, nil
}

// jumpTarget resolves one ProxyJump hop, [user@]host[:port], with the same configuration files
// as the destination. The hop's own ProxyJump is not followed: the chain is the one given.
func jumpTarget(spec string, req proto.ConnectRequest) (sshconfig.Target, error) {
	user, host, port, ok := sshconfig.SplitDestination(spec)
	if !ok {
		return sshconfig.Target{}, fmt.Errorf("daemon: bad ProxyJump hop %q", spec)
	}
	cmdline := sshconfig.Options{}
	if user != "" {
		cmdline["user"] = []string{user}
	}
	if port != "" {
		cmdline["port"] = []string{port}
	}
	opts, err := sshconfig.Resolve(sshconfig.Input{Host: host, Cmdline: cmdline, ConfigFile: req.ConfigFile, Home: req.Home, LocalUser: req.LocalUser})
	if err != nil {
		return sshconfig.Target{}, err
	}
	t, err := opts.Target(host, req.Home, req.LocalUser)
	t.ProxyJump, t.ProxyCommand = "", ""
	return t, err
}
