package client

import (
	"strings"

	"golang.org/x/sys/unix"

	"github.com/mitogen-go/mitogend/flagparse"
)

// Ansible's ssh connection plugin (ansible-core 2.14) sends every task under `become: true`
// with sudo as one command line:
//
//	/bin/sh -c 'sudo -H -S -n  -u USER /bin/sh -c '"'"'echo BECOME-SUCCESS-ID ; CMD'"'"' && sleep 0'
//
// and, with a become password, without -n and with `-p "[sudo via ansible, key=ID] password:"`,
// writing the password on stdin once it sees that prompt. The outer `/bin/sh -c '... && sleep
// 0'` changes nothing the caller can see but the status of a command killed by a signal (the
// shell exits 128+N), so the sudo inside is served by its become context as a bare one would be.

// ansibleSleep ends the outer command: _low_level_execute_command's `append_command(cmd,
// 'sleep 0')`.
const ansibleSleep = " && sleep 0"

// ansibleSuccess opens the inner shell command: `echo BECOME-SUCCESS-<32 lowercase letters> ; `.
const ansibleSuccess = "echo BECOME-SUCCESS-"

// ansibleBecome recognises exactly Ansible's wrapper around a sudo command line and returns
// the become call its sudo is, or false: then the command runs as ssh would run it.
func ansibleBecome(command string) (becomeCall, bool) {
	argv, ok := flagparse.SplitCommand(command)
	if !ok || len(argv) != 3 || argv[0] != "/bin/sh" || argv[1] != "-c" {
		return becomeCall{}, false
	}
	inner, ok := strings.CutSuffix(argv[2], ansibleSleep)
	if !ok {
		return becomeCall{}, false
	}
	sudoArgv, ok := flagparse.SplitCommand(inner)
	if !ok {
		return becomeCall{}, false
	}
	b, err := flagparse.ParseBecome(sudoArgv)
	if err != nil || b.Method != "sudo" || !ansibleSuccessCommand(b.Command) {
		return becomeCall{}, false
	}
	bc, ok := becomeCall{}, false
	switch {
	case b.NonInteractive:
		bc, ok = sudoCall(b)
	case b.PasswordFromStdin && b.HasPrompt && !b.AskPass && !b.ResetTimestamp:
		// The password is Ansible's answer to the prompt, on stdin: fakessh shows the prompt
		// and reads the answer there when, and only when, starting the context asks for it.
		p := *b
		p.PasswordFromStdin, p.HasPrompt = false, false
		if bc, ok = sudoCall(&p); ok {
			bc.step.Prompt, bc.stdinPrompt = b.Prompt, true
		}
	}
	bc.shellStatus = true
	return bc, ok
}

// ansibleSuccessCommand reports whether argv is the become plugin's success command:
// `/bin/sh -c 'echo BECOME-SUCCESS-<id> ; ...'`.
func ansibleSuccessCommand(argv []string) bool {
	if len(argv) != 3 || argv[0] != "/bin/sh" || argv[1] != "-c" {
		return false
	}
	rest, ok := strings.CutPrefix(argv[2], ansibleSuccess)
	if !ok || len(rest) < 32+3 || rest[32:35] != " ; " {
		return false
	}
	return strings.Trim(rest[:32], "abcdefghijklmnopqrstuvwxyz") == ""
}

// shellExit is how the shell around the command line reports it: a command killed by signal N
// makes sudo kill itself with N, and the shell exits 128+N, a plain status to ssh.
func shellExit(e *ExitError) *ExitError {
	if e.Signal == "" {
		return e
	}
	n := unix.SignalNum("SIG" + e.Signal)
	if n == 0 {
		return e
	}
	return &ExitError{Status: 128 + int(n)}
}
