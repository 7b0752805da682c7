package flagparse

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// absent in a want map means the key must not be set.
var absent = []string{}

type parseCase struct {
	name    string
	args    []string
	host    string
	cmd     string
	cfg     map[string][]string // keys to compare; absent means unset
	check   func(*Options) bool // further expectations, if any
	wantErr string              // exact Msg; "" with wantUsage for bare usage
	usage   bool
}

var parseCases = []parseCase{
	// Option scanning.
	{name: "plain host", args: []string{"h"}, host: "h", cfg: map[string][]string{"user": absent, "port": absent}},
	{name: "host and command", args: []string{"h", "echo", "hi"}, host: "h", cmd: "echo hi"},
	{name: "command words joined by single spaces", args: []string{"h", "a  b", "", "c"}, host: "h", cmd: "a  b  c"},
	{name: "bundled tt", args: []string{"-tt", "h"}, host: "h", check: func(o *Options) bool { return o.TTY == TTYForce }},
	{name: "separate t t", args: []string{"-t", "-t", "h"}, host: "h", check: func(o *Options) bool { return o.TTY == TTYForce }},
	{name: "T then t: last wins", args: []string{"-T", "-t", "h"}, check: func(o *Options) bool { return o.TTY == TTYYes }},
	{name: "tt then T: last wins", args: []string{"-tt", "-T", "h"}, check: func(o *Options) bool { return o.TTY == TTYNo }},
	{name: "RequestTTY yes then t is force", args: []string{"-o", "RequestTTY=yes", "-t", "h"}, cfg: map[string][]string{"requesttty": {"force"}}, check: func(o *Options) bool { return o.TTY == TTYForce }},
	{name: "vvv", args: []string{"-vvv", "h"}, cfg: map[string][]string{"loglevel": {"debug3"}}, check: func(o *Options) bool { return o.Verbose == 3 }},
	{name: "v counts beyond debug3", args: []string{"-vvvv", "h"}, cfg: map[string][]string{"loglevel": {"debug3"}}, check: func(o *Options) bool { return o.Verbose == 4 }},
	{name: "q", args: []string{"-q", "h"}, cfg: map[string][]string{"loglevel": {"quiet"}}, check: func(o *Options) bool { return o.Quiet }},
	{name: "q then v", args: []string{"-q", "-v", "h"}, cfg: map[string][]string{"loglevel": {"debug1"}}, check: func(o *Options) bool { return !o.Quiet && o.Verbose == 1 }},
	{name: "v overrides LogLevel", args: []string{"-o", "LogLevel=error", "-v", "h"}, cfg: map[string][]string{"loglevel": {"debug1"}}},
	{name: "LogLevel after v ignored", args: []string{"-v", "-o", "LogLevel=error", "h"}, cfg: map[string][]string{"loglevel": {"debug1"}}},
	{name: "port bundled", args: []string{"-p22", "h"}, cfg: map[string][]string{"port": {"22"}}},
	{name: "o bundled", args: []string{"-oPort=1", "h"}, cfg: map[string][]string{"port": {"1"}}},
	{name: "flag bundle with argument", args: []string{"-Cp", "2200", "h"}, cfg: map[string][]string{"compression": {"yes"}, "port": {"2200"}}},
	{name: "restart after destination", args: []string{"h", "-p", "2500", "-l", "after", "echo", "hi"}, host: "h", cmd: "echo hi", cfg: map[string][]string{"port": {"2500"}, "user": {"after"}}},
	{name: "no permutation after command", args: []string{"h", "echo", "-p", "1"}, host: "h", cmd: "echo -p 1", cfg: map[string][]string{"port": absent}},
	{name: "second operand is command", args: []string{"h1", "h2", "-x"}, host: "h1", cmd: "h2 -x"},
	{name: "double dash before destination", args: []string{"-l", "u", "--", "h", "-p", "1"}, host: "h", cmd: "-p 1", cfg: map[string][]string{"port": absent, "user": {"u"}}},
	{name: "double dash after destination", args: []string{"h", "--", "-p", "1"}, host: "h", cmd: "-p 1", cfg: map[string][]string{"port": absent}},
	{name: "double dash with host starting dash", args: []string{"--", "-h"}, wantErr: "hostname contains invalid characters"},
	{name: "lone dash is an operand", args: []string{"-"}, wantErr: "hostname contains invalid characters"},
	{name: "dash at bundle end stops", args: []string{"-a-"}, wantErr: "hostname contains invalid characters"},
	{name: "long option", args: []string{"--foo", "h"}, wantErr: "unknown option -- -", usage: true},
	{name: "unknown option", args: []string{"-z"}, wantErr: "unknown option -- z", usage: true},
	{name: "unknown option after destination", args: []string{"h", "-Z"}, wantErr: "unknown option -- Z", usage: true},
	{name: "colon is not an option", args: []string{"-:", "h"}, wantErr: "unknown option -- :", usage: true},
	{name: "missing argument", args: []string{"h", "-p"}, wantErr: "option requires an argument -- p", usage: true},
	{name: "missing o argument", args: []string{"-o"}, wantErr: "option requires an argument -- o", usage: true},
	{name: "argument may be empty word", args: []string{"-l", "", "h"}, cfg: map[string][]string{"user": {""}}},
	{name: "argument may look like an option", args: []string{"-l", "-p", "h"}, wantErr: "remote username contains invalid characters"},
	{name: "no destination", args: nil, usage: true},
	{name: "no destination after options", args: []string{"-v", "-p", "22"}, usage: true},
	{name: "G needs a host", args: []string{"-G"}, usage: true},
	{name: "G with host", args: []string{"-G", "-p", "2222", "u@h5"}, host: "h5", check: func(o *Options) bool { return o.DumpConfig }},
	{name: "V alone", args: []string{"-V"}, check: func(o *Options) bool { return o.Version && o.Host == "" }},
	{name: "V stops scanning", args: []string{"-V", "-z"}, check: func(o *Options) bool { return o.Version }},
	{name: "error before V", args: []string{"-z", "-V"}, wantErr: "unknown option -- z", usage: true},
	{name: "Q needs no host", args: []string{"-Q", "key"}, check: func(o *Options) bool { return o.Query == "key" }},
	{name: "Q case-insensitive name", args: []string{"-Q", "kexalgorithms"}, check: func(o *Options) bool { return o.Query == "kexalgorithms" }},
	{name: "Q stops scanning", args: []string{"-Q", "cipher", "-z"}, check: func(o *Options) bool { return o.Query == "cipher" }},
	{name: "Q unsupported", args: []string{"-Q", "bogus"}, wantErr: `Unsupported query "bogus"`},
	{name: "protocol 1 refused", args: []string{"-1", "h"}, wantErr: "SSH protocol v.1 is no longer supported"},
	{name: "protocol 2 ignored", args: []string{"-2", "h"}, host: "h"},
	{name: "y and E", args: []string{"-y", "-E", "/tmp/log", "h"}, wantErr: "Can't specify both -y and -E"},
	{name: "E and F last wins", args: []string{"-E", "a", "-E", "b", "-F", "c", "-F", "d", "h"}, check: func(o *Options) bool { return o.LogFile == "b" && o.ConfigFile == "d" }},

	// Destinations.
	{name: "user at host", args: []string{"u@h"}, host: "h", cfg: map[string][]string{"user": {"u"}}},
	{name: "last at splits", args: []string{"a@b@host"}, host: "host", cfg: map[string][]string{"user": {"a@b"}}},
	{name: "leading at", args: []string{"@h"}, usage: true},
	{name: "empty host accepted", args: []string{"u@"}, cfg: map[string][]string{"user": {"u"}}, check: func(o *Options) bool { return o.Host == "" }},
	{name: "bracketed v6", args: []string{"u@[::1]"}, host: "::1", cfg: map[string][]string{"user": {"u"}}},
	{name: "plain v6", args: []string{"::1"}, host: "::1"},
	{name: "uri", args: []string{"ssh://u@h:2200"}, host: "h", cfg: map[string][]string{"user": {"u"}, "port": {"2200"}}},
	{name: "uri decoded user and params", args: []string{"ssh://a%40b;x=y@h"}, host: "h", cfg: map[string][]string{"user": {"a@b"}}},
	{name: "uri plus is space", args: []string{"ssh://a+b@h./"}, host: "h", cfg: map[string][]string{"user": {"a b"}}},
	{name: "uri trailing slash only", args: []string{"ssh://h:22/"}, host: "h", cfg: map[string][]string{"port": {"22"}}},
	{name: "uri path refused", args: []string{"ssh://u@h/path"}, usage: true},
	{name: "uri v6 refused", args: []string{"ssh://u@[::1]:22"}, usage: true},
	{name: "uri empty user", args: []string{"ssh://@h"}, usage: true},
	{name: "uri bad escape", args: []string{"ssh://a%zz@h"}, usage: true},
	{name: "uri nul escape", args: []string{"ssh://a%00b@h"}, usage: true},
	{name: "uri bad port", args: []string{"ssh://h:0"}, usage: true},
	{name: "uri scheme is case-sensitive", args: []string{"SSH://h"}, host: "SSH://h"},
	{name: "host metachar", args: []string{"a;b"}, wantErr: "hostname contains invalid characters"},
	{name: "host backquote", args: []string{"a`b"}, wantErr: "hostname contains invalid characters"},
	{name: "host comma", args: []string{"a,b"}, wantErr: "hostname contains invalid characters"},
	{name: "host space", args: []string{"a b"}, wantErr: "hostname contains invalid characters"},
	{name: "host control", args: []string{"a\x01b"}, wantErr: "hostname contains invalid characters"},
	{name: "host glob chars fine", args: []string{"a!b*"}, host: "a!b*"},
	{name: "user metachar", args: []string{"a;b@h"}, wantErr: "remote username contains invalid characters"},
	{name: "user checked before host", args: []string{"-l", "a;b", "c;d"}, wantErr: "remote username contains invalid characters"},
	{name: "user leading dash", args: []string{"-l", "-x", "h"}, wantErr: "remote username contains invalid characters"},
	{name: "user space dash", args: []string{"-l", "a -b", "h"}, wantErr: "remote username contains invalid characters"},
	{name: "user trailing backslash", args: []string{"-l", `a\`, "h"}, wantErr: "remote username contains invalid characters"},
	{name: "user dollar fine", args: []string{"-l", "a$b", "h"}, cfg: map[string][]string{"user": {"a$b"}}},
	{name: "nul ends an argument", args: []string{"h\x00;x"}, host: "h"},

	// First value wins for user and port.
	{name: "l before destination user", args: []string{"-l", "x", "u@h"}, cfg: map[string][]string{"user": {"x"}}},
	{name: "destination user before l", args: []string{"u@h", "-l", "x"}, cfg: map[string][]string{"user": {"u"}}},
	{name: "o User before destination", args: []string{"-oUser=x", "u@h"}, cfg: map[string][]string{"user": {"x"}}},
	{name: "o User before l", args: []string{"-o", "User x", "-l", "y", "h"}, cfg: map[string][]string{"user": {"x"}}},
	{name: "p before uri port", args: []string{"-p", "2222", "ssh://u@h:2200"}, cfg: map[string][]string{"port": {"2222"}}},
	{name: "o Port before p", args: []string{"-o", "Port=2400", "-p", "2222", "h"}, cfg: map[string][]string{"port": {"2400"}}},
	{name: "bad port", args: []string{"-p", "abc", "h"}, wantErr: "Bad port 'abc'"},
	{name: "port zero", args: []string{"-p", "0", "h"}, wantErr: "Bad port '0'"},
	{name: "port too big", args: []string{"-p", "65536", "h"}, wantErr: "Bad port '65536'"},
	{name: "second p not checked", args: []string{"-p", "22", "-p", "abc", "h"}, cfg: map[string][]string{"port": {"22"}}},
	{name: "port service name", args: []string{"-p", "ssh", "h"}, cfg: map[string][]string{"port": {"22"}}},
	{name: "o Port bad", args: []string{"-o", "Port=abc", "h"}, wantErr: "command-line line 0: Bad port 'abc'."},
	{name: "o Port always checked", args: []string{"-p", "22", "-o", "Port=0x10", "h"}, wantErr: "command-line line 0: Bad port '0x10'."},

	// Flags that map to keywords.
	{name: "flag keywords", args: []string{"-A", "-C", "-4", "-g", "-K", "-X", "-b", "1.2.3.4", "-B", "eth0", "-S", "/s", "-I", "pk", "-e", "^A", "-c", "aes128-ctr", "-m", "hmac-sha1", "h"},
		cfg: map[string][]string{"forwardagent": {"yes"}, "compression": {"yes"}, "addressfamily": {"inet"}, "gatewayports": {"yes"}, "gssapiauthentication": {"yes"}, "gssapidelegatecredentials": {"yes"}, "forwardx11": {"yes"}, "bindaddress": {"1.2.3.4"}, "bindinterface": {"eth0"}, "controlpath": {"/s"}, "pkcs11provider": {"pk"}, "escapechar": {"^A"}, "ciphers": {"aes128-ctr"}, "macs": {"hmac-sha1"}}},
	{name: "direct flags overwrite", args: []string{"-o", "ForwardAgent=yes", "-a", "-o", "AddressFamily=inet", "-6", "-X", "-x", "-K", "-k", "h"},
		cfg: map[string][]string{"forwardagent": {"no"}, "addressfamily": {"inet6"}, "forwardx11": {"no"}, "gssapidelegatecredentials": {"no"}}},
	{name: "Y", args: []string{"-Y", "h"}, cfg: map[string][]string{"forwardx11": {"yes"}, "forwardx11trusted": {"yes"}}},
	{name: "M and MM", args: []string{"-M", "h"}, cfg: map[string][]string{"controlmaster": {"yes"}}},
	{name: "MM is ask", args: []string{"-MM", "h"}, cfg: map[string][]string{"controlmaster": {"ask"}}},
	{name: "S last wins", args: []string{"-S", "a", "-S", "none", "h"}, cfg: map[string][]string{"controlpath": {"none"}}},
	{name: "identity files append", args: []string{"-i", "/a", "-i", "/b", "-i", "/a", "-o", "IdentityFile=/a", "h"}, cfg: map[string][]string{"identityfile": {"/a", "/b", "/a"}}},
	{name: "forwards", args: []string{"-L", "8080:h:80", "-o", "LocalForward 8080 h:80", "-L", "[::1]:81:[::2]:82", "-L", "/tmp/a:/tmp/b", "-R", "0:h:80", "-R", "1234", "-D", "1080", "-D", "[::1]:1081", "h"},
		cfg: map[string][]string{"localforward": {"8080 [h]:80", "[::1]:81 [::2]:82", "/tmp/a /tmp/b"}, "remoteforward": {"0 [h]:80", "1234"}, "dynamicforward": {"1080", "[::1]:1081"}}},
	{name: "bad local forward", args: []string{"-L", "bad", "h"}, wantErr: "Bad local forwarding specification 'bad'"},
	{name: "bad remote forward", args: []string{"-R", "bad:", "h"}, wantErr: "Bad remote forwarding specification 'bad:'"},
	{name: "bad dynamic forward", args: []string{"-D", "a:b", "h"}, wantErr: "Bad dynamic forwarding specification 'a:b'"},
	{name: "local forward port zero", args: []string{"-L", "0:h:80", "h"}, wantErr: "Bad local forwarding specification '0:h:80'"},
	{name: "tunnel", args: []string{"-w", "1:any", "h"}, cfg: map[string][]string{"tunnel": {"yes"}, "tunneldevice": {"1:any"}}},
	{name: "tunnel keeps Tunnel", args: []string{"-o", "Tunnel=ethernet", "-w", "any", "h"}, cfg: map[string][]string{"tunnel": {"ethernet"}}},
	{name: "bad tun", args: []string{"-w", "x", "h"}, wantErr: "Bad tun device 'x'"},
	{name: "bad escape", args: []string{"-e", "xx", "h"}, wantErr: "Bad escape character 'xx'."},
	{name: "cipher plus", args: []string{"-c", "+aes128-cbc", "h"}, cfg: map[string][]string{"ciphers": {"+aes128-cbc"}}},
	{name: "cipher minus refused", args: []string{"-c", "-aes128-ctr", "h"}, wantErr: "Unknown cipher type '-aes128-ctr'"},
	{name: "cipher empty refused", args: []string{"-c", "", "h"}, wantErr: "Unknown cipher type ''"},
	{name: "mac unknown", args: []string{"-m", "bogus", "h"}, wantErr: "Unknown mac type 'bogus'"},
	{name: "P tag first wins", args: []string{"-P", "a", "-P", "b", "h"}, cfg: map[string][]string{"tag": {"a"}}},
	{name: "y", args: []string{"-y", "h"}, check: func(o *Options) bool { return o.Syslog }},
	{name: "n and f", args: []string{"-f", "h", "true"}, cfg: map[string][]string{"stdinnull": {"yes"}, "forkafterauthentication": {"yes"}}, check: func(o *Options) bool { return o.NoStdin && o.Background }},
	{name: "n overrides StdinNull", args: []string{"-o", "StdinNull=no", "-n", "h"}, check: func(o *Options) bool { return o.NoStdin }},
	{name: "N implies T", args: []string{"-tt", "-N", "h"}, cfg: map[string][]string{"sessiontype": {"none"}, "requesttty": {"no"}}, check: func(o *Options) bool { return o.NoCommand && o.TTY == TTYNo }},
	{name: "N then s", args: []string{"-N", "-s", "h", "x"}, wantErr: "Cannot specify -s with -N/SessionType"},
	{name: "s then N", args: []string{"-s", "-N", "h"}, wantErr: "Cannot specify -N with -s/SessionType"},
	{name: "SessionType then s", args: []string{"-o", "SessionType=default", "-s", "h", "x"}, wantErr: "Cannot specify -s with -N/SessionType"},
	{name: "s needs a command", args: []string{"-s", "h"}, wantErr: "You must specify a subsystem to invoke.", usage: true},
	{name: "SessionType subsystem", args: []string{"-oSessionType=subsystem", "h", "sftp"}, check: func(o *Options) bool { return o.Subsystem }},
	{name: "W", args: []string{"-W", "h2:22", "h"}, cfg: map[string][]string{"sessiontype": {"none"}, "requesttty": {"no"}}, check: func(o *Options) bool { return o.StdioForward == "h2:22" && o.NoCommand }},
	{name: "W twice", args: []string{"-W", "a:1", "-W", "b:2", "h"}, wantErr: "stdio forward already specified"},
	{name: "W port only leaves no forward", args: []string{"-W", "1234", "-W", "b:2", "h"}, check: func(o *Options) bool { return o.StdioForward == "b:2" }},
	{name: "bad W", args: []string{"-W", "x", "h"}, wantErr: "Bad stdio forwarding specification 'x'"},
	{name: "W then O", args: []string{"-W", "a:1", "-O", "check", "h"}, wantErr: "Cannot specify multiplexing command with -W"},
	{name: "O then W", args: []string{"-O", "check", "-W", "a:1", "h"}, wantErr: "Cannot specify stdio forward with -O"},
	{name: "O", args: []string{"-O", "exit", "h"}, check: func(o *Options) bool { return o.ControlCommand == "exit" }},
	{name: "O needs host", args: []string{"-O", "check"}, usage: true},
	{name: "O twice", args: []string{"-O", "check", "-O", "exit", "h"}, wantErr: "Multiplexing command already specified"},
	{name: "O bogus", args: []string{"-O", "bogus", "h"}, wantErr: "Invalid multiplex command."},
	{name: "J", args: []string{"-J", "u@j:22", "h"}, cfg: map[string][]string{"proxyjump": {"u@j:22"}, "proxycommand": {"none"}}},
	{name: "J cut at whitespace", args: []string{"-J", "a b", "h"}, cfg: map[string][]string{"proxyjump": {"a"}}},
	{name: "J twice", args: []string{"-J", "a", "-J", "b", "h"}, wantErr: "Only a single -J option is permitted (use commas to separate multiple jump hops)"},
	{name: "ProxyJump then J", args: []string{"-o", "ProxyJump=a", "-J", "b", "h"}, wantErr: "Only a single -J option is permitted (use commas to separate multiple jump hops)"},
	{name: "ProxyCommand then J", args: []string{"-o", "ProxyCommand=x", "-J", "b", "h"}, wantErr: "Cannot specify -J with ProxyCommand"},
	{name: "J then ProxyCommand ignored", args: []string{"-J", "b", "-o", "ProxyCommand=x", "h"}, cfg: map[string][]string{"proxycommand": {"none"}}},
	{name: "J bad port", args: []string{"-J", "a,b:x", "h"}, wantErr: "Invalid -J argument"},
	{name: "J bad host", args: []string{"-J", "a;b", "h"}, wantErr: "parse_jump: invalid hostname \"a;b\"\nInvalid -J argument"},
	{name: "J bad user", args: []string{"-J", "u;x@h", "h"}, wantErr: "parse_jump: invalid username \"u;x\"\nInvalid -J argument"},
	{name: "J control char", args: []string{"-J", "a\x01b", "h"}, wantErr: "parse_jump: invalid hostname \"a\x01b\"\nInvalid -J argument"}, // raw: escaped where it is printed, as ssh's log does

	// -o lines.
	{name: "o forms", args: []string{"-o", "User=a", "-oPort 23", "-o", "ForwardX11 = no", "-o", `HostKeyAlias="x y"`, "h"},
		cfg: map[string][]string{"user": {"a"}, "port": {"23"}, "forwardx11": {"no"}, "hostkeyalias": {"x y"}}},
	{name: "o keyword case and quotes", args: []string{"-o", `po"rt" 23`, "h"}, cfg: map[string][]string{"port": {"23"}}},
	{name: "o double equals", args: []string{"-o", "Port==25", "h"}, wantErr: "command-line line 0: Bad port '=25'."},
	{name: "o unknown", args: []string{"-o", "bogus=1", "h"}, wantErr: "command-line: line 0: Bad configuration option: bogus"},
	{name: "o unknown lowercased", args: []string{"-o", "BoGus yes", "h"}, wantErr: "command-line: line 0: Bad configuration option: bogus"},
	{name: "o no argument", args: []string{"-o", "ControlPersist"}, wantErr: `command-line line 0: no argument after keyword "controlpersist"`},
	{name: "o no argument before unknown", args: []string{"-o", "bogus", "h"}, wantErr: `command-line line 0: no argument after keyword "bogus"`},
	{name: "o extra arguments", args: []string{"-o", "Port 22 33", "h"}, wantErr: "command-line line 0: keyword port extra arguments at end of line"},
	{name: "o invalid quotes", args: []string{"-o", `Port "22`, "h"}, wantErr: "command-line line 0: invalid quotes"},
	{name: "o comment only", args: []string{"-o", "#Port=abc", "h"}, cfg: map[string][]string{"port": absent}},
	{name: "o empty", args: []string{"-o", "", "h"}, host: "h"},
	{name: "o unmatched keyword quote ignored", args: []string{"-o", `"Port`, "h"}, cfg: map[string][]string{"port": absent}},
	{name: "o value comment", args: []string{"-o", "Port=#x", "h"}, wantErr: "command-line line 0: Missing argument."},
	{name: "o first wins", args: []string{"-o", "HostName=a", "-o", "HostName=b", "h"}, cfg: map[string][]string{"hostname": {"a"}}},
	{name: "o alias shares key", args: []string{"-o", "SetupTimeOut=5", "-o", "ServerAliveInterval=10", "-o", "PubkeyAcceptedKeyTypes=ssh-ed25519", "h"}, cfg: map[string][]string{"serveraliveinterval": {"5"}, "pubkeyacceptedalgorithms": {"ssh-ed25519"}}},
	{name: "o deprecated accepted", args: []string{"-o", "Protocol=1", "-o", "UseRoaming=no", "-o", "Cipher=3des", "h"}, host: "h", cfg: map[string][]string{"protocol": absent}},
	{name: "o unsupported warns", args: []string{"-o", "RSAAuthentication=yes", "h"}, check: func(o *Options) bool { return len(o.Warnings) == 1 }},
	{name: "o tag", args: []string{"-o", "Tag=x", "h"}, cfg: map[string][]string{"tag": {"x"}}},
	{name: "o Host refused", args: []string{"-o", "Host x", "h"}, wantErr: "Host directive not supported as a command-line option"},
	{name: "o Match refused", args: []string{"-o", "Match all", "h"}, wantErr: "Host directive not supported as a command-line option"},
	{name: "o Include refused", args: []string{"-o", "Include x", "h"}, wantErr: "Include directive not supported as a command-line option"},
	{name: "o IgnoreUnknown", args: []string{"-o", "IgnoreUnknown=Foo*", "-o", "foobar 1", "h"}, host: "h"},
	{name: "o flag normalised", args: []string{"-o", "BatchMode=TRUE", "-o", "StrictHostKeyChecking=off", "h"}, cfg: map[string][]string{"batchmode": {"yes"}, "stricthostkeychecking": {"no"}}},
	{name: "o flag bad", args: []string{"-o", "BatchMode=maybe", "h"}, wantErr: `command-line line 0: unsupported option "maybe".`},
	{name: "o multi-valued append", args: []string{"-o", "SendEnv=LANG LC_*", "-o", "SendEnv=X", "-o", "CertificateFile=/a", "-o", "CertificateFile=/b", "-o", "CertificateFile=/a", "h"},
		cfg: map[string][]string{"sendenv": {"LANG", "LC_*", "X"}, "certificatefile": {"/a", "/b"}}},
	{name: "o SendEnv removal", args: []string{"-o", "SendEnv=A LC_X LC_Y", "-o", "SendEnv=-LC_*", "h"}, cfg: map[string][]string{"sendenv": {"A"}}},
	{name: "o SendEnv with equals", args: []string{"-o", "SendEnv=A=B", "h"}, wantErr: "command-line line 0: Invalid environment name."},
	{name: "o SetEnv first line wins", args: []string{"-o", "SetEnv=A=1", "-o", "SetEnv B=2 C=3", "h"}, cfg: map[string][]string{"setenv": {"A=1"}}},
	{name: "o SetEnv bad", args: []string{"-o", "SetEnv=A", "h"}, wantErr: "command-line line 0: Invalid SetEnv."},
	{name: "o known hosts files together", args: []string{"-o", "UserKnownHostsFile a b", "-o", "UserKnownHostsFile c", "h"}, cfg: map[string][]string{"userknownhostsfile": {"a", "b"}}},
	{name: "o command keeps raw text", args: []string{"-o", `RemoteCommand= ls  "-l"`, "h"}, cfg: map[string][]string{"remotecommand": {`ls  "-l"`}}},
	{name: "o ProxyJump sets ProxyCommand none", args: []string{"-o", "ProxyJump=a,b", "h"}, cfg: map[string][]string{"proxyjump": {"a,b"}, "proxycommand": {"none"}}},
	{name: "o ProxyJump none", args: []string{"-o", "ProxyJump=none", "-o", "ProxyCommand=x", "h"}, cfg: map[string][]string{"proxyjump": {"none"}, "proxycommand": {"x"}}},
	{name: "o ProxyJump invalid", args: []string{"-o", "ProxyJump -x", "h"}, wantErr: "parse_jump: invalid hostname \"-x\"\ncommand-line line 0: Invalid ProxyJump \"-x\""},
	{name: "o forwards", args: []string{"-o", "LocalForward=8080 localhost:80", "-o", "RemoteForward=8080", "-o", "DynamicForward=[::1]:5", "h"},
		cfg: map[string][]string{"localforward": {"8080 [localhost]:80"}, "remoteforward": {"8080"}, "dynamicforward": {"[::1]:5"}}},
	{name: "o LocalForward without target", args: []string{"-o", "LocalForward 8080", "h"}, wantErr: "command-line line 0: Missing target argument."},
	{name: "o time", args: []string{"-o", "ConnectTimeout=1h30m", "h"}, cfg: map[string][]string{"connecttimeout": {"1h30m"}}},
	{name: "o time bad", args: []string{"-o", "ConnectTimeout=x", "h"}, wantErr: "command-line line 0: invalid time value."},
	{name: "o int bad", args: []string{"-o", "ServerAliveCountMax=-1", "h"}, wantErr: "command-line line 0: integer value too small."},
	{name: "o int invalid", args: []string{"-o", "ServerAliveCountMax=1x", "h"}, wantErr: "command-line line 0: integer value invalid."},
	{name: "o ControlPersist", args: []string{"-o", "ControlMaster=auto", "-o", "ControlPersist=60s", "h"}, cfg: map[string][]string{"controlmaster": {"auto"}, "controlpersist": {"60s"}}},
	{name: "o ControlPersist bad", args: []string{"-o", "ControlPersist=x", "h"}, wantErr: "command-line line 0: Bad ControlPersist argument."},
	{name: "o ciphers", args: []string{"-o", "Ciphers=aes128-ctr,bogus", "h"}, wantErr: "command-line line 0: Bad SSH2 cipher spec 'aes128-ctr,bogus'."},
	{name: "o kex", args: []string{"-o", "KexAlgorithms=x", "h"}, wantErr: "Unsupported KEX algorithm \"x\"\ncommand-line line 0: Bad SSH2 KexAlgorithms 'x'."},
	{name: "o key types wildcard", args: []string{"-o", "HostKeyAlgorithms=ssh-ed*", "h"}, cfg: map[string][]string{"hostkeyalgorithms": {"ssh-ed*"}}},
	{name: "o CA wildcards, plain keys only", args: []string{"-o", "CASignatureAlgorithms=ssh-ed*,rsa*", "h"}, cfg: map[string][]string{"casignaturealgorithms": {"ssh-ed*,rsa*"}}},
	{name: "o appended key wildcard", args: []string{"-o", "PubkeyAcceptedAlgorithms=+ssh-rsa*", "h"}, cfg: map[string][]string{"pubkeyacceptedalgorithms": {"+ssh-rsa*"}}},
	{name: "o key types bad", args: []string{"-o", "HostKeyAlgorithms=foo*", "h"}, wantErr: "command-line line 0: Bad key types 'foo*'."},
	{name: "o loglevel", args: []string{"-o", "LogLevel=DEBUG", "h"}, cfg: map[string][]string{"loglevel": {"debug1"}}},
	{name: "o loglevel bad", args: []string{"-o", "LogLevel=loud", "h"}, wantErr: "command-line line 0: unsupported log level 'loud'"},
	{name: "o AddKeysToAgent", args: []string{"-o", "AddKeysToAgent=confirm 5m", "h"}, cfg: map[string][]string{"addkeystoagent": {"confirm", "5m"}}},
	{name: "o ForwardAgent path", args: []string{"-o", "ForwardAgent=/tmp/sock", "h"}, cfg: map[string][]string{"forwardagent": {"/tmp/sock"}}},
	{name: "o fingerprint", args: []string{"-o", "FingerprintHash=sha224", "h"}, wantErr: `command-line line 0: Invalid hash algorithm "sha224".`},

	// Captured argv from real callers (ssh-callers.md).
	{name: "rsync", args: []string{"-l", "u", "h4", "rsync", "--server", "-logDtpre.iLsfxCIvu", ".", `/path\ with\ space/`}, host: "h4", cmd: `rsync --server -logDtpre.iLsfxCIvu . /path\ with\ space/`, cfg: map[string][]string{"user": {"u"}}},
	{name: "rsync sudo path", args: []string{"-l", "u", "h5", "sudo -u root rsync", "--server", "-logDtpre.iLsfxCIvu", ".", "/d"}, host: "h5", cmd: "sudo -u root rsync --server -logDtpre.iLsfxCIvu . /d"},
	{name: "rsync -6", args: []string{"-l", "u", "-6", "h", "rsync", "--server", "-logDtpre.iLsfxCIvu", ".", "/d"}, host: "h", cfg: map[string][]string{"addressfamily": {"inet6"}}},
	{name: "rsync two -l", args: []string{"-l", "dave", "-l", "eve", "h3", "rsync"}, host: "h3", cmd: "rsync", cfg: map[string][]string{"user": {"dave"}}},
	{name: "scp sftp mode", args: []string{"-x", "-oPermitLocalCommand=no", "-oClearAllForwardings=yes", "-oRemoteCommand=none", "-oRequestTTY=no", "-oForwardAgent=no", "-l", "alice", "-s", "--", "example.com", "sftp"},
		host: "example.com", cmd: "sftp", cfg: map[string][]string{"user": {"alice"}, "forwardx11": {"no"}, "permitlocalcommand": {"no"}, "clearallforwardings": {"yes"}, "remotecommand": {"none"}, "requesttty": {"no"}, "forwardagent": {"no"}},
		check: func(o *Options) bool { return o.Subsystem && o.TTY == TTYNo }},
	{name: "scp -O mode", args: []string{"-x", "-oPermitLocalCommand=no", "-oClearAllForwardings=yes", "-oRemoteCommand=none", "-oRequestTTY=no", "-oForwardAgent=no", "-l", "alice", "--", "example.com", "scp -t /tmp/x"},
		host: "example.com", cmd: "scp -t /tmp/x", check: func(o *Options) bool { return !o.Subsystem }},
	{name: "scp many options", args: []string{"-x", "-oPermitLocalCommand=no", "-oClearAllForwardings=yes", "-oRemoteCommand=none", "-oRequestTTY=no", "-C", "-q", "-o", "StrictHostKeyChecking=no", "-i", "/dev/null", "-oForwardAgent=no", "-p", "2222", "-l", "bob", "-s", "--", "h2", "sftp"},
		host: "h2", cmd: "sftp", cfg: map[string][]string{"port": {"2222"}, "user": {"bob"}, "identityfile": {"/dev/null"}, "stricthostkeychecking": {"no"}, "compression": {"yes"}}, check: func(o *Options) bool { return o.Quiet && o.Subsystem }},
	{name: "sftp spaced options", args: []string{"-oForwardX11 no", "-oPermitLocalCommand no", "-oClearAllForwardings yes", "-i", "/dev/null", "-o", "StrictHostKeyChecking=no", "-C", "-v", "-obatchmode yes", "-oForwardAgent no", "-oPort 2222", "-l", "bob", "-s", "--", "h2", "sftp"},
		host: "h2", cmd: "sftp", cfg: map[string][]string{"forwardx11": {"no"}, "batchmode": {"yes"}, "port": {"2222"}, "user": {"bob"}, "loglevel": {"debug1"}}, check: func(o *Options) bool { return o.Subsystem && o.Verbose == 1 }},
	{name: "sftp -s path", args: []string{"-oForwardX11 no", "-l", "bob", "--", "h2", "/usr/lib/openssh/sftp-server"}, host: "h2", cmd: "/usr/lib/openssh/sftp-server", check: func(o *Options) bool { return !o.Subsystem }},
	{name: "git", args: []string{"-o", "SendEnv=GIT_PROTOCOL", "alice@example.com", "git-upload-pack 'repo.git'"}, host: "example.com", cmd: "git-upload-pack 'repo.git'", cfg: map[string][]string{"sendenv": {"GIT_PROTOCOL"}, "user": {"alice"}}},
	{name: "git port", args: []string{"-o", "SendEnv=GIT_PROTOCOL", "-p", "2222", "alice@example.com", "git-upload-pack '/srv/repo.git'"}, host: "example.com", cfg: map[string][]string{"port": {"2222"}}},
	{name: "git push", args: []string{"carol@h3", "git-receive-pack '/srv/r.git'"}, host: "h3", cmd: "git-receive-pack '/srv/r.git'", cfg: map[string][]string{"user": {"carol"}}},
	{name: "git probe", args: []string{"-G", "-o", "SendEnv=GIT_PROTOCOL", "-p", "2222", "u@h5"}, host: "h5", cfg: map[string][]string{"port": {"2222"}, "user": {"u"}}, check: func(o *Options) bool { return o.DumpConfig && o.Command == "" }},
	{name: "ansible push", args: []string{"-S", "none", "-o", "Port=2222", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-l", "alice", "example.com", "sudo -u root rsync", "--server", "-logDtprze.iLsfxCIvu", "--log-format=%i", "--delay-updates", ".", "/srv/dst/"},
		host: "example.com", cmd: "sudo -u root rsync --server -logDtprze.iLsfxCIvu --log-format=%i --delay-updates . /srv/dst/", cfg: map[string][]string{"controlpath": {"none"}, "port": {"2222"}, "userknownhostsfile": {"/dev/null"}, "user": {"alice"}}},
	{name: "ansible multiplexing", args: []string{"-i", "/root/k.pem", "-o", "Port=2222", "-C", "-o", "ControlMaster=auto", "-o", "ControlPersist=60s", "-o", "ProxyJump=bastion", "-o", "ServerAliveInterval=5", "-l", "alice", "example.com", "sudo -n rsync", "--server"},
		host: "example.com", cmd: "sudo -n rsync --server", cfg: map[string][]string{"identityfile": {"/root/k.pem"}, "controlmaster": {"auto"}, "controlpersist": {"60s"}, "proxyjump": {"bastion"}, "serveraliveinterval": {"5"}}},
	{name: "ansible ControlPersist probe", args: []string{"-o", "ControlPersist"}, wantErr: `command-line line 0: no argument after keyword "controlpersist"`},
	{name: "jump re-exec", args: []string{"-l", "u", "-p", "2200", "-J", "j2", "-F", "/cfg", "-v", "-W", "[target]:22", "j1"}, host: "j1", cfg: map[string][]string{"proxyjump": {"j2"}, "port": {"2200"}}, check: func(o *Options) bool { return o.StdioForward == "[target]:22" && o.ConfigFile == "/cfg" }},
}

func TestParse(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			o, err := Parse(tc.args)
			if tc.wantErr != "" || tc.usage {
				var fe *Error
				if !errors.As(err, &fe) {
					t.Fatalf("Parse(%q) = %+v, %v; want Error %q", tc.args, o, err, tc.wantErr)
				}
				if fe.Msg != tc.wantErr || fe.ShowUsage != tc.usage {
					t.Fatalf("Parse(%q) error = %q usage=%v; want %q usage=%v", tc.args, fe.Msg, fe.ShowUsage, tc.wantErr, tc.usage)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.args, err)
			}
			if tc.host != "" && o.Host != tc.host {
				t.Errorf("Host = %q, want %q", o.Host, tc.host)
			}
			if tc.cmd != "" && o.Command != tc.cmd {
				t.Errorf("Command = %q, want %q", o.Command, tc.cmd)
			}
			for k, want := range tc.cfg {
				got := o.Config.All(k)
				if len(want) == 0 {
					if got != nil {
						t.Errorf("Config[%s] = %q, want unset", k, got)
					}
					continue
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("Config[%s] = %q, want %q", k, got, want)
				}
			}
			if tc.check != nil && !tc.check(o) {
				t.Errorf("check failed for %+v", o)
			}
		})
	}
}

