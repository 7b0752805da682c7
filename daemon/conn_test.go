package daemon

import (
	"testing"

	"github.com/mitogen-go/mitogend/proto"
)

// Every connection runs keepalives, the first caller's or the daemon's default.
func TestResolveChainKeepalive(t *testing.T) {
	home := t.TempDir()
	for _, tt := range []struct {
		opts map[string][]string
		want string
	}{
		{nil, defaultServerAliveInterval.String()},
		{map[string][]string{"serveraliveinterval": {"7"}}, "7s"},
	} {
		chain, err := resolveChain(proto.ConnectRequest{Host: "h", Config: tt.opts, ConfigFile: "/dev/null", Home: home, LocalUser: "u"})
		if err != nil {
			t.Fatal(err)
		}
		if got := chain.dest.target.ServerAliveInterval.String(); got != tt.want {
			t.Errorf("options %v: keepalive every %s, want %s", tt.opts, got, tt.want)
		}
	}
}
