// Package cli is mitogend's command line (urfave/cli/v2): serve, stop, status and shim. It parses
// flags and calls package daemon; it holds no daemon logic itself.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/mitogen-go/mitogend/client"
	"github.com/mitogen-go/mitogend/daemon"
	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
	"github.com/mitogen-go/mitogend/tunnel"
)

// Stdio is the process's output streams and environment.
type Stdio struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

// Run runs mitogend with args (args[0] is the program name).
func Run(ctx context.Context, args []string, stdio Stdio) error {
	home, _ := os.UserHomeDir()
	if h := stdio.Getenv("HOME"); h != "" {
		home = h
	}
	socketFlag := &ucli.StringFlag{Name: "socket", Usage: "Unix socket path", Value: proto.SocketPath(stdio.Getenv, home), EnvVars: []string{"MITOGEN_SOCKET"}}
	app := &ucli.App{
		Name:      "mitogend",
		Usage:     "router daemon owning SSH connections for fakessh",
		Writer:    stdio.Stdout,
		ErrWriter: stdio.Stderr,
		Commands: []*ucli.Command{
			{
				Name:  "serve",
				Usage: "run the daemon in the foreground",
				Flags: []ucli.Flag{
					socketFlag,
					&ucli.DurationFlag{Name: "idle", Usage: "exit after this long without clients (0: never)", Value: 10 * time.Minute, EnvVars: []string{"MITOGEN_IDLE"}},
					&ucli.StringFlag{Name: "agent-dir", Usage: "directory with mitogen-agent.<os>-<arch> builds (default: beside mitogend)", EnvVars: []string{"MITOGEN_AGENT_DIR"}},
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
			{
				Name:   "status",
				Usage:  "show connections, contexts, streams and bytes",
				Flags:  []ucli.Flag{socketFlag, &ucli.BoolFlag{Name: "json", Usage: "print JSON"}},
				Action: func(c *ucli.Context) error { return status(ctx, c, stdio.Stdout) },
			},
			shimCommand(stdio, home),
			cpCommand(stdio),
		},
	}
	return app.RunContext(ctx, args)
}

func serve(ctx context.Context, c *ucli.Context, stdio Stdio) error {
	agentDir := c.String("agent-dir")
	if agentDir == "" {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		agentDir = filepath.Dir(exe)
	}
	var ready func()
	if fd := c.Int("ready-fd"); fd >= 0 {
		f := os.NewFile(uintptr(fd), "ready")
		ready = func() { f.Close() }
	}
	logger := log.New(stdio.Stderr, "", log.LstdFlags|log.Lmicroseconds)
	return daemon.Serve(ctx, daemon.Config{
		Socket: c.String("socket"), IdleTimeout: c.Duration("idle"), AgentDir: agentDir,
		Logf: logger.Printf, Ready: ready,
	})
}

// call makes one call to the daemon as a client context.
func call(ctx context.Context, sock string, handle uint32) ([]byte, error) {
	d, err := client.DialDaemon(sock)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	b, err := d.Call(ctx, handle, nil)
	if errors.Is(err, tunnel.ErrDisconnected) && handle == proto.DaemonStop {
		return nil, nil // it stopped before answering
	}
	return b, err
}

// printContexts prints the contexts behind parent as a tree under its connection's line.
func printContexts(tw io.Writer, all []proto.ContextStatus, parent router.ID, indent string) {
	for _, cs := range all {
		if cs.Parent == parent {
			fmt.Fprintf(tw, "%s└ %s\t%d\tpid %d, idle %s\t\t\t\t\n", indent, cs.Name, cs.Context, cs.Agent.PID, cs.Idle)
			printContexts(tw, all, cs.Context, indent+"  ")
		}
	}
}

func status(ctx context.Context, c *ucli.Context, w io.Writer) error {
	b, err := call(ctx, c.String("socket"), proto.DaemonStatus)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		_, err := fmt.Fprintf(w, "%s\n", b)
		return err
	}
	var st proto.Status
	if err := json.Unmarshal(b, &st); err != nil {
		return err
	}
	fmt.Fprintf(w, "mitogend pid %d, socket %s, up %s\n", st.PID, st.Socket, st.Uptime)
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "DESTINATION\tCONTEXT\tAGENT\tSTREAMS\tBYTES IN\tBYTES OUT\tSINCE")
	for _, cn := range st.Connections {
		fmt.Fprintf(tw, "%s\t%d\t%s/%s pid %d (%s)\t%d\t%d\t%d\t%s\n", cn.Destination, cn.Context,
			cn.Agent.OS, cn.Agent.Arch, cn.Agent.PID, cn.Agent.Exe, cn.Streams, cn.BytesIn, cn.BytesOut, cn.Since)
		printContexts(tw, cn.Contexts, cn.Context, "  ")
	}
	tw.Flush()
	var clients []string
	for _, l := range st.Links {
		if l.Trusted {
			clients = append(clients, l.Name)
		}
	}
	fmt.Fprintf(w, "clients: %d %s\n", len(clients), strings.Join(clients, " "))
	return nil
}
