package daemon

import (
	"context"
	"fmt"
	"net"

	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/sshconfig"
	"github.com/mitogen-go/mitogend/sshdial"
)

// dialChain dials the chain as ssh -J does: through each ProxyJump hop in turn, every SSH connection
// carried by a direct-tcpip channel of the one before. Host keys and authentication are checked
// at every hop, and keys stay here: nothing is forwarded to the jump hosts. The hops close when
// the target's connection does.
func (d *Daemon) dialChain(ctx context.Context, chain targetChain, req proto.ConnectRequest, warnf func(string, ...any), lost func(string)) (*sshdial.Client, []*sshdial.Client, error) {
	var dial func(ctx context.Context, network, addr string) (net.Conn, error)
	var hops []*sshdial.Client
	closeHops := func() {
		for i := len(hops) - 1; i >= 0; i-- {
			hops[i].Close()
		}
	}
	for _, h := range chain.hops {
		cfg := d.dialConfig(h, req, warnf)
		cfg.DialContext = dial
		c, err := sshdial.Dial(ctx, cfg)
		if err != nil {
			closeHops()
			return nil, nil, err
		}
		hops = append(hops, c)
		dial = c.DialContext
	}
	cfg := d.dialConfig(chain.dest, req, warnf)
	cfg.Lost, cfg.DialContext = lost, dial
	client, err := sshdial.Dial(ctx, cfg)
	if err != nil {
		closeHops()
		return nil, nil, err
	}
	if len(hops) > 0 {
		go func() {
			client.Wait()
			closeHops()
		}()
	}
	return client, hops, nil
}

// jumpHop resolves one ProxyJump hop, [user@]host[:port], with the same configuration files
// as the destination. The hop's own ProxyJump is not followed: the chain is the one given.
func jumpHop(spec string, req proto.ConnectRequest) (hop, error) {
	user, host, port, ok := sshconfig.SplitDestination(spec)
	if !ok {
		return hop{}, fmt.Errorf("daemon: bad ProxyJump hop %q", spec)
	}
	cmdline := sshconfig.Options{}
	if user != "" {
		cmdline["user"] = []string{user}
	}
	if port != "" {
		cmdline["port"] = []string{port}
	}
	h, err := resolveHop(host, cmdline, req)
	h.target.ProxyJump, h.target.ProxyCommand = "", ""
	return h, err
}
