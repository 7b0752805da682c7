package sshdial

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func TestServerAlive(t *testing.T) {
	tests := []struct {
		name        string
		ignore      bool // server never answers keepalives
		countMax    int  // generous when answered, so a slow machine cannot flake
		wantTimeout bool
	}{
		{"answered keepalives keep the connection", false, 100, false},
		{"unanswered keepalives close it", true, 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, hostKey := newEd25519(t)
			userPriv, userKey := newEd25519(t)
			srv := startServer(t, serverOpts{hostKeys: []ssh.Signer{hostKey},
				authorized: []ssh.PublicKey{userKey.PublicKey()}, ignoreKeepalive: tt.ignore})
			dir := t.TempDir()
			tg := baseTarget(srv.port, dir)
			tg.StrictHostKeyChecking, tg.UserKnownHostsFiles = "no", []string{"/dev/null"}
			writeKey(t, filepath.Join(dir, "id"), userPriv, "")
			tg.IdentityFiles = []string{filepath.Join(dir, "id")}
			tg.ServerAliveInterval, tg.ServerAliveCountMax = 10*time.Millisecond, tt.countMax
			var warn recorder
			client, err := Dial(context.Background(), Config{Target: tg, Warnf: warn.f})
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()

			waited := make(chan error, 1)
			go func() { waited <- client.Wait() }()
			if tt.wantTimeout {
				select {
				case <-waited:
				case <-time.After(10 * time.Second):
					t.Fatal("client not closed after unanswered keepalives")
				}
				if want := "Timeout, server 127.0.0.1 not responding."; !strings.Contains(warn.String(), want) {
					t.Errorf("warnings %q lack %q", warn.String(), want)
				}
				return
			}
			// Several answered rounds must leave the connection usable.
			for i := 0; i < 5; i++ {
				select {
				case <-srv.keepalives:
				case <-waited:
					t.Fatalf("client closed: %s", warn.String())
				case <-time.After(10 * time.Second):
					t.Fatal("no keepalive received")
				}
			}
			if ok, _, err := client.SendRequest("ping", true, nil); !ok || err != nil {
				t.Errorf("ping after keepalives = %v, %v (%s)", ok, err, warn.String())
			}
		})
	}
}
