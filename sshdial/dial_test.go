package sshdial

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// recorder collects Warnf/Logf output.
type recorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *recorder) f(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.msgs, "\n")
}

func TestHostKeyPolicy(t *testing.T) {
	_, hostKey := newEd25519(t)
	ecKey := newECDSA(t)
	userPriv, userKey := newEd25519(t)
	_, otherKey := newEd25519(t)
	srv := startServer(t, serverOpts{hostKeys: []ssh.Signer{hostKey, ecKey},
		authorized: []ssh.PublicKey{userKey.PublicKey()}})
	name := hostName(srv.port)
	changedBlock := func(kh string) string {
		return strings.Join([]string{
			"@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
			"@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @",
			"@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
			"IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!",
			"Someone could be eavesdropping on you right now (man-in-the-middle attack)!",
			"It is also possible that a host key has just been changed.",
			"The fingerprint for the ED25519 key sent by the remote host is",
			ssh.FingerprintSHA256(hostKey.PublicKey()) + ".",
			"Please contact your system administrator.",
			"Add correct host key in " + kh + " to get rid of this message.",
			"Offending ED25519 key in " + kh + ":2",
			"  remove with:",
			"  ssh-keygen -f \"" + kh + "\" -R \"" + name + "\"",
		}, "\n")
	}

	tests := []struct {
		name     string
		known    string // known_hosts content; "-" = no file
		strict   string
		hash     bool
		alias    string
		devNull  bool
		wantErr  error
		wantMsg  func(kh string) string
		wantWarn string // substring of Warnf output; "" for none at all
		hideInfo bool   // Config.HideInfo: LogLevel below INFO
		after    func(t *testing.T, kh string)
	}{
		{name: "known plain", known: knownLine(name, hostKey.PublicKey()), strict: "yes"},
		{name: "known hashed", known: knownLine(knownhosts.HashHostname(name), hostKey.PublicKey()), strict: "yes"},
		{name: "only ecdsa known: ecdsa negotiated, not a false change",
			known: knownLine(name, ecKey.PublicKey()), strict: "yes"},
		{name: "alias", alias: "MyAlias", known: knownLine("myalias", hostKey.PublicKey()), strict: "yes"},
		// ssh retries an unknown key under the bare name ("checking
		// without port identifier"); TestHostKeysAsOpenSSH compares.
		{name: "port 22 entry is found by the retry without the port", known: knownLine("127.0.0.1", hostKey.PublicKey()),
			strict: "yes"},
		{name: "unknown strict", known: "-", strict: "yes", wantErr: ErrHostKeyUnknown,
			wantMsg: func(string) string {
				return "No ED25519 host key is known for " + name +
					" and you have requested strict checking.\nHost key verification failed."
			}},
		{name: "unknown ask is refused as in batch mode", known: "-", strict: "ask", wantErr: ErrHostKeyUnknown,
			wantMsg: func(string) string { return "Host key verification failed." }},
		{name: "unknown accept-new is added", known: "-", strict: "accept-new",
			wantWarn: "Warning: Permanently added '" + name + "' (ED25519) to the list of known hosts.",
			after:    expectAdded(name, hostKey.PublicKey(), false)},
		{name: "unknown accept-new under LogLevel ERROR: added without a word", known: "-", strict: "accept-new", hideInfo: true,
			after: expectAdded(name, hostKey.PublicKey(), false)},
		{name: "unknown accept-new hashed", known: "-", strict: "accept-new", hash: true,
			wantWarn: "Warning: Permanently added '" + name + "' (ED25519) to the list of known hosts.",
			after:    expectAdded(name, hostKey.PublicKey(), true)},
		{name: "unknown no is added", known: "# comment\n", strict: "no",
			wantWarn: "Warning: Permanently added '" + name + "' (ED25519) to the list of known hosts.",
			after:    expectAdded(name, hostKey.PublicKey(), false)},
		{name: "changed strict", strict: "yes", wantErr: ErrHostKeyChanged,
			known: "# first line\n" + knownLine(name, otherKey.PublicKey()),
			wantMsg: func(kh string) string {
				return changedBlock(kh) + "\nHost key for " + name +
					" has changed and you have requested strict checking.\nHost key verification failed."
			}},
		{name: "changed accept-new", strict: "accept-new", wantErr: ErrHostKeyChanged,
			known: "# first line\n" + knownLine(name, otherKey.PublicKey())},
		{name: "changed no connects with a warning", strict: "no",
			known:    "# first line\n" + knownLine(name, otherKey.PublicKey()),
			wantWarn: "Password authentication is disabled to avoid man-in-the-middle attacks."},
		{name: "/dev/null with no", devNull: true, strict: "no",
			wantWarn: "Warning: Permanently added '" + name + "' (ED25519) to the list of known hosts."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tg := baseTarget(srv.port, dir)
			kh := tg.UserKnownHostsFiles[0]
			if tt.known != "-" {
				if err := os.WriteFile(kh, []byte(tt.known), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if tt.devNull {
				tg.UserKnownHostsFiles = []string{"/dev/null"}
			}
			writeKey(t, filepath.Join(dir, "id"), userPriv, "")
			tg.IdentityFiles = []string{filepath.Join(dir, "id")}
			tg.StrictHostKeyChecking, tg.HashKnownHosts, tg.HostKeyAlias = tt.strict, tt.hash, strings.ToLower(tt.alias)
			tg.PasswordAuthentication = true
			var warn recorder
			client, err := Dial(context.Background(), Config{Target: tg, Warnf: warn.f, Logf: t.Logf, HideInfo: tt.hideInfo})
			if tt.wantErr != nil {
				var de *Error
				if !errors.As(err, &de) || !errors.Is(err, tt.wantErr) {
					t.Fatalf("Dial err = %v, want %v", err, tt.wantErr)
				}
				if tt.wantMsg != nil && de.Message != tt.wantMsg(kh) {
					t.Errorf("message:\n%s\nwant:\n%s", de.Message, tt.wantMsg(kh))
				}
				return
			}
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			defer client.Close()
			if ok, _, err := client.SendRequest("ping", true, nil); !ok || err != nil {
				t.Errorf("ping = %v, %v", ok, err)
			}
			if got := warn.String(); tt.wantWarn == "" && got != "" || !strings.Contains(got, tt.wantWarn) {
				t.Errorf("warnings %q, want %q (none when empty)", got, tt.wantWarn)
			}
			if tt.after != nil {
				tt.after(t, kh)
				// The added entry must now satisfy strict checking.
				tg.StrictHostKeyChecking = "yes"
				c2, err := Dial(context.Background(), Config{Target: tg})
				if err != nil {
					t.Fatalf("second Dial with strict checking: %v", err)
				}
				c2.Close()
			}
		})
	}
}

// expectAdded checks that known_hosts gained one entry for name, hashed or
// not, with mode 0600.
func expectAdded(name string, key ssh.PublicKey, hashed bool) func(t *testing.T, kh string) {
	return func(t *testing.T, kh string) {
		t.Helper()
		data, err := os.ReadFile(kh)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		last := lines[len(lines)-1]
		want := strings.TrimSpace(knownLine(name, key))
		if hashed {
			if !strings.HasPrefix(last, "|1|") || strings.Contains(last, name) {
				t.Errorf("entry %q is not hashed", last)
			}
		} else if last != want {
			t.Errorf("entry %q, want %q", last, want)
		}
		if fi, err := os.Stat(kh); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("known_hosts mode = %v, %v", fi.Mode(), err)
		}
	}
}

