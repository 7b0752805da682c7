package sshdial

import (
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"
)

// defaultHostKeyAlgorithms is OpenSSH 9.2's default HostKeyAlgorithms,
// certificates first, without the security-key types x/crypto cannot
// verify as host keys.
var defaultHostKeyAlgorithms = []string{
	ssh.CertAlgoED25519v01, ssh.CertAlgoECDSA256v01, ssh.CertAlgoECDSA384v01, ssh.CertAlgoECDSA521v01,
	ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSASHA256v01,
	ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
	ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256,
}

// plainKeyType is the key type (as ssh.PublicKey.Type names it) that a
// host-key algorithm uses, certificate or not.
var plainKeyType = map[string]string{
	ssh.CertAlgoED25519v01: ssh.KeyAlgoED25519, ssh.KeyAlgoED25519: ssh.KeyAlgoED25519,
	ssh.CertAlgoECDSA256v01: ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA256: ssh.KeyAlgoECDSA256,
	ssh.CertAlgoECDSA384v01: ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA384: ssh.KeyAlgoECDSA384,
	ssh.CertAlgoECDSA521v01: ssh.KeyAlgoECDSA521, ssh.KeyAlgoECDSA521: ssh.KeyAlgoECDSA521,
	ssh.CertAlgoRSASHA512v01: ssh.KeyAlgoRSA, ssh.KeyAlgoRSASHA512: ssh.KeyAlgoRSA,
	ssh.CertAlgoRSASHA256v01: ssh.KeyAlgoRSA, ssh.KeyAlgoRSASHA256: ssh.KeyAlgoRSA,
}

func isCertAlgorithm(alg string) bool { return strings.HasSuffix(alg, "-cert-v01@openssh.com") }

// orderHostKeyAlgorithms is sshconnect2.c's order_hostkeyalgs: the
// default list as is when known_hosts has a plain key of its first
// algorithm's type; otherwise, keeping the default order, first every
// certificate algorithm when a @cert-authority line matches and every
// algorithm of a known plain key type, then the rest. The server is thus
// asked for what can be verified rather than for its favourite.
func orderHostKeyAlgorithms(entries []*hostEntry) []string {
	if hasPlainKeyOfType(entries, plainKeyType[defaultHostKeyAlgorithms[0]]) {
		return slices.Clone(defaultHostKeyAlgorithms)
	}
	ca := hasMarker(entries, markCA)
	var first, last []string
	for _, alg := range defaultHostKeyAlgorithms {
		if (ca && isCertAlgorithm(alg)) || hasPlainKeyOfType(entries, plainKeyType[alg]) {
			first = append(first, alg)
		} else {
			last = append(last, alg)
		}
	}
	return append(first, last...)
}
