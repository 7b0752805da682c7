package daemon

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mitogen-go/mitogend/proto"
)

// chainConfig is an ssh_config for the resolution tests.
const chainConfig = `
Host t
  HostName 10.0.0.9
  ProxyJump b2
Host b2
  HostName 10.0.1.2
  User u2
  ProxyJump b1
Host b1
  HostName 10.0.0.1
  Port 2201
Host viacmd
  HostName 10.0.2.2
  ProxyCommand ssh -F OTHER -W [%h]:%p -l cu b1
Host viaproc
  HostName 10.0.3.3
  ProxyCommand socat STDIO TCP:%h:%p
Host fdpass
  ProxyCommand socat STDIO TCP:%h:%p
  ProxyUseFdpass yes
Host loop1
  ProxyJump loop2
Host loop2
  ProxyJump loop1
Host self
  ProxyJump self
`

// chainHome writes chainConfig (and the file its ProxyCommand names with -F) under a new home.
func chainHome(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	other := filepath.Join(dir, "other")
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(strings.ReplaceAll(chainConfig, "OTHER", other)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, []byte("Host b1\n  HostName 10.9.9.9\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func resolveIn(home, host string, cmdline map[string][]string) (targetChain, error) {
	return resolveChain(proto.ConnectRequest{Host: host, Config: cmdline, ConfigFile: filepath.Join(home, "config"), Home: home, LocalUser: "me"})
}

// hopsOf is each connection of the chain as user@host:port<-addr, outermost first.
func hopsOf(ch targetChain) string {
	var parts []string
	for _, h := range append(append([]hop(nil), ch.hops...), ch.dest) {
		parts = append(parts, destination(h.target)+"<-"+h.addr)
	}
	return strings.Join(parts, " ")
}

// A hop's own ProxyJump and ProxyCommand are followed as the ssh that ssh -J runs for it would
// follow them; -J a,b reaches b through a whatever b's configuration says.
func TestResolveChainFollowsHops(t *testing.T) {
	for _, tt := range []struct {
		name, host string
		cmdline    map[string][]string
		want       string
		proxy      string
	}{
		{name: "config, two deep", host: "t",
			want: "me@10.0.0.1:2201<- u2@10.0.1.2:22<-10.0.1.2:22 me@10.0.0.9:22<-10.0.0.9:22"},
		{name: "-J list overrides the last hop's own", host: "t", cmdline: map[string][]string{"proxyjump": {"b1,x@b2:2222"}},
			want: "me@10.0.0.1:2201<- x@10.0.1.2:2222<-10.0.1.2:2222 me@10.0.0.9:22<-10.0.0.9:22"},
		{name: "-J as ssh:// URI", host: "t", cmdline: map[string][]string{"proxyjump": {"ssh://v@b1:2200"}},
			want: "v@10.0.0.1:2200<- me@10.0.0.9:22<-10.0.0.9:22"},
		{name: "-J to a hop with a ProxyJump of its own", host: "10.5.5.5", cmdline: map[string][]string{"proxyjump": {"b2"}},
			want: "me@10.0.0.1:2201<- u2@10.0.1.2:22<-10.0.1.2:22 me@10.5.5.5:22<-10.5.5.5:22"},
		{name: "ProxyCommand ssh -W, with its own -F and -l", host: "viacmd",
			want: "cu@10.9.9.9:22<- me@10.0.2.2:22<-10.0.2.2:22"},
		{name: "ProxyCommand run as a process", host: "viaproc",
			want: "me@10.0.3.3:22<-", proxy: "socat STDIO TCP:10.0.3.3:22"},
		{name: "ProxyJump none", host: "t", cmdline: map[string][]string{"proxyjump": {"none"}},
			want: "me@10.0.0.9:22<-"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ch, err := resolveIn(chainHome(t), tt.host, tt.cmdline)
			if err != nil {
				t.Fatal(err)
			}
			if got := hopsOf(ch); got != tt.want || ch.proxy != tt.proxy {
				t.Errorf("chain %s proxy %q\nwant  %s proxy %q", got, ch.proxy, tt.want, tt.proxy)
			}
		})
	}
}

// Chains that lead back to themselves are refused before anything is dialed: ssh.c's own check
// in its words, and a longer loop (where ssh would start processes without end) naming the way
// round.
func TestResolveChainRefusesLoops(t *testing.T) {
	for _, tt := range []struct {
		host    string
		cmdline map[string][]string
		want    string
	}{
		{"self", nil, "jumphost loop via self"},
		{"x", map[string][]string{"proxyjump": {"x"}}, "jumphost loop via x"},
		{"loop1", nil, "jumphost loop via loop1: loop1 -> loop2 -> loop1"},
	} {
		_, err := resolveIn(chainHome(t), tt.host, tt.cmdline)
		if err == nil || err.Error() != tt.want || !errors.Is(err, ErrJumpLoop) {
			t.Errorf("%s %v: err %v, want %q", tt.host, tt.cmdline, err, tt.want)
		}
	}
}

// Connections through the same hops share the hops' part of their keys, and differ where the
// way to them does.
func TestChainKeys(t *testing.T) {
	home := chainHome(t)
	viaConfig, err := resolveIn(home, "t", nil)
	if err != nil {
		t.Fatal(err)
	}
	viaJ, err := resolveIn(home, "10.0.0.9", map[string][]string{"proxyjump": {"b1,u2@b2"}})
	if err != nil {
		t.Fatal(err)
	}
	other, err := resolveIn(home, "10.5.5.5", map[string][]string{"proxyjump": {"b2"}})
	if err != nil {
		t.Fatal(err)
	}
	if viaConfig.key("") != viaJ.key("") {
		t.Errorf("the same chain spelt two ways has two keys")
	}
	if viaConfig.prefixKey(2, "") != other.prefixKey(2, "") {
		t.Errorf("two destinations behind the same hops do not share the hops' keys")
	}
	if viaConfig.key("") == other.key("") || viaConfig.prefixKey(1, "") == viaConfig.prefixKey(2, "") {
		t.Errorf("different connections share a key")
	}
	if viaConfig.prefixKey(1, "") == viaConfig.prefixKey(1, "/other/agent") {
		t.Errorf("another agent shares the hop")
	}
}

// A ProxyCommand that would pass a socket back is refused: the daemon talks over pipes.
func TestResolveChainRefusesFdpass(t *testing.T) {
	_, err := resolveIn(chainHome(t), "fdpass", nil)
	if err == nil || err.Error() != "fakessh: ProxyUseFdpass is not supported" {
		t.Errorf("err %v", err)
	}
}
