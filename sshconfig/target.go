package sshconfig

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mitogen-go/mitogend/internal/sshopt"
)

// Target is what a connection needs, with OpenSSH's defaults applied and
// ~ and %-tokens expanded where ssh expands them.
type Target struct {
	Host     string // destination as typed (%n)
	HostName string // host to connect to, lowercased unless an address
	Port     int
	User     string

	IdentityFiles  []string // explicit ones, else ssh's default list
	IdentitiesOnly bool
	// IdentityAgent is "" when unset (use the caller's SSH_AUTH_SOCK),
	// "none" to use no agent, "SSH_AUTH_SOCK" or "$VAR" as written, else
	// an expanded socket path.
	IdentityAgent string

	UserKnownHostsFiles   []string // nil for "none"
	GlobalKnownHostsFiles []string // nil for "none"
	HashKnownHosts        bool
	HostKeyAlias          string // lowercased, as ssh does
	// StrictHostKeyChecking is "yes", "no", "accept-new" or "ask"
	// (true/false/off are folded in as ssh does).
	StrictHostKeyChecking string

	PasswordAuthentication       bool
	KbdInteractiveAuthentication bool
	BatchMode                    bool

	ConnectTimeout      time.Duration // 0 = none
	ServerAliveInterval time.Duration // 0 = off
	ServerAliveCountMax int
	AddressFamily       string // "any", "inet" or "inet6"

	ProxyJump    string // "" when unset or "none"
	ProxyCommand string // "" when unset or "none"; %h %n %p %r expanded
}

var defaultIdentities = []string{
	"~/.ssh/id_rsa", "~/.ssh/id_ecdsa", "~/.ssh/id_ecdsa_sk", "~/.ssh/id_ed25519",
	"~/.ssh/id_ed25519_sk", "~/.ssh/id_xmss", "~/.ssh/id_dsa",
}

// Target applies defaults and expansions for destination host (as typed).
func (o Options) Target(host, home, localUser string) (Target, error) {
	t := Target{
		Host:                         host,
		Port:                         22,
		User:                         o.Get("user"),
		IdentitiesOnly:               isYes(o.Get("identitiesonly")),
		HashKnownHosts:               isYes(o.Get("hashknownhosts")),
		HostKeyAlias:                 strings.ToLower(o.Get("hostkeyalias")),
		StrictHostKeyChecking:        strictMode(o.Get("stricthostkeychecking")),
		PasswordAuthentication:       o.Get("passwordauthentication") == "" || isYes(o.Get("passwordauthentication")),
		KbdInteractiveAuthentication: o.Get("kbdinteractiveauthentication") == "" || isYes(o.Get("kbdinteractiveauthentication")),
		BatchMode:                    isYes(o.Get("batchmode")),
		ConnectTimeout:               parseDuration(o.Get("connecttimeout")),
		ServerAliveInterval:          parseDuration(o.Get("serveraliveinterval")),
		ServerAliveCountMax:          3,
		AddressFamily:                strings.ToLower(o.Get("addressfamily")),
	}
	if o.Get("serveraliveinterval") == "" && t.BatchMode {
		t.ServerAliveInterval = 300 * time.Second // Debian's fill_default_options: BatchMode must not hang on a dead server
	}
	if !o.has("user") { // ssh -l "" keeps an empty User
		t.User = localUser
	}
	if t.AddressFamily == "" {
		t.AddressFamily = "any"
	}
	if v := o.Get("serveralivecountmax"); v != "" {
		t.ServerAliveCountMax, _ = sshopt.AtoiErr(v)
	}
	if v := o.Get("port"); v != "" {
		if t.Port = sshopt.A2port(v); t.Port <= 0 {
			return Target{}, fmt.Errorf("sshconfig: bad port %q", v)
		}
	}
	t.HostName = host
	if hn := o.Get("hostname"); hn != "" {
		var err error
		if t.HostName, err = percentExpand(hn, map[byte]string{'h': host}); err != nil {
			return Target{}, fmt.Errorf("sshconfig: HostName: %w", err)
		}
	}
	t.HostName = lowerHost(t.HostName)

	x := t.tokens(home, localUser)
	var err error
	ids := o.All("identityfile")
	if len(ids) == 0 {
		ids = defaultIdentities
	}
	if t.IdentityFiles, err = expandPaths(ids, home, x); err != nil {
		return Target{}, fmt.Errorf("sshconfig: IdentityFile: %w", err)
	}
	if t.UserKnownHostsFiles, err = knownHostsFiles(o.All("userknownhostsfile"),
		[]string{"~/.ssh/known_hosts", "~/.ssh/known_hosts2"}, home, x); err != nil {
		return Target{}, fmt.Errorf("sshconfig: UserKnownHostsFile: %w", err)
	}
	if t.GlobalKnownHostsFiles, err = knownHostsFiles(o.All("globalknownhostsfile"),
		[]string{"/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"}, home, nil); err != nil {
		return Target{}, fmt.Errorf("sshconfig: GlobalKnownHostsFile: %w", err)
	}
	if err := t.agentAndProxy(o, home, x); err != nil {
		return Target{}, err
	}
	return t, nil
}

