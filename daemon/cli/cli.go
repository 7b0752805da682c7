// Package cli is mitogend's command line (urfave/cli/v2): serve, stop, status, shim and --version,
// and mitogend(1) made from the same App (Manual). It parses flags and calls package daemon; it
// holds no daemon logic itself.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/mitogen-go/mitogend/client"
	"github.com/mitogen-go/mitogend/daemon"
	"github.com/mitogen-go/mitogend/internal/fdlimit"
	"github.com/mitogen-go/mitogend/internal/lanes"
	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/tunnel"
)

// Stdio is the process's output streams and environment.
type Stdio struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

// Run runs mitogend with args (args[0] is the program name).
func Run(ctx context.Context, args []string, stdio Stdio) error {
	return newApp(ctx, stdio).RunContext(ctx, args)
}

// newApp is mitogend's command line; its help is also the source of mitogend(1) (see Manual).
func newApp(ctx context.Context, stdio Stdio) *ucli.App {
	home, _ := os.UserHomeDir()
	if h := stdio.Getenv("HOME"); h != "" {
		home = h
	}
	socketFlag := &ucli.StringFlag{Name: "socket", Usage: "Unix socket path", Value: proto.SocketPath(stdio.Getenv, home), EnvVars: []string{"MITOGEN_SOCKET"}}
	return &ucli.App{
		Name:        "mitogend",
		Usage:       "router daemon owning SSH connections for fakessh",
		Description: appDescription,
		Writer:      stdio.Stdout,
		ErrWriter:   stdio.Stderr,
		Flags:       []ucli.Flag{versionFlag},
		Action:      func(c *ucli.Context) error { return appAction(c, stdio) },
		Commands: []*ucli.Command{
			{
				Name:  "serve",
				Usage: "run the daemon in the foreground",
				Flags: []ucli.Flag{
					socketFlag,
					&ucli.DurationFlag{Name: "idle", Usage: "exit after this long without clients (0: never)", Value: 10 * time.Minute, EnvVars: []string{"MITOGEN_IDLE"}},
					&ucli.StringFlag{Name: "agent-dir", Usage: "directory with the mitogen-agent.OS-ARCH builds (default: beside mitogend, then ../lib/mitogend)", EnvVars: []string{"MITOGEN_AGENT_DIR"}},
					&ucli.IntFlag{Name: "max-connects", Usage: "SSH connections set up at once; more wait for a slot (connections already up never do)", Value: daemon.DefaultMaxConnects, EnvVars: []string{"MITOGEN_MAX_CONNECTS"}},
					&ucli.IntFlag{Name: "max-contexts", Usage: "contexts (sudo, su, doas, containers, exec) started through one SSH connection; past it the least recently used idle one is stopped", Value: daemon.DefaultMaxContexts, EnvVars: []string{"MITOGEN_MAX_CONTEXTS"}},
					&ucli.BoolFlag{Name: "session-exec", Usage: "run plain commands on direct targets on SSH session channels of their own (false: always through the agent)", Value: true, EnvVars: []string{"MITOGEN_SESSION_EXEC"}},
					&ucli.IntFlag{Name: "lanes", Usage: "SSH channels a bulk command (rsync's server) is striped over on a far target, past sshd's window per channel (below 2: one)", Value: daemon.DefaultLanes, EnvVars: []string{"MITOGEN_LANES"}},
					&ucli.DurationFlag{Name: "lanes-min-rtt", Usage: "the round trip from which a target is far enough for lanes", Value: daemon.DefaultLanesMinRTT, EnvVars: []string{"MITOGEN_LANES_MIN_RTT"}},
					&ucli.IntFlag{Name: "ready-fd", Usage: "close this inherited fd once serving (used by fakessh)", Value: -1},
				},
				Action: func(c *ucli.Context) error { return serve(ctx, c, stdio) },
			},
			{
				Name:   "stop",
				Usage:  "ask the running daemon to exit",
				Flags:  []ucli.Flag{socketFlag},
				Action: func(c *ucli.Context) error { _, err := call(ctx, c.String("socket"), proto.DaemonStop); return err },
			},
			statusCommand(ctx, stdio, home, socketFlag),
			shimCommand(stdio, home),
			cpCommand(stdio),
		},
	}
}

func serve(ctx context.Context, c *ucli.Context, stdio Stdio) error {
	if n := c.Int("lanes"); n > lanes.MaxLanes {
		return fmt.Errorf("mitogend: --lanes %d: at most %d", n, lanes.MaxLanes)
	}
	agentDirs, err := agentDirs(c.String("agent-dir"))
	if err != nil {
		return err
	}
	var ready func()
	if fd := c.Int("ready-fd"); fd >= 0 {
		f := os.NewFile(uintptr(fd), "ready")
		ready = func() { f.Close() }
	}
	logger := log.New(stdio.Stderr, "", log.LstdFlags|log.Lmicroseconds)
	// A fleet is a descriptor or more per connection: the soft limit goes up to the hard one.
	if soft, hard, err := fdlimit.Raise(); err != nil {
		logger.Printf("daemon: %v (open files: %d of %d)", err, soft, hard)
	} else {
		logger.Printf("daemon: open files limit %d", soft)
	}
	return daemon.Serve(ctx, daemon.Config{
		Socket: c.String("socket"), IdleTimeout: c.Duration("idle"), AgentDirs: agentDirs,
		MaxConnects: c.Int("max-connects"), MaxContexts: c.Int("max-contexts"), NoSessionExec: !c.Bool("session-exec"),
		Lanes: c.Int("lanes"), LanesMinRTT: c.Duration("lanes-min-rtt"),
		Logf: logger.Printf, Ready: ready,
	})
}

// call makes one call to the daemon as a client context.
func call(ctx context.Context, sock string, handle uint32) ([]byte, error) {
	return callWith(ctx, sock, handle, nil)
}

// callWith is call with a request payload.
func callWith(ctx context.Context, sock string, handle uint32, req []byte) ([]byte, error) {
	d, err := client.DialDaemon(sock)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	b, err := d.Call(ctx, handle, req)
	if errors.Is(err, tunnel.ErrDisconnected) && handle == proto.DaemonStop {
		return nil, nil // it stopped before answering
	}
	return b, err
}
