package sshdtest

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
)

// WithAccount lets the local account name, whose passwd home directory is home, log in with the
// client key as well as User, its sessions seeing HOME as sshd sets it for a real login (home)
// instead of the empty Server.Home. sshd must run as root (the test too), and the account's
// password field must not be locked ("!", what useradd leaves): with UsePAM off sshd refuses
// locked accounts; "*" will do.
//
// sshd reads key files as the user logging in, who cannot enter the test's private directory
// that holds AuthorizedKeys, so the account's keys are home/.ssh/authorized_keys instead, which
// AuthorizeAccount writes once the server has started.
func WithAccount(name, home string) Option {
	return WithExtraConfig(fmt.Sprintf("Match User %s\n\tAuthorizedKeysFile %s\n\tSetEnv %s",
		name, quote(filepath.Join(home, ".ssh", "authorized_keys")), quote("HOME="+home)))
}

// AuthorizeAccount writes the client public key to home/.ssh/authorized_keys for the account
// name (see WithAccount), owned by it.
func (s *Server) AuthorizeAccount(name, home string) {
	s.tb.Helper()
	u, err := user.Lookup(name)
	if err != nil {
		s.tb.Fatalf("sshdtest: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	pub, err := os.ReadFile(s.ClientKey + ".pub")
	if err != nil {
		s.tb.Fatalf("sshdtest: %v", err)
	}
	dir := filepath.Join(home, ".ssh")
	keys := filepath.Join(dir, "authorized_keys")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		s.tb.Fatalf("sshdtest: %v", err)
	}
	writeFile(s.tb, keys, string(pub), 0o600)
	for _, p := range []string{dir, keys} {
		if err := os.Chown(p, uid, gid); err != nil {
			s.tb.Fatalf("sshdtest: %v", err)
		}
	}
}
