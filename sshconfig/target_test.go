package sshconfig

import (
	"os"
	"reflect"
	"strconv"
	"testing"
	"time"
)

func TestTargetDefaults(t *testing.T) {
	got, err := Options{}.Target("Web.Example", "/home/alice", "alice")
	if err != nil {
		t.Fatal(err)
	}
	want := Target{
		Host: "Web.Example", HostName: "web.example", Port: 22, User: "alice",
		IdentityFiles: []string{"/home/alice/.ssh/id_rsa", "/home/alice/.ssh/id_ecdsa",
			"/home/alice/.ssh/id_ecdsa_sk", "/home/alice/.ssh/id_ed25519",
			"/home/alice/.ssh/id_ed25519_sk", "/home/alice/.ssh/id_xmss", "/home/alice/.ssh/id_dsa"},
		UserKnownHostsFiles:          []string{"/home/alice/.ssh/known_hosts", "/home/alice/.ssh/known_hosts2"},
		GlobalKnownHostsFiles:        []string{"/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"},
		StrictHostKeyChecking:        "ask",
		PasswordAuthentication:       true,
		KbdInteractiveAuthentication: true,
		ServerAliveCountMax:          3,
		AddressFamily:                "any",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Target =\n%+v\nwant\n%+v", got, want)
	}
}

func TestTarget(t *testing.T) {
	uid := strconv.Itoa(os.Getuid())
	tests := []struct {
		name  string
		opts  Options
		host  string
		check func(t *testing.T, got Target)
	}{
		{
			name: "tokens in identity and known hosts files",
			opts: Options{"hostname": {"%h.example.com"}, "port": {"2222"}, "user": {"bob"},
				"identityfile":       {"~/.ssh/id_%h_%p_%r_%u", "%d/k%%_%n_%i", "~/.ssh/id_%h_%p_%r_%u"},
				"userknownhostsfile": {"~/kh/%h:%p", "/dev/null"}},
			host: "Web",
			check: func(t *testing.T, got Target) {
				wantIDs := []string{"/h/.ssh/id_web.example.com_2222_bob_alice", "/h/k%_Web_" + uid}
				if !reflect.DeepEqual(got.IdentityFiles, wantIDs) {
					t.Errorf("IdentityFiles = %q, want %q", got.IdentityFiles, wantIDs)
				}
				wantKH := []string{"/h/kh/web.example.com:2222", "/dev/null"}
				if !reflect.DeepEqual(got.UserKnownHostsFiles, wantKH) {
					t.Errorf("UserKnownHostsFiles = %q, want %q", got.UserKnownHostsFiles, wantKH)
				}
				if got.HostName != "web.example.com" || got.Port != 2222 || got.User != "bob" {
					t.Errorf("got %s@%s:%d", got.User, got.HostName, got.Port)
				}
			},
		},
		{
			name: "none disables known hosts files, jump and command",
			opts: Options{"userknownhostsfile": {"none"}, "globalknownhostsfile": {"none"},
				"proxyjump": {"none"}, "identityagent": {"none"}},
			host: "h",
			check: func(t *testing.T, got Target) {
				if got.UserKnownHostsFiles != nil || got.GlobalKnownHostsFiles != nil ||
					got.ProxyJump != "" || got.ProxyCommand != "" || got.IdentityAgent != "none" {
					t.Errorf("got %+v", got)
				}
			},
		},
		{
			name: "proxy command tokens",
			opts: Options{"proxycommand": {"nc %h %p # %r %n %%"}, "hostname": {"real"}, "port": {"2"}},
			host: "alias",
			check: func(t *testing.T, got Target) {
				if got.ProxyCommand != "nc real 2 # alice alias %" {
					t.Errorf("ProxyCommand = %q", got.ProxyCommand)
				}
			},
		},
		{
			name: "times, flags and alias",
			opts: Options{"connecttimeout": {"1m30s"}, "serveraliveinterval": {"15"},
				"serveralivecountmax": {"5"}, "batchmode": {"yes"}, "identitiesonly": {"true"},
				"hostkeyalias": {"MyAlias"}, "identityfile": {"/k_%k"}, "passwordauthentication": {"no"}},
			host: "h",
			check: func(t *testing.T, got Target) {
				if got.ConnectTimeout != 90*time.Second || got.ServerAliveInterval != 15*time.Second ||
					got.ServerAliveCountMax != 5 || !got.BatchMode || !got.IdentitiesOnly ||
					got.HostKeyAlias != "myalias" || got.IdentityFiles[0] != "/k_myalias" ||
					got.PasswordAuthentication {
					t.Errorf("got %+v", got)
				}
			},
		},
		{
			name: "addresses keep their case",
			opts: Options{"hostname": {"FE80::1"}},
			host: "h",
			check: func(t *testing.T, got Target) {
				if got.HostName != "FE80::1" {
					t.Errorf("HostName = %q", got.HostName)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.opts.Target(tt.host, "/h", "alice")
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, got)
		})
	}
}

func TestTargetStrictHostKeyChecking(t *testing.T) {
	for in, want := range map[string]string{
		"": "ask", "ask": "ask", "yes": "yes", "true": "yes", "no": "no",
		"off": "no", "false": "no", "accept-new": "accept-new", "Accept-New": "accept-new",
	} {
		o := Options{}
		if in != "" {
			o["stricthostkeychecking"] = []string{in}
		}
		got, err := o.Target("h", "/h", "u")
		if err != nil || got.StrictHostKeyChecking != want {
			t.Errorf("%q: got %q, %v; want %q", in, got.StrictHostKeyChecking, err, want)
		}
	}
}

func TestTargetErrors(t *testing.T) {
	tests := []struct {
		opts Options
		want string
	}{
		{Options{"identityfile": {"/k_%Z"}}, "sshconfig: IdentityFile: percent_expand: unknown key %Z"},
		{Options{"hostname": {"%p.example"}}, "sshconfig: HostName: percent_expand: unknown key %p"},
		{Options{"userknownhostsfile": {"/kh%"}}, "sshconfig: UserKnownHostsFile: percent_expand: invalid format"},
	}
	for _, tt := range tests {
		if _, err := tt.opts.Target("h", "/h", "u"); err == nil || err.Error() != tt.want {
			t.Errorf("%v: err = %v, want %q", tt.opts, err, tt.want)
		}
	}
}

// BatchMode without ServerAliveInterval gets Debian's 300 s keepalive in the Target the
// daemon dials with, the same value -G prints.
func TestBatchModeKeepalive(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		want time.Duration
	}{
		{Options{"batchmode": {"yes"}}, 300 * time.Second},
		{Options{"batchmode": {"yes"}, "serveraliveinterval": {"7"}}, 7 * time.Second},
		{Options{}, 0},
	} {
		tg, err := tc.opts.Target("h", "/home/u", "u")
		if err != nil || tg.ServerAliveInterval != tc.want {
			t.Errorf("%v: ServerAliveInterval %v, %v; want %v", tc.opts, tg.ServerAliveInterval, err, tc.want)
		}
	}
}
