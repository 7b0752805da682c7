// Command mitogend is the local router daemon that owns SSH connections for fakessh.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/mitogen-go/mitogend/daemon"
	"github.com/mitogen-go/mitogend/daemon/cli"
	"github.com/mitogen-go/mitogend/internal/gctune"
)

func main() {
	gctune.Set(os.Getenv, daemon.SoftMemoryLimit)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.Run(ctx, os.Args, cli.Stdio{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv})
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "mitogend:", err)
		os.Exit(1)
	}
}
