package sshdial

import (
	"strings"

	"github.com/mitogen-go/mitogend/internal/sshopt"
	"github.com/mitogen-go/mitogend/sshconfig"
)

// AuthOptions are the authentication settings that sshconfig.Target does not carry. The zero
// value is ssh's defaults.
type AuthOptions struct {
	// Preferred is PreferredAuthentications: the methods in the order to try them. Nil is
	// ssh's default, gssapi-with-mic,hostbased,publickey,keyboard-interactive,password (of
	// which the first two are never tried here).
	Preferred []string
	// PasswordPrompts is NumberOfPasswordPrompts, the tries each of password and
	// keyboard-interactive gets. 0 stands for ssh's default, 3; a negative value for none.
	PasswordPrompts int
	// NoPubkey is PubkeyAuthentication no.
	NoPubkey bool
}

// defaultPreferred is the order of ssh's authmethods table.
var defaultPreferred = []string{"gssapi-with-mic", "hostbased", "publickey", "keyboard-interactive", "password"}

// AuthFor reads AuthOptions from resolved options (command line and config files).
func AuthFor(o sshconfig.Options) AuthOptions {
	var a AuthOptions
	if v := o.Get("preferredauthentications"); v != "" {
		a.Preferred = strings.Split(v, ",")
	}
	if v := o.Get("numberofpasswordprompts"); v != "" {
		if n, errText := sshopt.AtoiErr(v); errText == "" {
			a.PasswordPrompts = n
			if n == 0 {
				a.PasswordPrompts = -1
			}
		}
	}
	if v, _ := sshopt.Multistate("pubkeyauthentication", o.Get("pubkeyauthentication")); v == "no" {
		a.NoPubkey = true
	}
	return a
}

func (o AuthOptions) preferred() []string {
	if o.Preferred == nil {
		return defaultPreferred
	}
	return o.Preferred
}

func (o AuthOptions) prompts() int {
	switch {
	case o.PasswordPrompts == 0:
		return 3
	case o.PasswordPrompts < 0:
		return 0
	}
	return o.PasswordPrompts
}
