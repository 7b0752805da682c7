package sshconfig

import (
	"errors"
	"fmt"
	"io"
	"os/exec"
	"syscall"

	"github.com/mitogen-go/mitogend/internal/syserr"
)

// ExecFunc runs the command of a "Match exec" line, already %-expanded, and reports whether
// it exited with status 0. An error stops the resolution: ErrExecAbnormal for a command that
// did not exit (a signal), or a *ConfigError carrying ssh's own fatal message.
type ExecFunc func(command string) (bool, error)

// ErrExecAbnormal is what an ExecFunc returns for a command killed by a signal, which ssh
// treats as a configuration error, not as a mismatch.
var ErrExecAbnormal = errors.New("sshconfig: match exec: command exited abnormally")

// ShellExec is ssh's execute_in_shell: shell -c command with stdin and stdout on /dev/null
// and stderr to stderr, in the environment env; shell "" when $SHELL is unset means
// /bin/sh, as it does for ssh. It is the only place this package starts a process, and only
// when a caller passes it as Input.Exec.
func ShellExec(shell string, shellSet bool, env []string, stderr io.Writer) ExecFunc {
	if !shellSet {
		shell = "/bin/sh"
	}
	return func(command string) (bool, error) {
		// ssh checks with access(2) and does not search PATH: a relative $SHELL is
		// relative to the working directory.
		if err := syscall.Access(shell, 1); err != nil {
			return false, &ConfigError{Messages: []string{
				fmt.Sprintf("Shell \"%s\" is not executable: %s", shell, syserr.Text(err))}, Err: err}
		}
		cmd := &exec.Cmd{Path: shell, Args: []string{shell, "-c", command}, Env: env, Stderr: stderr}
		err := cmd.Run()
		var ee *exec.ExitError
		switch {
		case err == nil:
			return true, nil
		case errors.As(err, &ee) && ee.Exited():
			return false, nil
		case errors.As(err, &ee):
			return false, ErrExecAbnormal
		}
		return false, &ConfigError{Messages: []string{"fork: " + syserr.Text(err)}, Err: err}
	}
}

// matchExec evaluates "exec arg" as match_cfg_line does: skipped (no process) once an earlier
// criterion of the line failed, else %-expanded with the tokens of the resolution so far and
// run. The bool is the criterion's result before negation.
func (p *parser) matchExec(src source, arg, host, ruser string, skip bool) (bool, error) {
	cmd, err := percentExpand(arg, p.execTokens(host, ruser))
	if err != nil {
		return false, &ConfigError{File: src.file, Line: src.line, Messages: []string{
			"vdollar_" + err.Error(), "percent_expand: failed"}}
	}
	if skip {
		return false, nil
	}
	if p.in.Exec == nil {
		p.logf("%s line %d: Match exec %q treated as not matching: no way to run commands", src.file, src.line, cmd)
		return false, nil
	}
	ok, err := p.in.Exec(cmd)
	if errors.Is(err, ErrExecAbnormal) {
		return false, &ConfigError{File: src.file, Line: src.line, Err: err, Messages: []string{
			fmt.Sprintf("command '%s' exited abnormally", trunc(cmd, 100)),
			lineMsg(src.file, src.line, "match exec '%s' error", trunc(cmd, 100))}}
	}
	return ok, err
}

// execTokens are the %-tokens of a Match exec command: the host and user as resolved so far,
// the port set so far (else 22), and no %j (ssh 9.2 refuses it there).
func (p *parser) execTokens(host, ruser string) map[byte]string {
	port := p.opts.Get("port")
	if port == "" {
		port = "22"
	}
	alias := p.opts.Get("hostkeyalias")
	if alias == "" {
		alias = host
	}
	return connTokens(host, port, ruser, alias, p.in.Host, p.in.Home, p.in.LocalUser)
}

// trunc is printf's %.Ns.
func trunc(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
