// Command mitogend is the local router daemon that owns SSH connections for fakessh.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/mitogen-go/mitogend/daemon/cli"
)

func main() {
	gcForThroughput()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.Run(ctx, os.Args, cli.Stdio{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv})
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "mitogend:", err)
		os.Exit(1)
	}
}

// gcForThroughput lets the heap grow to five times its live size between collections, unless
// GOGC says otherwise. The live heap here is small (windows bound it), so the default makes the
// collector run every few MiB of stream data: measured, it halves stream throughput.
func gcForThroughput() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}