func TestConfigAccessors(t *testing.T) {
	o, err := Parse([]string{"-i", "/a", "-i", "/b", "-oUser=x", "h"})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := o.Config.Get("USER"); !ok || v != "x" {
		t.Errorf(`Get("USER") = %q, %v`, v, ok)
	}
	if v, ok := o.Config.Get("port"); ok || v != "" {
		t.Errorf(`Get("port") = %q, %v; want unset`, v, ok)
	}
	if got := o.Config.All("IdentityFile"); !reflect.DeepEqual(got, []string{"/a", "/b"}) {
		t.Errorf("All(IdentityFile) = %q", got)
	}
	b, err := json.Marshal(o.Config)
	if err != nil {
		t.Fatal(err)
	}
	var back Config
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, o.Config) {
		t.Errorf("JSON round trip: %s -> %v, %v", b, back, err)
	}
}

func TestUsageText(t *testing.T) {
	lines := strings.Split(Usage, "\n")
	if len(lines) != 7 || !strings.HasPrefix(lines[0], "usage: ssh [-46AaCfGgKkMNnqsTtVvXxYy]") ||
		!strings.HasSuffix(lines[6], "destination [command [argument ...]]") {
		t.Errorf("Usage has %d lines: %q", len(lines), Usage)
	}
}

func TestMitogenKeys(t *testing.T) {
	opts, err := Parse([]string{"-o", "Mitogen.Become=sudo:postgres", "-o", "mitogen.container docker app", "-o", "Port=2", "h", "true"})
	if err != nil {
		t.Fatal(err)
	}
	if got := opts.Config.All(MitogenSteps); len(got) != 2 || got[0] != "become sudo:postgres" || got[1] != "container docker app" {
		t.Errorf("steps %q", got)
	}
	if _, err := Parse([]string{"-o", "mitogen.bogus=1", "h"}); err == nil || !strings.Contains(err.Error(), "Bad configuration option: mitogen.bogus") {
		t.Errorf("an unknown mitogen key: %v", err)
	}
}
