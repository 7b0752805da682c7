package sshdtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mitogen-go/mitogend/internal/shquote"
	"github.com/mitogen-go/mitogend/test/testenv"
)

const (
	// readyTimeout bounds the wait for sshd's "Server listening" line.
	readyTimeout = 10 * time.Second
	// bindAttempts bounds the retries when the chosen port was taken
	// between FreePort closing it and sshd binding it.
	bindAttempts = 5
	// privsepDir is where a root sshd chroots its pre-auth child.
	privsepDir = "/run/sshd"
)

// errAddrInUse reports that sshd lost the race for its port.
var errAddrInUse = errors.New("sshdtest: port already in use")

// Server is a running sshd and the client-side files needed to log in to it.
// The fields are read-only.
type Server struct {
	Addr       string // "127.0.0.1:PORT" (the listen address: see WithListenAddress)
	Host       string // "127.0.0.1", or the address given to WithListenAddress
	Port       int
	User       string // the account sessions run as: the user running the test
	Home       string // HOME that sshd sets for sessions (an empty temp dir); the working directory stays the account's real home
	ClientKey  string // ed25519 private key (mode 0600) authorised for User
	KnownHosts string // known_hosts holding "[127.0.0.1]:PORT ssh-ed25519 ..."
	SSHConfig  string // ssh_config defining Host HostAlias
	LogFile    string // sshd's log (sshd -E), LogLevel VERBOSE
	Dir        string // temp dir holding everything above

	// ClientHome is the HOME that Env gives client programs; SSHConfig,
	// KnownHosts and ClientKey are its .ssh/config, .ssh/known_hosts and
	// .ssh/id_ed25519.
	ClientHome string
	// HostPublicKey is the server's host key in authorized_keys format
	// ("ssh-ed25519 AAAA...").
	HostPublicKey string
	// AuthorizedKeys is the file sshd reads public keys from; see
	// AuthorizeKey.
	AuthorizedKeys string

	tb       testing.TB
	proc     *process
	stopOnce sync.Once
}

// Start runs sshd on a free loopback port and returns once it is accepting
// connections. It fails the test (with sshd's log) when sshd cannot start,
// skips it under -short or when sshd or ssh-keygen is not installed (see
// package testenv), and stops sshd with t.Cleanup.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	keygen := requireTools(t, cfg.sshd)
	if os.Geteuid() == 0 {
		ensurePrivsepDir(t)
	}
	s := layout(t, keygen)
	s.Host = cfg.listenHost()
	t.Cleanup(s.Stop)
	for attempt := 1; ; attempt++ {
		err := s.launch(cfg, FreePort(t))
		if err == nil {
			return s
		}
		if !errors.Is(err, errAddrInUse) || attempt == bindAttempts {
			t.Fatalf("sshdtest: starting sshd (attempt %d): %v", attempt, err)
		}
	}
}

// requireTools skips the test under -short or unless sshd and ssh-keygen are installed and
// returns the path of ssh-keygen.
func requireTools(t testing.TB, sshd string) string {
	t.Helper()
	testenv.SkipShort(t, "sshdtest: a real sshd")
	if !filepath.IsAbs(sshd) {
		t.Fatalf("sshdtest: sshd path %q must be absolute (sshd re-executes itself)", sshd)
	}
	if _, err := os.Stat(sshd); err != nil {
		testenv.Skip(t, "sshdtest: OpenSSH server not installed: %v", err)
	}
	keygen, err := exec.LookPath("ssh-keygen")
	if err != nil {
		testenv.Skip(t, "sshdtest: ssh-keygen not installed: %v", err)
	}
	return keygen
}

// ensurePrivsepDir creates /run/sshd, without which a root sshd refuses to
// start ("Missing privilege separation directory"). It is normally made by
// the init system, which containers do not run.
func ensurePrivsepDir(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(privsepDir); err == nil {
		return
	}
	if err := os.Mkdir(privsepDir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		t.Fatalf("sshdtest: creating %s: %v", privsepDir, err)
	}
	// Mkdir is subject to the umask; sshd insists on exactly root-owned,
	// not group/world-writable.
	if err := os.Chmod(privsepDir, 0o755); err != nil {
		t.Fatalf("sshdtest: chmod %s: %v", privsepDir, err)
	}
}

