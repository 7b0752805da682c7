package sshdial

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	"golang.org/x/crypto/ssh"

	"github.com/mitogen-go/mitogend/internal/syserr"
	"github.com/mitogen-go/mitogend/sshconfig"
)

// Config says where and how to connect.
type Config struct {
	Target   sshconfig.Target
	AuthSock string // SSH_AUTH_SOCK of the caller ("" = none)

	// Logf receives debug logging (ssh -v material). May be nil.
	Logf func(format string, args ...any)
	// Warnf receives what ssh prints on stderr at its default log level
	// while still connecting, e.g. "Warning: Permanently added ..." or the
	// changed-host-key banner under StrictHostKeyChecking=no, and
	// "Timeout, server HOST not responding.". Nil falls back to Logf.
	Warnf func(format string, args ...any)
	// HideInfo is the caller's LogLevel below INFO (QUIET, FATAL, ERROR): what ssh logs with
	// logit ("Warning: Permanently added ...") goes to Logf instead of Warnf.
	HideInfo bool

	// Lost, if set, receives what ssh prints when it gives up on a connection whose keepalives
	// went unanswered ("Timeout, server HOST not responding."), just before the client is
	// closed; Warnf then does not. A caller that shares the connection tells its users.
	Lost func(msg string)

	// Requests are the caller's forwarding and related options, which ssh
	// names as it turns them off when StrictHostKeyChecking=no lets a
	// changed host key through.
	Requests Requests

	// DialContext, when set, opens the transport instead of a direct TCP
	// connection, e.g. through a jump host's *ssh.Client. It is required
	// when the Target has a ProxyJump or ProxyCommand. An *Error it returns
	// is passed on as it is (its messages are what ssh would print); any
	// other error is worded as a failed TCP connect. A transport whose
	// RemoteAddr is not a *net.TCPAddr is named by its String, "host:port",
	// in ssh's messages ("UNKNOWN:65535" is how ssh names a ProxyCommand's).
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)

	// Prompt, when set, asks the caller's user for passwords and
	// keyboard-interactive answers, as ssh would on its terminal. Nil never
	// prompts: those methods are not tried, as in BatchMode. While Dial may
	// prompt, what Warnf would get is held back and given with the next
	// Question, so that it shows before the prompt; the rest goes to Warnf
	// (or into the *Error) when Dial returns. ConnectTimeout stops counting
	// at the first prompt.
	Prompt PromptFunc
	// Auth are the authentication settings not in Target (AuthFor reads them).
	Auth AuthOptions
}

// Preferences put the fastest algorithms x/crypto has first.
var (
	kexAlgorithms = []string{
		ssh.KeyExchangeCurve25519, ssh.KeyExchangeMLKEM768X25519,
		ssh.KeyExchangeECDHP256, ssh.KeyExchangeECDHP384, ssh.KeyExchangeECDHP521,
		ssh.KeyExchangeDH14SHA256, ssh.KeyExchangeDH16SHA512, ssh.KeyExchangeDHGEXSHA256,
	}
	ciphers = []string{
		ssh.CipherAES128GCM, ssh.CipherChaCha20Poly1305, ssh.CipherAES256GCM,
		ssh.CipherAES128CTR, ssh.CipherAES192CTR, ssh.CipherAES256CTR,
	}
)

func (c *Config) logf(format string, args ...any) {
	if c.Logf != nil {
		c.Logf(format, args...)
	}
}

func (c *Config) warnf(format string, args ...any) {
	if c.Warnf != nil {
		c.Warnf(format, args...)
		return
	}
	c.logf(format, args...)
}

// infof is ssh's logit: shown at LogLevel INFO and above.
func (c *Config) infof(format string, args ...any) {
	if c.HideInfo {
		c.logf(format, args...)
		return
	}
	c.warnf(format, args...)
}

// Client is an authenticated connection and how its host key was
// accepted.
type Client struct {
	*ssh.Client
	// HostKey is the host key as the server presented it (a certificate
	// when it sent one, even if its plain key is what passed): give it to
	// VerifyHostKey to check the connection again for a new caller.
	HostKey       ssh.PublicKey
	HostKeyResult HostKeyResult

	ended context.Context // done once the transport is gone (watch)
}

// watch starts the one goroutine that waits for the transport to end; everything else that
// must happen then is registered with AfterClose, so that an idle connection costs no more
// goroutines than that.
func (c *Client) watch() {
	ctx, cancel := context.WithCancel(context.Background())
	c.ended = ctx
	go func() {
		c.Client.Wait()
		cancel()
	}()
}

