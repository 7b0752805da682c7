package sshdial

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/mitogen-go/mitogend/sshconfig"
)

// The daemon's use: Dial once, then VerifyHostKey with the key the
// connection has for every later caller, against known_hosts as it is then.
func TestVerifyHostKeyAfterDial(t *testing.T) {
	_, hostKey := newEd25519(t)
	_, caKey := newEd25519(t)
	userPriv, userKey := newEd25519(t)
	cert := &ssh.Certificate{Key: hostKey.PublicKey(), CertType: ssh.HostCert, KeyId: "host",
		ValidPrincipals: []string{"127.0.0.1"}, ValidBefore: ssh.CertTimeInfinity}
	if err := cert.SignCert(rand.Reader, caKey); err != nil {
		t.Fatal(err)
	}
	certSigner, err := ssh.NewCertSigner(cert, hostKey)
	if err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, serverOpts{hostKeys: []ssh.Signer{certSigner, hostKey}, authorized: []ssh.PublicKey{userKey.PublicKey()}})
	dir := t.TempDir()
	tg := baseTarget(srv.port, dir)
	writeKey(t, filepath.Join(dir, "id"), userPriv, "")
	tg.IdentityFiles = []string{filepath.Join(dir, "id")}
	kh := tg.UserKnownHostsFiles[0]
	caLine := "@cert-authority * " + string(ssh.MarshalAuthorizedKey(caKey.PublicKey()))
	writeTestFile(t, kh, caLine)

	var warn recorder
	c := Config{Target: tg, Warnf: warn.f}
	client, err := Dial(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if _, ok := client.HostKey.(*ssh.Certificate); !ok || client.HostKeyResult != (HostKeyResult{Certificate: true}) {
		t.Fatalf("Dial: host key %s, result %+v; want a certificate", client.HostKey.Type(), client.HostKeyResult)
	}
	if res, err := VerifyHostKey(c, client.HostKey); err != nil || res != client.HostKeyResult || warn.String() != "" {
		t.Fatalf("VerifyHostKey = %+v, %v, warnings %q; want what Dial saw", res, err, warn.String())
	}

	// The CA is revoked since: a new caller is refused, as a new ssh would be.
	writeTestFile(t, kh, caLine+"@revoked * "+string(ssh.MarshalAuthorizedKey(caKey.PublicKey())))
	_, verr := VerifyHostKey(c, client.HostKey)
	_, derr := Dial(context.Background(), c)
	var ve, de *Error
	if !errors.As(verr, &ve) || !errors.As(derr, &de) || !errors.Is(verr, ErrHostKeyRevoked) {
		t.Fatalf("after revocation: VerifyHostKey %v, Dial %v; want ErrHostKeyRevoked from both", verr, derr)
	}
	if ve.Message != de.Message || !strings.Contains(ve.Message, "The ED25519-CERT host key for ["+"127.0.0.1]:") {
		t.Errorf("VerifyHostKey says\n%s\nDial says\n%s", ve.Message, de.Message)
	}
}

func TestRequestsFor(t *testing.T) {
	tests := []struct {
		opts map[string][]string
		want Requests
	}{
		{nil, Requests{UpdateHostKeys: true}},
		{map[string][]string{"userknownhostsfile": {"/k"}}, Requests{}},
		{map[string][]string{"userknownhostsfile": {"/k"}, "updatehostkeys": {"ask"}}, Requests{UpdateHostKeys: true}},
		{map[string][]string{"verifyhostkeydns": {"ask"}}, Requests{}},
		{map[string][]string{"updatehostkeys": {"no"}, "forwardagent": {"/tmp/agent.sock"}, "forwardx11": {"yes"},
			"tunnel": {"point-to-point"}, "exitonforwardfailure": {"yes"}},
			Requests{ForwardAgent: true, ForwardX11: true, Tunnel: true, ExitOnForwardFailure: true}},
		{map[string][]string{"updatehostkeys": {"no"}, "forwardagent": {"no"}, "tunnel": {"no"}, "dynamicforward": {"1080"}},
			Requests{PortForwards: true}},
		{map[string][]string{"updatehostkeys": {"no"}, "localforward": {"8080:h:80"}, "clearallforwardings": {"yes"}}, Requests{}},
	}
	for _, tt := range tests {
		if got := RequestsFor(sshconfig.Options(tt.opts)); got != tt.want {
			t.Errorf("RequestsFor(%v) = %+v, want %+v", tt.opts, got, tt.want)
		}
	}
}
