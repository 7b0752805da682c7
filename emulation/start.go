package emulation

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/mitogen-go/mitogend/internal/syserr"
)

// ErrNoSubsystem is returned by Start for a subsystem the target lacks.
var ErrNoSubsystem = errors.New("emulation: no such subsystem")

// sftpServers are where distributions install OpenSSH's sftp-server.
var sftpServers = []string{
	"/usr/lib/openssh/sftp-server",
	"/usr/libexec/openssh/sftp-server",
	"/usr/libexec/sftp-server",
	"/usr/lib/ssh/sftp-server",
}

// Request is what a session channel asked for.
type Request struct {
	// Command is the exec request's command; "" (with no Subsystem)
	// means a shell request: the login shell reading stdin.
	Command string
	// Subsystem, if set, names the subsystem to run instead; only
	// "sftp" exists.
	Subsystem string
	// Env holds the client's env requests, already filtered by the
	// caller's AcceptEnv. As in sshd they never override a variable sshd
	// sets itself (anything in the base environment, TERM).
	Env map[string]string
	// Term is the pty-req terminal type, TERM's value when not empty (an
	// empty one sets nothing, as in sshd). sshd has it only with PTY.
	Term string
	// PTY, if set, gives the session a pseudo-terminal, as a pty-req does.
	PTY *PTY

	// Argv, if set, is run directly instead of Command, its program looked up in the session's
	// PATH, without a shell or rc files: what sudo and doas do with their command line.
	Argv []string
	// NotFound is what to print when Argv's program cannot be found ("sudo: %s: command not
	// found"; %s is the program): the session then exits 1, as sudo does.
	NotFound string
	// KeepDir runs the command in the agent's own working directory instead of the account's
	// home, with no rc file: a context started through sudo or su stays where they left it (it
	// may be a directory the user cannot enter again, such as the caller's home: there is no
	// chdir).
	KeepDir bool
	// SetHome, with Argv, sets HOME to the account's home directory from the password
	// database, as `sudo -H` does whatever HOME the context was given: a context started
	// without -H serves the -H and the plain form of the same sudo command line alike.
	SetHome bool
}

// Start runs req as sshd's do_child does and returns once it is running
// (after ~/.ssh/rc or /etc/ssh/sshrc, which sshd runs first, has finished).
// base must come from BaseEnv. Output is copied to stdout and stderr
// (nil discards); stdin is copied to the process until it returns an error
// or io.EOF, which the process then sees as end of file. A shell that
// cannot be executed is not an error: like sshd, the process reports it on
// stderr and exits with status 1.
func Start(base []string, req Request, stdin io.Reader, stdout, stderr io.Writer) (*Process, error) {
	return start(base, req, lookupAccount(), stdin, stdout, stderr)
}

func start(base []string, req Request, acct account, stdin io.Reader, stdout, stderr io.Writer) (*Process, error) {
	command, login := req.Command, req.Command == "" && req.Subsystem == ""
	if req.Subsystem != "" {
		var err error
		if command, err = subsystemCommand(req.Subsystem); err != nil {
			return nil, err
		}
	}
	// sshd sets SHELL from the passwd entry, so SHELL also covers users
	// that /etc/passwd does not list (LDAP, ...).
	shell := getenv(base, "SHELL")
	if shell == "" {
		shell = acct.shell
	}
	if shell == "" {
		shell = "/bin/sh"
	}
	home := acct.dir
	if home == "" {
		home = getenv(base, "HOME")
	}
	env := sessionEnv(base, acct, shell, req)

	p, child, err := newSessionProcess(req, stdin, stdout, stderr)
	if err != nil {
		return nil, err
	}
	defer child.close()
	attr := &syscall.SysProcAttr{Setsid: true}
	if p.tty != nil {
		env = withTTY(env, p.ttyName)
		attr = ptyAttr()
	}
	dir := "" // inherit ours
	if !req.KeepDir {
		dir = home
		if err := chdirError(home); err != nil {
			// sshd prints this and goes on in its own directory, "/".
			fmt.Fprintf(child.stderr, "Could not chdir to home directory %s: %s\n", home, syserr.Text(err))
			dir = "/"
		}
		if req.Subsystem == "" && req.Argv == nil {
			runRC(home, shell, env, dir, child)
		}
	}
	prog, argv := shell, shellArgv(shell, command, login)
	if req.Argv != nil {
		var err error
		if prog, err = lookPath(req.Argv[0], getenv(env, "PATH")); err != nil {
			notFound := req.NotFound
			if notFound == "" {
				notFound = "%s: command not found"
			}
			fmt.Fprintf(child.stderr, notFound+"\n", req.Argv[0])
			p.run(nil) // exits 1, as sudo does
			return p, nil
		}
		argv = req.Argv
		env = sudoCommand(env, prog, argv)
		if req.SetHome && acct.dir != "" {
			env = setHome(env, acct.dir)
		}
	}
	proc, err := os.StartProcess(prog, argv, &os.ProcAttr{
		Dir:   dir,
		Env:   env,
		Files: []*os.File{child.stdin, child.stdout, child.stderr},
		Sys:   attr,
	})
	if err != nil {
		// What sshd's child prints when execve fails: perror(shell).
		fmt.Fprintf(child.stderr, "%s: %s\n", prog, syserr.Text(err))
	}
	p.run(proc)
	return p, nil
}

