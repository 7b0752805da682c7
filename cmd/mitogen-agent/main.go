// Command mitogen-agent is the program the daemon sends to a target and runs from memory.
// It is not meant to be run by hand.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/mitogen-go/mitogend/agent"
	"github.com/mitogen-go/mitogend/internal/gctune"
)

func main() {
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
