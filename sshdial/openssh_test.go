package sshdial

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/mitogen-go/mitogend/flagparse"
	"github.com/mitogen-go/mitogend/sshconfig"
	"github.com/mitogen-go/mitogend/test/sshdtest"
)

// certSpec is the host certificate sshd presents; nil means none.
type certSpec struct {
	ca         string // "ca", "otherca" or "rsaca"
	principals []string
	validity   string
	keygen     []string // more ssh-keygen arguments
}

// sideCase is one host-key situation run through both the real ssh and
// Dial. Lines of known and global may use {name} ([127.0.0.1]:PORT),
// {hashed} (a hashed {name}), {host} (the server's key), {other} and
// {ecdsa} (keys the server does not have), {ca} and {otherca}.
type sideCase struct {
	name   string
	cert   *certSpec
	known  []string // nil: no user known_hosts file at all
	raw    string   // user known_hosts content verbatim, when known is nil
	global []string
	args   []string       // extra ssh arguments, before the destination
	want   *HostKeyResult // when set, what Dial and VerifyHostKey must report
}

// sideBySide holds what every case shares: one sshd and the keys.
type sideBySide struct {
	t        *testing.T
	ssh      string
	srv      *sshdtest.Server
	dir      string
	certPath string
	keys     map[string]string // placeholder -> public key line
	caFiles  map[string]string // "ca"/"otherca" -> private key
}

func newSideBySide(t *testing.T) *sideBySide {
	sshPath, err := exec.LookPath("ssh")
	if err != nil {
		t.Skipf("OpenSSH client not installed: %v", err)
	}
	dir := t.TempDir()
	s := &sideBySide{t: t, ssh: sshPath, dir: dir, certPath: filepath.Join(dir, "host-cert.pub"),
		keys: map[string]string{}, caFiles: map[string]string{}}
	s.srv = sshdtest.Start(t, sshdtest.WithHostCertificate(s.certPath))
	for _, k := range []string{"ca", "otherca", "other", "rsaca"} {
		var args []string
		if k == "rsaca" {
			args = []string{"-t", "rsa", "-b", "2048"}
		}
		s.keys[k] = pubOnly(sshdtest.NewKey(t, filepath.Join(dir, k), args...))
		s.caFiles[k] = filepath.Join(dir, k)
	}
	s.keys["host"] = pubOnly(s.srv.HostPublicKey)
	s.keys["ecdsa"] = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(newECDSA(t).PublicKey())))
	return s
}

// pubOnly drops the comment of a public key line.
func pubOnly(line string) string {
	f := strings.Fields(line)
	return f[0] + " " + f[1]
}

func (s *sideBySide) name() string { return "[127.0.0.1]:" + strconv.Itoa(s.srv.Port) }

func (s *sideBySide) expand(lines []string) string {
	var b strings.Builder
	for _, l := range lines {
		r := strings.NewReplacer("{name}", s.name(), "{port}", strconv.Itoa(s.srv.Port), "{hashed}", hashHost(s.name(), bytes.Repeat([]byte{7}, 20)),
			"{host}", s.keys["host"], "{other}", s.keys["other"], "{ecdsa}", s.keys["ecdsa"],
			"{ca}", s.keys["ca"], "{otherca}", s.keys["otherca"], "{rsaca}", s.keys["rsaca"])
		b.WriteString(r.Replace(l) + "\n")
	}
	return b.String()
}

// outcome is what one client made of a case.
type outcome struct {
	accepted bool
	stderr   string // as ssh writes it: each log message ends in \r\n
	known    string // user known_hosts afterwards, hashed names normalised
	result   HostKeyResult
}

func (s *sideBySide) run(c sideCase) {
	t := s.t
	t.Helper()
	dir := t.TempDir()
	kh, gkh := filepath.Join(dir, "known_hosts"), filepath.Join(dir, "global_known_hosts")
	if c.cert == nil {
		os.Remove(s.certPath)
	} else {
		s.srv.SignHostKey(s.caFiles[c.cert.ca], s.certPath, "host-id", c.cert.principals, c.cert.validity, c.cert.keygen...)
	}
	reset := func() {
		os.Remove(kh)
		if c.known != nil {
			writeTestFile(t, kh, s.expand(c.known))
		} else if c.raw != "" {
			writeTestFile(t, kh, c.raw)
		}
		writeTestFile(t, gkh, s.expand(c.global))
	}
	args := append(append([]string(nil), c.args...),
		"-F", "/dev/null", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-i", s.srv.ClientKey,
		"-o", "UserKnownHostsFile="+kh, "-o", "GlobalKnownHostsFile="+gkh,
		"-p", strconv.Itoa(s.srv.Port), "-l", s.srv.User, "127.0.0.1", "true")
	reset()
	real := s.runSSH(args, kh)
	reset()
	cfg := s.config(args)
	ours, logs := s.runDial(cfg, kh)
	s.compare(c, args, "Dial", real, ours, logs)
	// A shared connection checks the key it has again for every caller:
	// the same files must give the same verdict, text and additions.
	reset()
	again, logs := s.runVerify(cfg, c.cert != nil, kh)
	s.compare(c, args, "VerifyHostKey", real, again, logs)
}

