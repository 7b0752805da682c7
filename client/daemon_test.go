package client

import (
	"net"
	"path/filepath"
	"testing"

	"github.com/mitogen-go/mitogend/router"
)

// A daemon exiting for idleness may accept a client and hang up on it; dialDaemon then tries
// again and gets the daemon that serves.
func TestDialDaemonRetriesAfterHangUp(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "d.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		first, err := ln.Accept()
		if err != nil {
			return
		}
		first.Close() // the exiting daemon
		c, err := ln.Accept()
		if err != nil {
			return
		}
		if _, err := router.ReadHello(c); err == nil {
			router.WriteHello(c, router.Hello{ID: 7})
		}
	}()
	never := func(string) string { t.Error("dialDaemon looked for a daemon to start"); return "" }
	d, err := dialDaemon(sock, never, nil)
	if err != nil {
		t.Fatalf("dialDaemon after a hang-up: %v", err)
	}
	d.Close()
}
