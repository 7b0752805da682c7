package main

import (
	"os"
	"strconv"

	"github.com/mitogen-go/mitogend/emulation"
)

// startEnviron is the environment that sshd (or sudo, or su) gave the shell that ran stage 0,
// read from that shell, whose pid stage 0 passes as our argument and which outlives us. Our own
// environment went through that shell and /bin/sh, which re-export it in their own order and with
// what they and the shell's rc files add; commands run from it would see those additions twice,
// and in another order than under sshd. Without the argument, or when the shell cannot be read,
// our own environment.
func startEnviron() []string {
	if len(os.Args) == 2 {
		if pid, err := strconv.Atoi(os.Args[1]); err == nil && pid > 1 {
			if env, err := emulation.ReadEnviron(pid); err == nil && len(env) > 0 {
				return env
			}
		}
	}
	return os.Environ()
}