func (s *sideBySide) compare(c sideCase, args []string, what string, real, ours outcome, logs string) {
	s.t.Helper()
	if what == "Dial" {
		s.t.Logf("%s: ssh accepted=%v, stderr %q", c.name, real.accepted, real.stderr)
	}
	// Error.Message cannot tell the newline inside a message (the
	// fingerprint's) from one between messages, so a refusal is compared
	// line by line; what Warnf gets is compared byte for byte.
	sameText := real.stderr == ours.stderr || (!real.accepted && lines(real.stderr) == lines(ours.stderr))
	if real.accepted != ours.accepted || !sameText || real.known != ours.known {
		s.t.Errorf("%s: ssh and %s differ\nssh %v accepted=%v, stderr:\n%q\nknown_hosts:\n%q\n%s accepted=%v, stderr:\n%q\nknown_hosts:\n%q\nsshdial log:\n%s",
			c.name, what, args, real.accepted, real.stderr, real.known, what, ours.accepted, ours.stderr, ours.known, logs)
	}
	if c.want != nil && ours.accepted && ours.result != *c.want {
		s.t.Errorf("%s: %s result %+v, want %+v", c.name, what, ours.result, *c.want)
	}
}

func (s *sideBySide) runSSH(args []string, kh string) outcome {
	cmd := exec.Command(s.ssh, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Env = withoutAgent(os.Environ())
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		s.t.Fatalf("running ssh: %v", err)
	}
	return outcome{accepted: err == nil, stderr: stderr.String(), known: s.readKnown(kh)}
}

// config gives the same command line to flagparse and sshconfig, as
// fakessh and the daemon do.
func (s *sideBySide) config(args []string) Config {
	opts, err := flagparse.Parse(args)
	if err != nil {
		s.t.Fatalf("flagparse %v: %v", args, err)
	}
	u, err := user.Current()
	if err != nil {
		s.t.Fatal(err)
	}
	o, err := sshconfig.Resolve(sshconfig.Input{Host: opts.Host, Cmdline: sshconfig.Options(opts.Config),
		ConfigFile: opts.ConfigFile, Home: u.HomeDir, LocalUser: u.Username})
	if err != nil {
		s.t.Fatal(err)
	}
	tg, err := o.Target(opts.Host, u.HomeDir, u.Username)
	if err != nil {
		s.t.Fatal(err)
	}
	return Config{Target: tg, Requests: RequestsFor(o)}
}

// capture points cfg's Warnf at a buffer that ends each message as ssh's
// log does, and its Logf at a recorder.
func capture(cfg *Config) (warn *strings.Builder, logs *recorder) {
	warn, logs = &strings.Builder{}, &recorder{}
	cfg.Warnf = func(format string, args ...any) { fmt.Fprintf(warn, format+"\r\n", args...) }
	cfg.Logf = logs.f
	return warn, logs
}

// refusal renders a refusal as fakessh prints it.
func refusal(t *testing.T, warn string, err error) string {
	var de *Error
	if !errors.As(err, &de) {
		t.Fatalf("error %T %v is not *Error", err, err)
	}
	return warn + strings.ReplaceAll(de.Message, "\n", "\r\n") + "\r\n"
}

func (s *sideBySide) runDial(cfg Config, kh string) (outcome, string) {
	warn, logs := capture(&cfg)
	client, err := Dial(context.Background(), cfg)
	out := outcome{accepted: err == nil}
	if err != nil {
		out.stderr = refusal(s.t, warn.String(), err)
	} else {
		out.stderr, out.result = warn.String(), client.HostKeyResult
		if code := runTrue(s.t, client); code != 0 {
			s.t.Errorf("true exited %d", code)
		}
		client.Close()
	}
	out.known = s.readKnown(kh)
	return out, logs.String()
}