func (t *Target) agentAndProxy(o Options, home string, x map[byte]string) error {
	switch a := o.Get("identityagent"); {
	case a == "" || a == "none" || a == "SSH_AUTH_SOCK" || strings.HasPrefix(a, "$"):
		t.IdentityAgent = a
	default:
		p, err := expandPaths([]string{a}, home, x)
		if err != nil {
			return fmt.Errorf("sshconfig: IdentityAgent: %w", err)
		}
		t.IdentityAgent = p[0]
	}
	if j := o.Get("proxyjump"); !strings.EqualFold(j, "none") {
		t.ProxyJump = j
	}
	if c := o.Get("proxycommand"); c != "" && !strings.EqualFold(c, "none") && t.ProxyJump == "" {
		pc, err := percentExpand(c, map[byte]string{'h': t.HostName, 'n': t.Host,
			'p': strconv.Itoa(t.Port), 'r': t.User})
		if err != nil {
			return fmt.Errorf("sshconfig: ProxyCommand: %w", err)
		}
		t.ProxyCommand = pc
	}
	return nil
}

// tokens are the %-expansions ssh offers for IdentityFile,
// UserKnownHostsFile and friends (ssh_config(5) TOKENS).
func (t *Target) tokens(home, localUser string) map[byte]string {
	alias := t.HostKeyAlias
	if alias == "" {
		alias = t.Host
	}
	return connTokens(t.HostName, strconv.Itoa(t.Port), t.User, alias, t.Host, home, localUser)
}

// connTokens is the table ssh's DEFAULT_CLIENT_PERCENT_EXPAND_ARGS builds from a connection's
// host name, port, remote user, host-key alias and host as typed.
func connTokens(hostName, port, user, alias, host, home, localUser string) map[byte]string {
	local, _ := os.Hostname()
	short, _, _ := strings.Cut(local, ".")
	sum := sha1.Sum([]byte(local + hostName + port + user))
	return map[byte]string{
		'C': hex.EncodeToString(sum[:]),
		'L': short,
		'd': home,
		'h': hostName,
		'i': strconv.Itoa(os.Getuid()),
		'k': alias,
		'l': local,
		'n': host,
		'p': port,
		'r': user,
		'u': localUser,
	}
}

// expandPaths applies ~ then %-token expansion (none when x is nil),
// dropping duplicates as ssh's add_identity_file does.
func expandPaths(paths []string, home string, x map[byte]string) ([]string, error) {
	var out []string
	for _, p := range paths {
		e, err := tildeExpand(p, home)
		if err != nil {
			return nil, err
		}
		if x != nil {
			if e, err = percentExpand(e, x); err != nil {
				return nil, err
			}
		}
		if !contains(out, e) {
			out = append(out, e)
		}
	}
	return out, nil
}

func knownHostsFiles(v, def []string, home string, x map[byte]string) ([]string, error) {
	if len(v) == 0 {
		v = def
	}
	if len(v) == 1 && strings.EqualFold(v[0], "none") {
		return nil, nil
	}
	return expandPaths(v, home, x)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func isYes(v string) bool {
	return strings.EqualFold(v, "yes") || strings.EqualFold(v, "true")
}

// strictMode folds ssh's spellings onto its four behaviours; unset is "ask".
func strictMode(v string) string {
	switch strings.ToLower(v) {
	case "yes", "true":
		return "yes"
	case "no", "false", "off":
		return "no"
	case "accept-new":
		return "accept-new"
	}
	return "ask"
}