// layout creates the directories and keys that do not depend on the port.
func layout(t testing.TB, keygen string) *Server {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Fatalf("sshdtest: current user: %v", err)
	}
	dir := t.TempDir()
	s := &Server{
		Host:           "127.0.0.1",
		User:           u.Username,
		Dir:            dir,
		Home:           filepath.Join(dir, "home"),
		ClientHome:     filepath.Join(dir, "client"),
		LogFile:        filepath.Join(dir, "sshd.log"),
		AuthorizedKeys: filepath.Join(dir, "authorized_keys"),
		tb:             t,
	}
	sshDir := filepath.Join(s.ClientHome, ".ssh")
	s.ClientKey = filepath.Join(sshDir, "id_ed25519")
	s.KnownHosts = filepath.Join(sshDir, "known_hosts")
	s.SSHConfig = filepath.Join(sshDir, "config")
	for _, d := range []string{s.Home, sshDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatalf("sshdtest: %v", err)
		}
	}
	s.HostPublicKey = generateKey(t, keygen, filepath.Join(dir, "ssh_host_ed25519_key"), "sshdtest-host")
	clientPub := generateKey(t, keygen, s.ClientKey, "sshdtest-client")
	writeFile(t, s.AuthorizedKeys, clientPub+"\n", 0o600)
	return s
}

// launch writes the port-dependent files, starts sshd on port and waits
// until it listens.
func (s *Server) launch(cfg config, port int) error {
	s.Port = port
	s.Addr = net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	s.writeClientFiles()
	cfgPath := filepath.Join(s.Dir, "sshd_config")
	writeFile(s.tb, cfgPath, sshdConfig(sshdParams{
		listen:         s.Host,
		port:           s.Port,
		hostKey:        filepath.Join(s.Dir, "ssh_host_ed25519_key"),
		pidFile:        filepath.Join(s.Dir, "sshd.pid"),
		authorizedKeys: s.AuthorizedKeys,
		home:           s.Home,
		sftpServer:     cfg.sftpServer,
		extra:          cfg.extra,
	}), 0o600)
	// A fresh log per attempt, so a failed bind does not count later.
	writeFile(s.tb, s.LogFile, "", 0o600)
	stderrPath := filepath.Join(s.Dir, "sshd.stderr")
	argv := cfg.command(cfg.sshd, "-D", "-E", s.LogFile, "-f", cfgPath)
	p, err := startProcess(argv[0], stderrPath, argv[1:]...)
	if err != nil {
		return err
	}
	s.proc = p
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	ready := fmt.Sprintf("Server listening on %s port %d.", s.Host, s.Port)
	err = s.waitFor(ctx, func(log string) bool { return strings.Contains(log, ready) })
	if err == nil {
		return nil
	}
	p.terminate(s.tb)
	log, _ := os.ReadFile(s.LogFile)
	stderr, _ := os.ReadFile(stderrPath)
	if strings.Contains(string(log), "Address already in use") {
		return fmt.Errorf("%w: %d", errAddrInUse, s.Port)
	}
	return fmt.Errorf("%w\nsshd log:\n%s\nsshd stderr:\n%s", err, log, stderr)
}

// writeClientFiles writes the known_hosts and ssh_config for s.Port.
func (s *Server) writeClientFiles() {
	writeFile(s.tb, s.KnownHosts, knownHostsLine(s.Host, s.Port, s.HostPublicKey), 0o600)
	writeFile(s.tb, s.SSHConfig, sshClientConfig(sshClientParams{
		host:         s.Host,
		port:         s.Port,
		user:         s.User,
		identityFile: s.ClientKey,
		knownHosts:   s.KnownHosts,
	}), 0o600)
}

// Stop terminates sshd and every connection it is serving, so clients see
// their connections drop. It is safe to call more than once; Start arranges
// for it to run at the end of the test.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		if s.proc != nil {
			s.proc.terminate(s.tb)
		}
	})
}

// SSHArgs are the arguments for the real OpenSSH client (or fakessh) to log
// in to the server; append the remote command.
func (s *Server) SSHArgs() []string {
	return []string{"-F", s.SSHConfig, HostAlias}
}

// SSHCommand is an ssh command line without the destination, for rsync -e
// and GIT_SSH_COMMAND, e.g. rsync -e "$(SSHCommand())" f target:dir/.
func (s *Server) SSHCommand() string {
	return "ssh -F " + shquote.Quote(s.SSHConfig)
}

// Env is the environment for client programs: the current one with HOME set
// to ClientHome and any ssh-agent removed, so that fakessh (which reads
// $HOME/.ssh/config) reaches the server as "ssh target" with no flags.
//
// OpenSSH's own ssh ignores $HOME and reads ~/.ssh from the password
// database, so it still needs SSHArgs or SSHCommand.
func (s *Server) Env() []string {
	var env []string
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "HOME", "SSH_AUTH_SOCK", "SSH_AGENT_PID":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+s.ClientHome)
}

// AuthorizeKey adds a public key line (authorized_keys format) to the keys
// sshd accepts for User. sshd rereads the file on every login, so it takes
// effect at once.
func (s *Server) AuthorizeKey(authorizedKey string) {
	s.tb.Helper()
	f, err := os.OpenFile(s.AuthorizedKeys, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		s.tb.Fatalf("sshdtest: %v", err)
	}
	defer f.Close()
	if _, err := f.WriteString(strings.TrimSpace(authorizedKey) + "\n"); err != nil {
		s.tb.Fatalf("sshdtest: %v", err)
	}
}