func TestAcceptNewCreatesDirectory(t *testing.T) {
	_, hostKey := newEd25519(t)
	userPriv, userKey := newEd25519(t)
	srv := startServer(t, serverOpts{hostKeys: []ssh.Signer{hostKey}, authorized: []ssh.PublicKey{userKey.PublicKey()}})
	dir := t.TempDir()
	tg := baseTarget(srv.port, dir)
	tg.UserKnownHostsFiles = []string{filepath.Join(dir, "new", ".ssh", "known_hosts")}
	tg.StrictHostKeyChecking = "accept-new"
	writeKey(t, filepath.Join(dir, "id"), userPriv, "")
	tg.IdentityFiles = []string{filepath.Join(dir, "id")}
	c, err := Dial(context.Background(), Config{Target: tg})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	fi, err := os.Stat(filepath.Dir(tg.UserKnownHostsFiles[0]))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("directory mode = %v, %v", fi.Mode(), err)
	}
}

func TestAuth(t *testing.T) {
	_, hostKey := newEd25519(t)
	userPriv, userKey := newEd25519(t)
	otherPriv, _ := newEd25519(t)
	srv := startServer(t, serverOpts{hostKeys: []ssh.Signer{hostKey}, authorized: []ssh.PublicKey{userKey.PublicKey()}})

	tests := []struct {
		name string
		// setup writes files into dir and returns identity files, agent
		// socket and IdentitiesOnly.
		setup   func(t *testing.T, dir string) (ids []string, sock string, only bool)
		wantErr bool
	}{
		{"identity file", func(t *testing.T, dir string) ([]string, string, bool) {
			writeKey(t, filepath.Join(dir, "id"), userPriv, "")
			return []string{filepath.Join(dir, "missing"), filepath.Join(dir, "id")}, "", true
		}, false},
		{"agent", func(t *testing.T, dir string) ([]string, string, bool) {
			return []string{filepath.Join(dir, "missing")}, startAgent(t, otherPriv, userPriv), false
		}, false},
		{"IdentitiesOnly restricts the agent to the identity files", func(t *testing.T, dir string) ([]string, string, bool) {
			writeKey(t, filepath.Join(dir, "other"), otherPriv, "")
			return []string{filepath.Join(dir, "other")}, startAgent(t, userPriv), true
		}, true},
		{"IdentitiesOnly uses the agent key named by a .pub", func(t *testing.T, dir string) ([]string, string, bool) {
			pub := ssh.MarshalAuthorizedKey(userKey.PublicKey())
			if err := os.WriteFile(filepath.Join(dir, "id.pub"), pub, 0o644); err != nil {
				t.Fatal(err)
			}
			return []string{filepath.Join(dir, "id")}, startAgent(t, otherPriv, userPriv), true
		}, false},
		{"encrypted identity is skipped", func(t *testing.T, dir string) ([]string, string, bool) {
			writeKey(t, filepath.Join(dir, "id"), userPriv, "secret")
			return []string{filepath.Join(dir, "id")}, "", true
		}, true},
		{"encrypted identity selects the agent copy", func(t *testing.T, dir string) ([]string, string, bool) {
			writeKey(t, filepath.Join(dir, "id"), userPriv, "secret")
			return []string{filepath.Join(dir, "id")}, startAgent(t, userPriv), true
		}, false},
		{"wrong key", func(t *testing.T, dir string) ([]string, string, bool) {
			writeKey(t, filepath.Join(dir, "id"), otherPriv, "")
			return []string{filepath.Join(dir, "id")}, "", true
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tg := baseTarget(srv.port, dir)
			tg.StrictHostKeyChecking = "no"
			tg.UserKnownHostsFiles = []string{"/dev/null"}
			var sock string
			tg.IdentityFiles, sock, tg.IdentitiesOnly = tt.setup(t, dir)
			tg.IdentityAgent = ""
			client, err := Dial(context.Background(), Config{Target: tg, AuthSock: sock, Logf: t.Logf})
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("Dial: %v", err)
				}
				client.Close()
				if u := <-srv.users; u != "bob" {
					t.Errorf("server saw user %q", u)
				}
				return
			}
			want := "bob@127.0.0.1: Permission denied (publickey)."
			if err == nil || err.Error() != want || !errors.Is(err, ErrPermissionDenied) {
				t.Fatalf("Dial err = %v, want %q", err, want)
			}
		})
	}
}

