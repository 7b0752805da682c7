package daemon

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/mitogen-go/mitogend/internal/bootstrap"
	"github.com/mitogen-go/mitogend/internal/ratelog"
	"github.com/mitogen-go/mitogend/internal/vis"
	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
)

// bootstrapped is an agent running on the far end of one SSH session channel.
type bootstrapped struct {
	link  io.ReadWriteCloser
	hello router.Hello
	sent  int // agent bytes sent
}

// bootstrap starts the agent on client as context id. The session's stderr goes to logf.
func (d *Daemon) bootstrap(ctx context.Context, client *ssh.Client, id router.ID, dest string) (*bootstrapped, error) {
	ch, reqs, err := client.OpenChannel("session", nil)
	if err != nil {
		return nil, fmt.Errorf("daemon: %s: new session: %w", dest, err)
	}
	go ssh.DiscardRequests(reqs)
	ok := false
	defer func() {
		if !ok {
			ch.Close()
		}
	}()
	stop := context.AfterFunc(ctx, func() { ch.Close() })
	defer stop()
	lim := ratelog.New(100, time.Second)
	go bootstrap.DrainLines(ch.Stderr(), bootstrap.MaxLogLine, func(line string) { lim.Logf(d.logf, "%s: agent: %s", dest, vis.Safe(line)) })
	// exec without waiting for sshd's reply (ssh.Session.Start would): the platform line
	// answers anyway, and a refused exec shows as the channel closing. One round trip saved.
	exec := struct{ Command string }{bootstrap.Command()}
	if _, err := ch.SendRequest("exec", false, ssh.Marshal(&exec)); err != nil {
		return nil, fmt.Errorf("daemon: %s: starting bootstrap: %w", dest, err)
	}
	br := bufio.NewReaderSize(ch, bootstrap.MaxPreamble)
	skipped := func(line string) {
		lim.Logf(d.logf, "%s: login shell said: %s", dest, vis.Cut(line, bootstrap.MaxLogLine))
	}
	hello, sent, err := bootstrap.Run(br, ch, d.agents.forPeer(client.RemoteAddr()), id, proto.Root, skipped)
	if err != nil {
		return nil, fmt.Errorf("daemon: %s: %w", dest, err)
	}
	ok = true
	return &bootstrapped{link: channelLink{bootstrap.Rest(br, ch), ch}, hello: hello, sent: sent}, nil
}

// channelLink is the agent's link: reads take what the bootstrap's reader holds, then the
// channel; writes and Close go straight to the channel.
type channelLink struct {
	io.Reader
	ch ssh.Channel
}

func (c channelLink) Write(p []byte) (int, error) { return c.ch.Write(p) }
func (c channelLink) Close() error                { return c.ch.Close() }
