// Command mitogen-agent is the program the daemon sends to a target and runs from memory.
// It is not meant to be run by hand.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/mitogen-go/mitogend/agent"
	"github.com/mitogen-go/mitogend/emulation"
	"github.com/mitogen-go/mitogend/internal/gctune"
)

func main() {
	// A write to a closed stdout or stderr must fail, not kill us: once the daemon has gone
	// the router's next frame to stdout, or a log line, would end the process with SIGPIPE
	// before Run's deferred clean-up (the lanes' socket directory) had run. A signal that is
	// notified, unlike an ignored one, is back to its default in the commands we start.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	emulation.ResetIgnoredSignals()
	closeInheritedOnExec()
	gctune.Set(os.Getenv, 0)
	gctune.ReturnWhenIdle(2 * time.Second)
	environ := startEnviron()
	logger := log.New(os.Stderr, fmt.Sprintf("mitogen-agent[%d]: ", os.Getpid()), 0)
	err := agent.Run(context.Background(), agent.Config{In: os.Stdin, Out: os.Stdout, Environ: environ, Logf: logger.Printf})
	if err != nil {
		logger.Print(err)
		os.Exit(1)
	}
}