func TestConnectErrors(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()

	tg := baseTarget(closedPort, t.TempDir())
	_, err = Dial(context.Background(), Config{Target: tg})
	want := fmt.Sprintf("ssh: connect to host 127.0.0.1 port %d: Connection refused", closedPort)
	if err == nil || err.Error() != want || !errors.Is(err, ErrConnect) {
		t.Errorf("refused: err = %v, want %q", err, want)
	}

	tg.ProxyJump = "jump"
	if _, err := Dial(context.Background(), Config{Target: tg}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("ProxyJump without DialContext: err = %v", err)
	}
}

// silentServer accepts TCP connections and never speaks SSH; accepted
// reports each accept.
func silentServer(t *testing.T) (port int, accepted chan struct{}) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted = make(chan struct{}, 10)
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			accepted <- struct{}{}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return ln.Addr().(*net.TCPAddr).Port, accepted
}

func TestConnectTimeoutCoversHandshake(t *testing.T) {
	port, _ := silentServer(t)
	tg := baseTarget(port, t.TempDir())
	tg.ConnectTimeout = 200 * time.Millisecond
	start := time.Now()
	_, err := Dial(context.Background(), Config{Target: tg})
	elapsed := time.Since(start)
	want := fmt.Sprintf("Connection timed out during banner exchange\nConnection to 127.0.0.1 port %d timed out", port)
	if err == nil || err.Error() != want || !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if elapsed < tg.ConnectTimeout || elapsed > 5*time.Second {
		t.Errorf("returned after %v with ConnectTimeout %v", elapsed, tg.ConnectTimeout)
	}
}

