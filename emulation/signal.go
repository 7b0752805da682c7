package emulation

import (
	"os"
	"os/signal"
	"syscall"
)

// sshSignals are the names sshd's name2sig accepts in a "signal" request.
var sshSignals = map[string]syscall.Signal{
	"HUP": syscall.SIGHUP, "INT": syscall.SIGINT, "KILL": syscall.SIGKILL,
	"QUIT": syscall.SIGQUIT, "TERM": syscall.SIGTERM,
	"USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2,
}

// exitSignals are the names sshd's sig2name uses in exit-signal.
var exitSignals = map[syscall.Signal]string{
	syscall.SIGABRT: "ABRT", syscall.SIGALRM: "ALRM", syscall.SIGFPE: "FPE",
	syscall.SIGHUP: "HUP", syscall.SIGILL: "ILL", syscall.SIGINT: "INT",
	syscall.SIGKILL: "KILL", syscall.SIGPIPE: "PIPE", syscall.SIGQUIT: "QUIT",
	syscall.SIGSEGV: "SEGV", syscall.SIGTERM: "TERM",
	syscall.SIGUSR1: "USR1", syscall.SIGUSR2: "USR2",
}

func signalName(sig syscall.Signal) string {
	if name, ok := exitSignals[sig]; ok {
		return name
	}
	return "SIG@openssh.com"
}

// ResetIgnoredSignals gives the commands started after it SIGHUP and SIGINT at their default
// although this process started with them ignored (by nohup, a shell's trap with an empty
// action, or a script's `cmd &`, which ignores SIGINT). The Go runtime leaves those two
// ignored, and an ignored signal stays ignored through exec, where sshd starts every command
// with both at their default: closing a pty would not hang up its command, nor ^C interrupt
// it. A signal that is notified is back to its default in an exec'd child; this process goes
// on ignoring it, since nothing receives from the channel.
//
// It changes the process's signal dispositions, so only a main calls it, before it starts
// commands.
func ResetIgnoredSignals() {
	for _, sig := range []os.Signal{syscall.SIGHUP, syscall.SIGINT} {
		if signal.Ignored(sig) {
			signal.Notify(make(chan os.Signal, 1), sig)
		}
	}
}
