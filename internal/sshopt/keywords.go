package sshopt

// Kind says how readconf.c parses a keyword's arguments. flagparse (-o lines) and sshconfig
// (files) both dispatch on it; sshconfig folds the kinds that differ only in how a value is
// checked into its merge classes.
type Kind int

const (
	KIgnore      Kind = iota // oIgnore: accepted silently (Protocol)
	KDeprecated              // oDeprecated: accepted, logged at debug level
	KUnsupported             // oUnsupported: accepted with an error message
	KFlag                    // yes/no
	KMulti                   // one of Multistates[keyword]
	KInt                     // 0..INT_MAX
	KTime                    // convtime or "none"
	KString                  // one argument
	KStrings                 // one or more arguments, stored together; "none" only alone
	KCommand                 // the raw rest of the line
	KPort
	KIdentity
	KCertificate
	KLocalFwd
	KRemoteFwd
	KDynamicFwd
	KCiphers
	KMACs
	KKex
	KGSSKex
	KKeyTypes
	KLogLevel
	KFacility
	KEscape
	KTunDev
	KControlPersist
	KSetEnv
	KSendEnv
	KFingerprint
	KMask
	KJump
	KForwardAgent
	KAddKeys
	KUpTo2 // one or two arguments (IPQoS, RekeyLimit)
	KHost
	KMatch
	KInclude
)

// Keyword is an entry of readconf.c's keywords[]: how its arguments parse, and the canonical
// lowercase name its value is stored under (the keyword itself unless it is an alias).
type Keyword struct {
	Kind Kind
	Name string
}

// LookupKeyword finds a lowercase keyword in the table.
func LookupKeyword(lower string) (Keyword, bool) {
	k, ok := keywords[lower]
	if ok && k.Name == "" {
		k.Name = lower
	}
	return k, ok
}