func TestContextCancelsHandshake(t *testing.T) {
	port, accepted := silentServer(t)
	tg := baseTarget(port, t.TempDir())
	tg.ConnectTimeout = 0
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-accepted
		cancel()
	}()
	_, err := Dial(ctx, Config{Target: tg})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestDialContextAndIPv6(t *testing.T) {
	_, hostKey := newEd25519(t)
	userPriv, userKey := newEd25519(t)
	srv := startServer(t, serverOpts{hostKeys: []ssh.Signer{hostKey}, authorized: []ssh.PublicKey{userKey.PublicKey()},
		network: "tcp6", addr: "[::1]:0"})
	dir := t.TempDir()
	tg := baseTarget(srv.port, dir)
	tg.HostName = "::1"
	tg.StrictHostKeyChecking = "accept-new"
	writeKey(t, filepath.Join(dir, "id"), userPriv, "")
	tg.IdentityFiles = []string{filepath.Join(dir, "id")}
	var dialed string
	c, err := Dial(context.Background(), Config{Target: tg,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dialed = addr
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if want := fmt.Sprintf("[::1]:%d", srv.port); dialed != want {
		t.Errorf("DialContext got %q, want %q", dialed, want)
	}
	data, _ := os.ReadFile(tg.UserKnownHostsFiles[0])
	if !strings.HasPrefix(string(data), fmt.Sprintf("[::1]:%d ssh-ed25519 ", srv.port)) {
		t.Errorf("known_hosts = %q", data)
	}
}

// namedAddr is a transport address that is not TCP, such as a ProxyCommand's pipes.
type namedAddr string

func (a namedAddr) Network() string { return "pipe" }
func (a namedAddr) String() string  { return string(a) }

// closedProxy is a transport named as ssh names a ProxyCommand's, whose command has exited: what
// is written goes nowhere, reads find the end.
type closedProxy struct{ net.Conn }

func (closedProxy) Read([]byte) (int, error)    { return 0, io.EOF }
func (closedProxy) Write(b []byte) (int, error) { return len(b), nil }
func (closedProxy) Close() error                { return nil }
func (closedProxy) RemoteAddr() net.Addr        { return namedAddr("UNKNOWN:65535") }

// TestDialContextWordsItsFailure: a dialer's own *Error is passed on unchanged, and a transport
// that is not TCP is named by its address in ssh's messages, port included.
func TestDialContextWordsItsFailure(t *testing.T) {
	tg := baseTarget(22, t.TempDir())
	tg.ProxyCommand = "proxy"
	own := &Error{Message: "channel 0: open failed: connect failed: Connection refused\nstdio forwarding failed", Err: ErrConnect}
	_, err := Dial(context.Background(), Config{Target: tg,
		DialContext: func(context.Context, string, string) (net.Conn, error) { return nil, own }})
	if err != own {
		t.Errorf("err = %v, want the dialer's own", err)
	}
	_, err = Dial(context.Background(), Config{Target: tg,
		DialContext: func(context.Context, string, string) (net.Conn, error) { return closedProxy{}, nil }})
	want := "kex_exchange_identification: Connection closed by remote host\nConnection closed by UNKNOWN port 65535"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}
