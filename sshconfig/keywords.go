package sshconfig

import "github.com/mitogen-go/mitogend/internal/sshopt"

// kind says how a keyword's arguments are parsed and merged; it mirrors the
// labels of the big switch in OpenSSH's readconf.c, folded from sshopt's
// finer kinds (the keyword table is sshopt's, shared with flagparse).
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

// keyword is a table entry as sshconfig applies it; a kMulti keyword's
// accepted words are sshopt.Multistates[name], a kFlag keyword's
// sshopt.Multistates["flag"].
type keyword struct {
	name string // canonical name used as the Options key
	kind kind
}

// lookup finds a lowercase keyword in sshopt's table.
func lookup(lower string) (keyword, bool) {
	k, ok := sshopt.LookupKeyword(lower)
	if !ok {
		return keyword{}, false
	}
	return keyword{name: k.Name, kind: fold(k.Kind)}, true
}

// fold maps sshopt's kinds to sshconfig's merge classes: the value checks
// that tell ciphers from log levels are flagparse's business, or stringCheck's.
func fold(k sshopt.Kind) kind {
	switch k {
	case sshopt.KIgnore:
		return kIgnore
	case sshopt.KDeprecated:
		return kDeprecated
	case sshopt.KUnsupported:
		return kUnsupported
	case sshopt.KFlag:
		return kFlag
	case sshopt.KMulti:
		return kMulti
	case sshopt.KInt:
		return kInt
	case sshopt.KTime:
		return kTime
	case sshopt.KPort:
		return kPort
	case sshopt.KStrings:
		return kWords
	case sshopt.KCommand:
		return kCommand
	case sshopt.KJump:
		return kJump
	case sshopt.KIdentity, sshopt.KCertificate:
		return kFile
	case sshopt.KLocalFwd, sshopt.KRemoteFwd, sshopt.KDynamicFwd:
		return kForward
	case sshopt.KSendEnv:
		return kSendEnv
	case sshopt.KSetEnv:
		return kSetEnv
	case sshopt.KAddKeys, sshopt.KUpTo2:
		return kArgs
	case sshopt.KHost:
		return kHost
	case sshopt.KMatch:
		return kMatch
	case sshopt.KInclude:
		return kInclude
	}
	return kString // KString and the single-word checked kinds
}
