// Command mitogen-agent is the program the daemon sends to a target and runs from memory.
// It is not meant to be run by hand.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"runtime/debug"

	"github.com/mitogen-go/mitogend/agent"
)

func main() {
	gcForThroughput()
	environ := os.Environ()
	logger := log.New(os.Stderr, fmt.Sprintf("mitogen-agent[%d]: ", os.Getpid()), 0)
	err := agent.Run(context.Background(), agent.Config{In: os.Stdin, Out: os.Stdout, Environ: environ, Logf: logger.Printf})
	if err != nil {
		logger.Print(err)
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
