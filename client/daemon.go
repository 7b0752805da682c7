package client

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// dialDaemon is DialDaemon, starting the daemon first when nothing answers on sock, as ssh's
// ControlMaster=auto with ControlPersist does. A daemon that hangs up during the hello was
// exiting (idle) as we connected: the next attempt finds its successor, or starts one.
func dialDaemon(sock string, env func(string) string, files []*os.File) (*DaemonConn, error) {
	started := false
	for attempt := 1; ; attempt++ {
		d, err := dialDaemonPassing(sock, files)
		switch {
		case err == nil:
			return d, nil
		case isDialError(err) && started:
			return nil, fmt.Errorf("client: daemon started but %s does not answer: %w", sock, errors.Unwrap(err))
		case isDialError(err):
			if d, err := startDaemonOnce(sock, env, files); d != nil || err != nil {
				return d, err
			}
			started = true
		case !hungUp(err) || attempt == maxDialAttempts:
			return nil, err
		}
	}
}

// maxDialAttempts bounds the retries after daemons that hang up during the hello.
const maxDialAttempts = 4

// isDialError reports whether nothing answered on the socket (as opposed to a daemon that
// answered badly, which starting another would not fix).
func isDialError(err error) bool {
	var de *DaemonError
	return errors.As(err, &de) && de.Step == StepDial
}

// hungUp reports whether a daemon closed the connection during the hello, as one that is
// exiting does.
func hungUp(err error) bool {
	var de *DaemonError
	return errors.As(err, &de) && de.Step != StepDial &&
		(errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE))
}

// startDaemonOnce starts the daemon unless another client did while this one waited for the
// start lock (sock + ".start"), in which case it returns that daemon's connection. Without the
// lock, a hundred first calls at once start a hundred daemons, of which all but one find the
// socket taken and exit: about 25 ms of CPU each, on the machine the fleet is connecting from.
// The lock is only taken in a directory private to this user (the daemon refuses any other,
// with its own words) and waited for at most startLockWait: a holder that hangs holds no one
// up for longer.
func startDaemonOnce(sock string, env func(string) string, files []*os.File) (*DaemonConn, error) {
	dir := filepath.Dir(sock)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	if private(dir) {
		if unlock := startLock(sock + ".start"); unlock != nil {
			defer unlock()
		}
		if d, err := dialDaemonPassing(sock, files); err == nil {
			return d, nil
		}
	}
	return nil, startDaemon(sock, env)
}

// startLockWait bounds the wait for the start lock: a little more than startDaemon waits.
const startLockWait = 35 * time.Second

// startLock takes an exclusive flock on path, polling until startLockWait has passed; it
// returns the unlock, or nil when the lock could not be had.
func startLock(path string) (unlock func()) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil
	}
	deadline := time.Now().Add(startLockWait)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() } // closing releases the lock
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			return nil
		}
		<-tick.C
	}
}

// private reports whether dir is a directory of this user's that no one else may enter.
func private(dir string) bool {
	fi, err := os.Lstat(dir)
	if err != nil || !fi.IsDir() {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Getuid() && st.Mode&0o077 == 0
}

// startDaemon runs `mitogend serve` detached and waits until it says it is ready: it closes the
// pipe handed to it as fd 3 once it listens (or once it finds another daemon serving).
func startDaemon(sock string, env func(string) string) error {
	bin, err := daemonPath(env)
	if err != nil {
		return err
	}
	logFile, err := os.OpenFile(filepath.Join(filepath.Dir(sock), "mitogend.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	defer logFile.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	defer pr.Close()
	cmd := exec.Command(bin, "serve", "--socket", sock, "--ready-fd", "3")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.ExtraFiles = []*os.File{pw}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	pw.Close()
	if err != nil {
		return fmt.Errorf("client: starting %s: %w", bin, err)
	}
	go cmd.Wait() // reap it if it exits while we still run
	pr.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.ReadAll(pr); err != nil {
		return fmt.Errorf("client: waiting for %s: %w", bin, err)
	}
	return nil
}

// daemonPath finds mitogend: $MITOGEND, else beside this executable, else on PATH.
func daemonPath(env func(string) string) (string, error) {
	if p := env("MITOGEND"); p != "" {
		return p, nil
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), "mitogend")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("mitogend"); err == nil {
		return p, nil
	}
	return "", errors.New("client: cannot find mitogend (set MITOGEND or put it beside fakessh or on PATH)")
}
