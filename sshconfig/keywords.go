package sshconfig

// kind says how a keyword's arguments are parsed and merged; it mirrors the
// labels of the big switch in OpenSSH's readconf.c.
type kind int

const (
	kString  kind = iota // one word, first wins
	kFlag                // yes/no/true/false
	kMulti               // one word out of a fixed set
	kTime                // ssh time format or "none"
	kInt                 // decimal integer
	kPort                // 1..65535
	kWords               // list of words on the first line that is obtained
	kCommand             // rest of line, verbatim
	kJump                // ProxyJump
	kFile                // accumulates: IdentityFile, CertificateFile
	kForward             // accumulates: LocalForward, RemoteForward, DynamicForward
	kSendEnv             // accumulates, "-pattern" removes
	kSetEnv              // NAME=value list, first line wins
	kArgs                // one or two words kept as one value (IPQoS, RekeyLimit)
	kHost
	kMatch
	kInclude
	kIgnore      // accepted silently ("Protocol")
	kDeprecated  // accepted, ssh logs at debug level
	kUnsupported // accepted, ssh prints an error but carries on
)

// keyword is an entry of the table; a kMulti keyword's accepted words are
// sshopt.Multistates[name], a kFlag keyword's sshopt.Multistates["flag"].
type keyword struct {
	name string // canonical name used as the Options key
	kind kind
}

// keywords is OpenSSH 9.2's table plus the Debian additions (GSSAPI key
// exchange, ProtocolKeepAlives, SetupTimeOut, UseBlacklistedKeys), keyed by
// the lowercase spelling a file may use.
var keywords = map[string]keyword{}

func init() {
	add := func(k kind, names ...string) {
		for _, n := range names {
			keywords[n] = keyword{name: n, kind: k}
		}
	}
	alias := func(a, canonical string) {
		keywords[a] = keyword{name: canonical, kind: keywords[canonical].kind}
	}

	add(kFlag, "forwardx11", "forwardx11trusted", "gatewayports", "exitonforwardfailure",
		"passwordauthentication", "kbdinteractiveauthentication", "hostbasedauthentication",
		"gssapiauthentication", "gssapidelegatecredentials", "gssapikeyexchange",
		"gssapirenewalforcesrekey", "gssapitrustdns", "batchmode", "checkhostip",
		"tcpkeepalive", "nohostauthenticationforlocalhost", "enablesshkeysign",
		"identitiesonly", "hashknownhosts", "permitlocalcommand", "visualhostkey",
		"stdinnull", "forkafterauthentication", "proxyusefdpass",
		"canonicalizefallbacklocal", "streamlocalbindunlink", "clearallforwardings",
		"enableescapecommandline")
	add(kMulti, "pubkeyauthentication", "verifyhostkeydns", "updatehostkeys",
		"stricthostkeychecking", "compression", "addressfamily", "controlmaster",
		"tunnel", "requesttty", "sessiontype", "canonicalizehostname")
	add(kTime, "connecttimeout", "forwardx11timeout", "serveraliveinterval")
	add(kInt, "numberofpasswordprompts", "connectionattempts", "serveralivecountmax",
		"canonicalizemaxdots", "requiredrsasize")
	add(kPort, "port")
	add(kString, "xauthlocation", "user", "hostname", "hostkeyalias",
		"preferredauthentications", "bindaddress", "bindinterface", "pkcs11provider",
		"securitykeyprovider", "controlpath", "ignoreunknown", "revokedhostkeys",
		"kbdinteractivedevices", "gssapiclientidentity", "gssapiserveridentity",
		"gssapikexalgorithms", "ciphers", "macs", "kexalgorithms", "hostkeyalgorithms",
		"casignaturealgorithms", "hostbasedacceptedalgorithms", "pubkeyacceptedalgorithms",
		"identityagent", "forwardagent", "escapechar", "loglevel", "syslogfacility",
		"fingerprinthash", "streamlocalbindmask", "tunneldevice", "controlpersist")
	add(kWords, "globalknownhostsfile", "userknownhostsfile", "canonicaldomains",
		"canonicalizepermittedcnames", "logverbose", "permitremoteopen")
	add(kCommand, "proxycommand", "localcommand", "remotecommand", "knownhostscommand")
	add(kJump, "proxyjump")
	add(kFile, "identityfile", "certificatefile")
	add(kForward, "localforward", "remoteforward", "dynamicforward")
	add(kSendEnv, "sendenv")
	add(kSetEnv, "setenv")
	add(kArgs, "ipqos", "rekeylimit", "addkeystoagent")
	add(kHost, "host")
	add(kMatch, "match")
	add(kInclude, "include")
	add(kIgnore, "protocol")
	add(kDeprecated, "cipher", "fallbacktorsh", "globalknownhostsfile2",
		"rhostsauthentication", "userknownhostsfile2", "useroaming", "usersh",
		"useprivilegedport", "useblacklistedkeys")
	add(kUnsupported, "afstokenpassing", "kerberosauthentication", "kerberostgtpassing",
		"rsaauthentication", "rhostsrsaauthentication", "compressionlevel")

	alias("identityfile2", "identityfile")
	alias("challengeresponseauthentication", "kbdinteractiveauthentication")
	alias("skeyauthentication", "kbdinteractiveauthentication")
	alias("tisauthentication", "kbdinteractiveauthentication")
	alias("dsaauthentication", "pubkeyauthentication")
	alias("keepalive", "tcpkeepalive")
	alias("smartcarddevice", "pkcs11provider")
	alias("hostbasedkeytypes", "hostbasedacceptedalgorithms")
	alias("pubkeyacceptedkeytypes", "pubkeyacceptedalgorithms")
	alias("protocolkeepalives", "serveraliveinterval")
	alias("setuptimeout", "serveraliveinterval")
}