// sudoCommand sets SUDO_COMMAND, when the context was started by sudo, to what sudo would have
// set for this command rather than for the agent's bootstrap: the program's path, then its
// arguments.
func sudoCommand(env []string, prog string, argv []string) []string {
	for i, kv := range env {
		if strings.HasPrefix(kv, "SUDO_COMMAND=") {
			out := append([]string(nil), env...)
			out[i] = "SUDO_COMMAND=" + strings.Join(append([]string{prog}, argv[1:]...), " ")
			return out
		}
	}
	return env
}

// setHome is env with HOME set to home, where sudo -H puts it: in HOME's place, or last.
func setHome(env []string, home string) []string {
	out := append([]string(nil), env...)
	for i, kv := range out {
		if strings.HasPrefix(kv, "HOME=") {
			out[i] = "HOME=" + home
			return out
		}
	}
	return append(out, "HOME="+home)
}

// lookPath finds name as execvp would, in path (the session's PATH, not the agent's own).
func lookPath(name, path string) (string, error) {
	if strings.Contains(name, "/") {
		return name, executable(name)
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		if p := filepath.Join(dir, name); executable(p) == nil {
			return p, nil
		}
	}
	return "", os.ErrNotExist
}

func executable(p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() || st.Mode()&0o111 == 0 {
		return os.ErrPermission
	}
	return nil
}

// shellArgv is sshd's argv: what follows the shell's last "/", "-"
// prefixed for a login shell.
func shellArgv(shell, command string, login bool) []string {
	argv0 := shell[strings.LastIndexByte(shell, '/')+1:]
	if login {
		return []string{"-" + argv0}
	}
	return []string{argv0, "-c", command}
}

func subsystemCommand(name string) (string, error) {
	if name == "sftp" {
		for _, p := range sftpServers {
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("emulation: subsystem %q: %w", name, ErrNoSubsystem)
}

// chdirError predicts whether chdir(dir) would fail and why, without
// changing the agent's own directory.
func chdirError(dir string) error {
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		return err
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
		return syscall.ENOTDIR
	}
	return syscall.Access(dir, 1) // X_OK: search permission
}

// runRC runs the user's ~/.ssh/rc, else /etc/ssh/sshrc, the way sshd's
// do_rc_files does (through popen, hence /bin/sh -c), and waits for it.
// PermitUserRC is assumed to be sshd's default, yes.
func runRC(home, shell string, env []string, dir string, child *childFiles) {
	rc := home + "/.ssh/rc"
	cmd := shell + " -c '/bin/sh " + rc + "'"
	if _, err := os.Stat(rc); err != nil {
		rc = "/etc/ssh/sshrc"
		cmd = "/bin/sh " + rc
		if _, err := os.Stat(rc); err != nil {
			return
		}
	}
	null, err := os.Open(os.DevNull) // sshd writes nothing to it without X11
	if err == nil {
		defer null.Close()
		var p *os.Process
		p, err = os.StartProcess("/bin/sh", []string{"sh", "-c", cmd}, &os.ProcAttr{
			Dir:   dir,
			Env:   env,
			Files: []*os.File{null, child.stdout, child.stderr},
			Sys:   &syscall.SysProcAttr{Setsid: true},
		})
		if err == nil {
			p.Wait()
			return
		}
	}
	fmt.Fprintf(child.stderr, "Could not run %s\n", rc)
}
