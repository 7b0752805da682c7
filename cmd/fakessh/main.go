// Command fakessh is a drop-in ssh client that runs commands over the tunnels mitogend owns.
// Use it as `rsync -e fakessh`, `scp -S fakessh`, `GIT_SSH_COMMAND=fakessh`, or on PATH as `ssh`.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/mitogen-go/mitogend/client"
)

func main() {
	gcForThroughput()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	err := client.Run(ctx, os.Args[1:], client.Stdio{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Environ: os.Environ()})
	stop()
	code, msg := client.ExitCode(err)
	fmt.Fprint(os.Stderr, msg)
	os.Exit(code)
}

// gcForThroughput lets the heap grow to five times its live size between collections, unless
// GOGC says otherwise. The live heap here is small (windows bound it), so the default makes the
// collector run every few MiB of stream data: measured, it halves stream throughput.
func gcForThroughput() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}