// keywords is the ONE keyword table, of OpenSSH 9.2p1 as built by Debian 12 (GSSAPI, PKCS#11
// and Debian's keepalive aliases), plus Tag from 9.4 (fakessh accepts -P tag and Tag=
// everywhere, where 9.2 refuses them). Name is set for aliases only.
var keywords = map[string]Keyword{
	"protocol": {KIgnore, ""},

	"cipher": {KDeprecated, ""}, "fallbacktorsh": {KDeprecated, ""},
	"globalknownhostsfile2": {KDeprecated, ""}, "rhostsauthentication": {KDeprecated, ""},
	"userknownhostsfile2": {KDeprecated, ""}, "useroaming": {KDeprecated, ""},
	"usersh": {KDeprecated, ""}, "useprivilegedport": {KDeprecated, ""},
	"useblacklistedkeys": {KDeprecated, ""},

	"afstokenpassing": {KUnsupported, ""}, "kerberosauthentication": {KUnsupported, ""},
	"kerberostgtpassing": {KUnsupported, ""}, "rsaauthentication": {KUnsupported, ""},
	"rhostsrsaauthentication": {KUnsupported, ""}, "compressionlevel": {KUnsupported, ""},

	"gssapiauthentication": {KFlag, ""}, "gssapidelegatecredentials": {KFlag, ""},
	"gssapikeyexchange": {KFlag, ""}, "gssapitrustdns": {KFlag, ""},
	"gssapirenewalforcesrekey": {KFlag, ""}, "gssapiclientidentity": {KString, ""},
	"gssapiserveridentity": {KString, ""}, "gssapikexalgorithms": {KGSSKex, ""},
	"pkcs11provider": {KString, ""}, "smartcarddevice": {KString, "pkcs11provider"},

	"forwardagent": {KForwardAgent, ""}, "forwardx11": {KFlag, ""},
	"forwardx11trusted": {KFlag, ""}, "forwardx11timeout": {KTime, ""},
	"exitonforwardfailure": {KFlag, ""}, "xauthlocation": {KString, ""},
	"gatewayports": {KFlag, ""}, "passwordauthentication": {KFlag, ""},
	"kbdinteractiveauthentication":    {KFlag, ""},
	"kbdinteractivedevices":           {KString, ""},
	"challengeresponseauthentication": {KFlag, "kbdinteractiveauthentication"},
	"skeyauthentication":              {KFlag, "kbdinteractiveauthentication"},
	"tisauthentication":               {KFlag, "kbdinteractiveauthentication"},
	"pubkeyauthentication":            {KMulti, ""},
	"dsaauthentication":               {KMulti, "pubkeyauthentication"},
	"hostbasedauthentication":         {KFlag, ""},
	"identityfile":                    {KIdentity, ""}, "identityfile2": {KIdentity, "identityfile"},
	"identitiesonly": {KFlag, ""}, "certificatefile": {KCertificate, ""},
	"addkeystoagent": {KAddKeys, ""}, "identityagent": {KString, ""},
	"hostname": {KString, ""}, "hostkeyalias": {KString, ""},
	"proxycommand": {KCommand, ""}, "port": {KPort, ""},
	"ciphers": {KCiphers, ""}, "macs": {KMACs, ""},
	"remoteforward": {KRemoteFwd, ""}, "localforward": {KLocalFwd, ""},
	"permitremoteopen": {KStrings, ""}, "user": {KString, ""},
	"host": {KHost, ""}, "match": {KMatch, ""}, "escapechar": {KEscape, ""},
	"globalknownhostsfile": {KStrings, ""}, "userknownhostsfile": {KStrings, ""},
	"connectionattempts": {KInt, ""}, "batchmode": {KFlag, ""},
	"checkhostip": {KFlag, ""}, "stricthostkeychecking": {KMulti, ""},
	"compression": {KMulti, ""}, "tcpkeepalive": {KFlag, ""},
	"keepalive": {KFlag, "tcpkeepalive"}, "numberofpasswordprompts": {KInt, ""},
	"syslogfacility": {KFacility, ""}, "loglevel": {KLogLevel, ""},
	"logverbose": {KStrings, ""}, "dynamicforward": {KDynamicFwd, ""},
	"preferredauthentications": {KString, ""}, "hostkeyalgorithms": {KKeyTypes, ""},
	"casignaturealgorithms": {KKeyTypes, ""}, "bindaddress": {KString, ""},
	"bindinterface": {KString, ""}, "clearallforwardings": {KFlag, ""},
	"enablesshkeysign": {KFlag, ""}, "verifyhostkeydns": {KMulti, ""},
	"nohostauthenticationforlocalhost": {KFlag, ""}, "rekeylimit": {KUpTo2, ""},
	"connecttimeout": {KTime, ""}, "addressfamily": {KMulti, ""},
	"serveraliveinterval": {KTime, ""}, "serveralivecountmax": {KInt, ""},
	"sendenv": {KSendEnv, ""}, "setenv": {KSetEnv, ""},
	"controlpath": {KString, ""}, "controlmaster": {KMulti, ""},
	"controlpersist": {KControlPersist, ""}, "hashknownhosts": {KFlag, ""},
	"include": {KInclude, ""}, "tunnel": {KMulti, ""}, "tunneldevice": {KTunDev, ""},
	"localcommand": {KCommand, ""}, "permitlocalcommand": {KFlag, ""},
	"remotecommand": {KCommand, ""}, "visualhostkey": {KFlag, ""},
	"kexalgorithms": {KKex, ""}, "ipqos": {KUpTo2, ""},
	"requesttty": {KMulti, ""}, "sessiontype": {KMulti, ""},
	"stdinnull": {KFlag, ""}, "forkafterauthentication": {KFlag, ""},
	"proxyusefdpass": {KFlag, ""}, "canonicaldomains": {KStrings, ""},
	"canonicalizefallbacklocal": {KFlag, ""}, "canonicalizehostname": {KMulti, ""},
	"canonicalizemaxdots": {KInt, ""}, "canonicalizepermittedcnames": {KStrings, ""},
	"streamlocalbindmask": {KMask, ""}, "streamlocalbindunlink": {KFlag, ""},
	"revokedhostkeys": {KString, ""}, "fingerprinthash": {KFingerprint, ""},
	"updatehostkeys":              {KMulti, ""},
	"hostbasedacceptedalgorithms": {KKeyTypes, ""},
	"hostbasedkeytypes":           {KKeyTypes, "hostbasedacceptedalgorithms"},
	"pubkeyacceptedalgorithms":    {KKeyTypes, ""},
	"pubkeyacceptedkeytypes":      {KKeyTypes, "pubkeyacceptedalgorithms"},
	"ignoreunknown":               {KString, ""}, "proxyjump": {KJump, ""},
	"securitykeyprovider": {KString, ""}, "knownhostscommand": {KCommand, ""},
	"requiredrsasize": {KInt, ""}, "enableescapecommandline": {KFlag, ""},
	"protocolkeepalives": {KTime, "serveraliveinterval"},
	"setuptimeout":       {KTime, "serveraliveinterval"},
	"tag":                {KString, ""},
}
