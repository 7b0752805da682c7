// Command fakessh is a drop-in ssh client that runs commands over the tunnels mitogend owns.
// Use it as `rsync -e fakessh`, `scp -S fakessh`, `GIT_SSH_COMMAND=fakessh`, or on PATH as `ssh`.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/mitogen-go/mitogend/client"
	"github.com/mitogen-go/mitogend/internal/gctune"
)

func main() {
	gctune.Set(os.Getenv, 0)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	err := client.Run(ctx, os.Args[1:], client.Stdio{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Environ: os.Environ()})
	stop()
	code, msg := client.ExitCode(err)
	fmt.Fprint(os.Stderr, msg)
	os.Exit(code)
}
