package sshdial

import (
	"errors"
	"slices"
	"time"

	"golang.org/x/crypto/ssh"
)

// caSignatureAlgorithms is OpenSSH 9.2's default CASignatureAlgorithms:
// no ssh-rsa (SHA-1) signatures.
var caSignatureAlgorithms = []string{
	ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
	ssh.KeyAlgoSKED25519, ssh.KeyAlgoSKECDSA256, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256,
}

// errCertSignature: a certificate's signature does not verify. ssh's key
// parsing fails, and with it the key exchange, saying certSignatureText.
var errCertSignature = errors.New("sshdial: host certificate signature does not verify")

const certSignatureText = "incorrect signature" // ssh_err(SSH_ERR_SIGNATURE_INVALID)

// verifyCertSignature is the check ssh makes when it parses a certificate
// (sshkey.c cert_parse): signed by a plain key, and the signature verifies.
func verifyCertSignature(cert *ssh.Certificate) error {
	if _, ok := cert.SignatureKey.(*ssh.Certificate); ok || cert.Signature == nil {
		return errCertSignature
	}
	signed := *cert
	signed.Signature = nil
	data := signed.Marshal()
	// The signature is the last field; without it only its length remains.
	if err := cert.SignatureKey.Verify(data[:len(data)-4], cert.Signature); err != nil {
		return errCertSignature
	}
	return nil
}

// certProblem is sshkey_cert_check_host as check_host_key calls it (no
// wildcard principals), returning ssh's reason or "". An empty principal
// list is valid for any host, as in OpenSSH.
func certProblem(cert *ssh.Certificate, name string, now time.Time) string {
	t := uint64(now.Unix())
	switch {
	case cert.CertType != ssh.HostCert:
		return "Certificate invalid: not a host certificate"
	case t < cert.ValidAfter:
		return "Certificate invalid: not yet valid"
	case t >= cert.ValidBefore:
		return "Certificate invalid: expired"
	case len(cert.ValidPrincipals) > 0 && !slices.Contains(cert.ValidPrincipals, name):
		return "Certificate invalid: name is not a listed principal"
	case len(cert.CriticalOptions) != 0:
		return "Certificate contains unsupported critical options"
	case !slices.Contains(caSignatureAlgorithms, cert.Signature.Format):
		return "Certificate signed with disallowed algorithm"
	}
	return ""
}
