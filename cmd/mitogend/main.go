// Command mitogend is the local router daemon that owns SSH connections for fakessh.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/mitogen-go/mitogend/daemon/cli"
)

func main() {
	cli.TuneRuntime(os.Args, os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.Run(ctx, os.Args, cli.Stdio{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv})
	stop()
	var st interface{ Status() int } // a command that printed its own messages (cp)
	switch {
	case errors.As(err, &st):
		os.Exit(st.Status())
	case err != nil:
		fmt.Fprintln(os.Stderr, "mitogend:", err)
		os.Exit(1)
	}
}
