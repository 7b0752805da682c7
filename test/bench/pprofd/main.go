// Command pprofd is mitogend with CPU and heap profiles, for the benchmarks only: when
// MITOGEN_CPUPROFILE is set, `serve` writes $MITOGEN_CPUPROFILE.<pid>.cpu while it runs and
// .heap when it exits. It is the same daemon (package daemon/cli) otherwise.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/mitogen-go/mitogend/daemon/cli"
)

func main() {
	cli.TuneRuntime(os.Args, os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	prefix := os.Getenv("MITOGEN_CPUPROFILE")
	profiling := prefix != "" && len(os.Args) > 1 && os.Args[1] == "serve"
	if profiling {
		prefix = fmt.Sprintf("%s.%d", prefix, os.Getpid())
		f, err := os.Create(prefix + ".cpu")
		if err == nil {
			pprof.StartCPUProfile(f)
		}
	}
	err := cli.Run(ctx, os.Args, cli.Stdio{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv})
	stop()
	if profiling {
		pprof.StopCPUProfile()
		if f, err := os.Create(prefix + ".heap"); err == nil {
			pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mitogend:", err)
		os.Exit(1)
	}
}