// runVerify applies VerifyHostKey to the key the server presents: its
// certificate when it has one, since the client asks for certificates
// before plain ed25519 keys whatever known_hosts holds.
func (s *sideBySide) runVerify(cfg Config, withCert bool, kh string) (outcome, string) {
	line := s.srv.HostPublicKey
	if withCert {
		data, err := os.ReadFile(s.certPath)
		if err != nil {
			s.t.Fatal(err)
		}
		line = string(data)
	}
	key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		s.t.Fatal(err)
	}
	warn, logs := capture(&cfg)
	res, err := VerifyHostKey(cfg, key)
	out := outcome{accepted: err == nil, result: res, stderr: warn.String()}
	if err != nil {
		out.stderr = refusal(s.t, warn.String(), err)
	}
	out.known = s.readKnown(kh)
	return out, logs.String()
}

func runTrue(t *testing.T, c *Client) int {
	sess, err := c.NewSession()
	if err != nil {
		t.Fatalf("session: %v", err)
	}
	defer sess.Close()
	var exit *ssh.ExitError
	if err := sess.Run("true"); errors.As(err, &exit) {
		return exit.ExitStatus()
	} else if err != nil {
		t.Fatalf("running true: %v", err)
	}
	return 0
}

// readKnown returns the file with each hashed name replaced by the name
// it hashes, since every hash has its own random salt.
func (s *sideBySide) readKnown(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, "|1|") {
			continue
		}
		if e, _ := parseHostLine(l); e.salt != nil && e.matches(s.name()) {
			lines[i] = "HASHED(" + s.name() + ")" + l[len(e.hosts):]
		}
	}
	return strings.Join(lines, "\n")
}

func withoutAgent(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "SSH_AUTH_SOCK=") && !strings.HasPrefix(kv, "SSH_AGENT_PID=") {
			out = append(out, kv)
		}
	}
	return out
}

// lines is text with every line ending normalised to \n.
func lines(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestBadCertificateSignatureAsOpenSSH: a certificate whose CA signature
// does not verify ends the key exchange, before known_hosts is read. No
// sshd serves such a certificate, so the server here is x/crypto's.
func TestBadCertificateSignatureAsOpenSSH(t *testing.T) {
	sshPath, err := exec.LookPath("ssh")
	if err != nil {
		t.Skipf("OpenSSH client not installed: %v", err)
	}
	_, hostKey := newEd25519(t)
	_, caKey := newEd25519(t)
	userPriv, userKey := newEd25519(t)
	cert := &ssh.Certificate{Key: hostKey.PublicKey(), CertType: ssh.HostCert, KeyId: "bad", ValidPrincipals: []string{"127.0.0.1"},
		ValidBefore: ssh.CertTimeInfinity}
	if err := cert.SignCert(rand.Reader, caKey); err != nil {
		t.Fatal(err)
	}
	cert.Signature.Blob[0] ^= 1
	certSigner, err := ssh.NewCertSigner(cert, hostKey)
	if err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, serverOpts{hostKeys: []ssh.Signer{certSigner}, authorized: []ssh.PublicKey{userKey.PublicKey()}})
	dir := t.TempDir()
	tg := baseTarget(srv.port, dir)
	writeKey(t, filepath.Join(dir, "id"), userPriv, "")
	tg.IdentityFiles = []string{filepath.Join(dir, "id")}
	writeTestFile(t, tg.UserKnownHostsFiles[0], "@cert-authority * "+string(ssh.MarshalAuthorizedKey(caKey.PublicKey())))

	cmd := exec.Command(sshPath, "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
		"-i", tg.IdentityFiles[0], "-o", "UserKnownHostsFile="+tg.UserKnownHostsFiles[0],
		"-o", "GlobalKnownHostsFile=/dev/null", "-p", strconv.Itoa(srv.port), "127.0.0.1", "true")
	cmd.Env = withoutAgent(os.Environ())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil {
		t.Fatalf("ssh accepted a certificate with a bad signature")
	}
	_, err = Dial(context.Background(), Config{Target: tg, Logf: t.Logf})
	if err == nil {
		t.Fatal("Dial accepted a certificate with a bad signature")
	}
	if got, want := lines(refusal(t, "", err)), lines(stderr.String()); got != want || !errors.Is(err, ErrProtocol) {
		t.Errorf("Dial: %q (%v), ssh: %q", got, err, want)
	}
}
