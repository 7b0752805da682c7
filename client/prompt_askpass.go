package client

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/mitogen-go/mitogend/internal/syserr"
)

// defaultAskpass is ssh's _PATH_SSH_ASKPASS_DEFAULT on Debian, run when SSH_ASKPASS is unset.
const defaultAskpass = "/usr/bin/ssh-askpass"

// askpass is readpass.c's ssh_askpass: the program named by SSH_ASKPASS (set but empty is
// still a name, which fails) runs with the prompt as its argument, on fakessh's stdin and
// stderr; the answer is the first line of what it prints, up to 1023 bytes. A program that
// cannot be started, or exits with anything but 0, gives no answer; the first is said on
// stderr as ssh's child says it ("ssh_askpass: exec(PROG): REASON"), here by the caller.
// Closing the prompter kills the program.
func (p *prompter) askpass(prompt string) (string, error) {
	prog, ok := p.lookupEnv("SSH_ASKPASS")
	if !ok {
		prog = defaultAskpass
	}
	cmd := exec.Command(prog, prompt)
	cmd.Env = p.stdio.Environ
	if f, ok := p.stdio.Stdin.(*os.File); ok {
		cmd.Stdin = f // an io.Reader would be copied, eating the session's input
	}
	cmd.Stderr = p.stdio.Stderr
	out, err := cmd.StdoutPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		return "", &unanswered{msg: fmt.Sprintf("ssh_askpass: exec(%s): %s", prog, execText(prog, err))}
	}
	killed := make(chan struct{})
	go func() {
		select {
		case <-p.done:
			cmd.Process.Kill()
		case <-killed:
		}
	}()
	buf, _ := io.ReadAll(io.LimitReader(out, maxAnswer))
	out.Close() // a longer answer ends with SIGPIPE, as in ssh
	err = cmd.Wait()
	close(killed)
	if err != nil || p.stopped() {
		return "", &unanswered{}
	}
	answer, _, _ := strings.Cut(string(buf), "\n")
	answer, _, _ = strings.Cut(answer, "\r")
	return answer, nil
}

// execText is strerror of execlp's failure: a program not found on PATH, or no name at all,
// is ENOENT.
func execText(prog string, err error) string {
	if prog == "" || errors.Is(err, exec.ErrNotFound) {
		return "No such file or directory"
	}
	return syserr.Text(err)
}

func (p *prompter) lookupEnv(key string) (string, bool) { return p.stdio.lookupEnv(key) }
