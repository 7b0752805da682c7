package client

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mitogen-go/mitogend/flagparse"
	"github.com/mitogen-go/mitogend/internal/syserr"
)

// identityFlags does what ssh does with each -i while parsing it: the name is tilde-expanded,
// and a file that cannot be stat'ed is warned about (with fprintf, so "\n", and even with -q)
// and left out, so that with no other identity the default ones (~/.ssh/id_*) still count. It
// returns opts with its identityfile values so adjusted; -o IdentityFile= lines stay as given.
func identityFlags(opts *flagparse.Options, stdio Stdio) *flagparse.Options {
	if len(opts.IdentityFlags) == 0 {
		return opts
	}
	home, _ := localAccount(stdio)
	expanded := map[string]string{} // -i argument -> what ssh keeps; "" for left out
	for _, f := range opts.IdentityFlags {
		p := f
		if rest, ok := strings.CutPrefix(f, "~/"); ok {
			p = filepath.Join(home, rest)
		}
		if _, err := os.Stat(p); err != nil {
			fmt.Fprintf(stdio.Stderr, "Warning: Identity file %s not accessible: %s.\n", p, syserr.Text(err))
			p = ""
		}
		expanded[f] = p
	}
	o := *opts
	o.Config = flagparse.Config{}
	for k, v := range opts.Config {
		o.Config[k] = v
	}
	// flagparse stores each distinct -i once, among the -o IdentityFile values: the first
	// value equal to a -i argument stands for it (which one does not matter, they are equal).
	var ids []string
	for _, v := range opts.Config["identityfile"] {
		p, isFlag := expanded[v]
		switch {
		case !isFlag:
			ids = append(ids, v)
		case p != "":
			ids = append(ids, p)
		}
		delete(expanded, v)
	}
	delete(o.Config, "identityfile")
	if len(ids) > 0 {
		o.Config["identityfile"] = ids
	}
	return &o
}
