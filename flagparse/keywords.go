package flagparse

// kind says how readconf.c parses a keyword's arguments.
type kind int

const (
	kIgnore      kind = iota // accepted and ignored (deprecated, removed)
	kUnsupported             // accepted with a warning
	kFlag                    // yes/no
	kMulti                   // one of sshopt.Multistates[keyword]
	kInt                     // 0..INT_MAX
	kTime                    // convtime or "none"
	kString                  // one argument
	kStrings                 // one or more arguments, stored together; "none" only alone
	kCommand                 // the raw rest of the line
	kPort
	kIdentity
	kCertificate
	kLocalFwd
	kRemoteFwd
	kDynamicFwd
	kCiphers
	kMACs
	kKex
	kGSSKex
	kKeyTypes
	kLogLevel
	kFacility
	kEscape
	kTunDev
	kControlPersist
	kSetEnv
	kSendEnv
	kFingerprint
	kMask
	kJump
	kForwardAgent
	kAddKeys
	kUpTo2 // one or two arguments (IPQoS, RekeyLimit)
	kHost  // Host and Match: refused on the command line
	kInclude
)

// keyword is an entry of readconf.c's keywords[]; name is the canonical
// Config key when the keyword is an alias.
type keyword struct {
	kind kind
	name string
}

// keywords is the keyword table of OpenSSH 9.2p1 as built by Debian 12
// (GSSAPI, PKCS#11 and Debian's keepalive aliases), plus Tag from 9.4.
var keywords = map[string]keyword{
	"protocol": {kIgnore, ""}, "cipher": {kIgnore, ""}, "fallbacktorsh": {kIgnore, ""},
	"globalknownhostsfile2": {kIgnore, ""}, "rhostsauthentication": {kIgnore, ""},
	"userknownhostsfile2": {kIgnore, ""}, "useroaming": {kIgnore, ""},
	"usersh": {kIgnore, ""}, "useprivilegedport": {kIgnore, ""},
	"useblacklistedkeys": {kIgnore, ""},

	"afstokenpassing": {kUnsupported, ""}, "kerberosauthentication": {kUnsupported, ""},
	"kerberostgtpassing": {kUnsupported, ""}, "rsaauthentication": {kUnsupported, ""},
	"rhostsrsaauthentication": {kUnsupported, ""}, "compressionlevel": {kUnsupported, ""},

	"gssapiauthentication": {kFlag, ""}, "gssapidelegatecredentials": {kFlag, ""},
	"gssapikeyexchange": {kFlag, ""}, "gssapitrustdns": {kFlag, ""},
	"gssapirenewalforcesrekey": {kFlag, ""}, "gssapiclientidentity": {kString, ""},
	"gssapiserveridentity": {kString, ""}, "gssapikexalgorithms": {kGSSKex, ""},
	"pkcs11provider": {kString, ""}, "smartcarddevice": {kString, "pkcs11provider"},

	"forwardagent": {kForwardAgent, ""}, "forwardx11": {kFlag, ""},
	"forwardx11trusted": {kFlag, ""}, "forwardx11timeout": {kTime, ""},
	"exitonforwardfailure": {kFlag, ""}, "xauthlocation": {kString, ""},
	"gatewayports": {kFlag, ""}, "passwordauthentication": {kFlag, ""},
	"kbdinteractiveauthentication":    {kFlag, ""},
	"kbdinteractivedevices":           {kString, ""},
	"challengeresponseauthentication": {kFlag, "kbdinteractiveauthentication"},
	"skeyauthentication":              {kFlag, "kbdinteractiveauthentication"},
	"tisauthentication":               {kFlag, "kbdinteractiveauthentication"},
	"pubkeyauthentication":            {kMulti, ""},
	"dsaauthentication":               {kMulti, "pubkeyauthentication"},
	"hostbasedauthentication":         {kFlag, ""},
	"identityfile":                    {kIdentity, ""}, "identityfile2": {kIdentity, "identityfile"},
	"identitiesonly": {kFlag, ""}, "certificatefile": {kCertificate, ""},
	"addkeystoagent": {kAddKeys, ""}, "identityagent": {kString, ""},
	"hostname": {kString, ""}, "hostkeyalias": {kString, ""},
	"proxycommand": {kCommand, ""}, "port": {kPort, ""},
	"ciphers": {kCiphers, ""}, "macs": {kMACs, ""},
	"remoteforward": {kRemoteFwd, ""}, "localforward": {kLocalFwd, ""},
	"permitremoteopen": {kStrings, ""}, "user": {kString, ""},
	"host": {kHost, ""}, "match": {kHost, ""}, "escapechar": {kEscape, ""},
	"globalknownhostsfile": {kStrings, ""}, "userknownhostsfile": {kStrings, ""},
	"connectionattempts": {kInt, ""}, "batchmode": {kFlag, ""},
	"checkhostip": {kFlag, ""}, "stricthostkeychecking": {kMulti, ""},
	"compression": {kMulti, ""}, "tcpkeepalive": {kFlag, ""},
	"keepalive": {kFlag, "tcpkeepalive"}, "numberofpasswordprompts": {kInt, ""},
	"syslogfacility": {kFacility, ""}, "loglevel": {kLogLevel, ""},
	"logverbose": {kStrings, ""}, "dynamicforward": {kDynamicFwd, ""},
	"preferredauthentications": {kString, ""}, "hostkeyalgorithms": {kKeyTypes, ""},
	"casignaturealgorithms": {kKeyTypes, ""}, "bindaddress": {kString, ""},
	"bindinterface": {kString, ""}, "clearallforwardings": {kFlag, ""},
	"enablesshkeysign": {kFlag, ""}, "verifyhostkeydns": {kMulti, ""},
	"nohostauthenticationforlocalhost": {kFlag, ""}, "rekeylimit": {kUpTo2, ""},
	"connecttimeout": {kTime, ""}, "addressfamily": {kMulti, ""},
	"serveraliveinterval": {kTime, ""}, "serveralivecountmax": {kInt, ""},
	"sendenv": {kSendEnv, ""}, "setenv": {kSetEnv, ""},
	"controlpath": {kString, ""}, "controlmaster": {kMulti, ""},
	"controlpersist": {kControlPersist, ""}, "hashknownhosts": {kFlag, ""},
	"include": {kInclude, ""}, "tunnel": {kMulti, ""}, "tunneldevice": {kTunDev, ""},
	"localcommand": {kCommand, ""}, "permitlocalcommand": {kFlag, ""},
	"remotecommand": {kCommand, ""}, "visualhostkey": {kFlag, ""},
	"kexalgorithms": {kKex, ""}, "ipqos": {kUpTo2, ""},
	"requesttty": {kMulti, ""}, "sessiontype": {kMulti, ""},
	"stdinnull": {kFlag, ""}, "forkafterauthentication": {kFlag, ""},
	"proxyusefdpass": {kFlag, ""}, "canonicaldomains": {kStrings, ""},
	"canonicalizefallbacklocal": {kFlag, ""}, "canonicalizehostname": {kMulti, ""},
	"canonicalizemaxdots": {kInt, ""}, "canonicalizepermittedcnames": {kStrings, ""},
	"streamlocalbindmask": {kMask, ""}, "streamlocalbindunlink": {kFlag, ""},
	"revokedhostkeys": {kString, ""}, "fingerprinthash": {kFingerprint, ""},
	"updatehostkeys":              {kMulti, ""},
	"hostbasedacceptedalgorithms": {kKeyTypes, ""},
	"hostbasedkeytypes":           {kKeyTypes, "hostbasedacceptedalgorithms"},
	"pubkeyacceptedalgorithms":    {kKeyTypes, ""},
	"pubkeyacceptedkeytypes":      {kKeyTypes, "pubkeyacceptedalgorithms"},
	"ignoreunknown":               {kString, ""}, "proxyjump": {kJump, ""},
	"securitykeyprovider": {kString, ""}, "knownhostscommand": {kCommand, ""},
	"requiredrsasize": {kInt, ""}, "enableescapecommandline": {kFlag, ""},
	"protocolkeepalives": {kTime, "serveraliveinterval"},
	"setuptimeout":       {kTime, "serveraliveinterval"},
	"tag":                {kString, ""},
}