// Done is closed once the connection has ended, for whatever reason.
func (c *Client) Done() <-chan struct{} { return c.ended.Done() }

// AfterClose runs f on a goroutine of its own once the connection has ended (at once if it
// has). No goroutine waits meanwhile.
func (c *Client) AfterClose(f func()) { context.AfterFunc(c.ended, f) }

// Dial connects, verifies the host key, authenticates and, when
// ServerAliveInterval is set, starts keepalives. Errors are *Error.
func Dial(ctx context.Context, c Config) (*Client, error) {
	h := c.holdWarnings()
	client, err := c.dial(ctx, h)
	return client, h.release(err)
}

func (c *Config) dial(ctx context.Context, h *held) (*Client, error) {
	t := c.Target
	if c.DialContext == nil && (t.ProxyJump != "" || t.ProxyCommand != "") {
		return nil, &Error{Err: ErrUnsupported,
			Message: "sshdial: ProxyJump and ProxyCommand need Config.DialContext"}
	}
	hk := newHostKeys(c)
	conn, err := c.connect(ctx)
	if err != nil {
		return nil, err
	}
	a := newAuth(ctx, c, hk, h)
	defer a.close()
	cfg := &ssh.ClientConfig{
		User:              t.User,
		AuthCallback:      a.next,
		FirstAuth:         a.first,
		HostKeyCallback:   hk.check,
		HostKeyAlgorithms: hk.algs,
		Config:            ssh.Config{KeyExchanges: kexAlgorithms, Ciphers: ciphers},
	}
	client, err := c.handshake(ctx, conn, cfg, hk, a)
	if err != nil {
		return nil, err
	}
	client.watch()
	if t.ServerAliveInterval > 0 {
		startKeepalive(client, c)
	}
	return client, nil
}

// connect resolves the name and tries each address in turn, as ssh does,
// giving each attempt ConnectTimeout.
func (c *Config) connect(ctx context.Context) (net.Conn, error) {
	t := c.Target
	port := strconv.Itoa(t.Port)
	fail := func(err error) error {
		sentinel := ErrConnect
		if syserr.Text(err) == "Connection timed out" {
			sentinel = ErrTimeout
		}
		return &Error{Err: wrap(sentinel, err),
			Message: fmt.Sprintf("ssh: connect to host %s port %d: %s", t.HostName, t.Port, syserr.Text(err))}
	}
	if c.DialContext != nil {
		conn, err := c.DialContext(ctx, "tcp", net.JoinHostPort(t.HostName, port))
		var own *Error
		if errors.As(err, &own) {
			return nil, own // the dialer words its failure itself, as a ProxyCommand does for ssh
		}
		if err != nil {
			return nil, fail(err)
		}
		return conn, nil
	}
	ips, err := c.resolve(ctx)
	if err != nil {
		return nil, err
	}
	d := net.Dialer{Timeout: t.ConnectTimeout}
	for _, ip := range ips {
		addr := net.JoinHostPort(ip.String(), port)
		conn, dialErr := d.DialContext(ctx, "tcp", addr)
		if dialErr == nil {
			c.logf("Connection established to %s", addr)
			return conn, nil
		}
		c.logf("connect to address %s port %d: %s", ip, t.Port, syserr.Text(dialErr))
		err = dialErr
	}
	return nil, fail(err)
}

func (c *Config) resolve(ctx context.Context) ([]net.IP, error) {
	t := c.Target
	network := map[string]string{"inet": "ip4", "inet6": "ip6"}[t.AddressFamily]
	if network == "" {
		network = "ip"
	}
	if ip := net.ParseIP(t.HostName); ip != nil {
		return []net.IP{ip}, nil
	}
	ips, err := net.DefaultResolver.LookupIP(ctx, network, t.HostName)
	if err == nil && len(ips) > 0 {
		return ips, nil
	}
	reason := "Name or service not known"
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && (dnsErr.IsTemporary || dnsErr.IsTimeout) {
		reason = "Temporary failure in name resolution"
	}
	if err == nil {
		err = errors.New("no addresses")
	}
	return nil, &Error{Err: wrap(ErrResolve, err),
		Message: fmt.Sprintf("ssh: Could not resolve hostname %s: %s", t.HostName, reason)}
}
