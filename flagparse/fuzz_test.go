package flagparse

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// FuzzParse checks that Parse is total: it never panics, every error is
// an *Error ssh would print something for, and a success names a host
// unless -V or -Q stopped the scan or the destination had an empty host.
func FuzzParse(f *testing.F) {
	for _, tc := range parseCases {
		f.Add(strings.Join(tc.args, "\x00"))
	}
	f.Fuzz(func(t *testing.T, joined string) {
		args := strings.Split(joined, "\x00")
		o, err := Parse(args)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("Parse(%q) error %T %v is not *Error", args, err, err)
			}
			if fe.Msg == "" && !fe.ShowUsage {
				t.Fatalf("Parse(%q) returned an empty error", args)
			}
			return
		}
		if o.Host == "" && !o.Version && o.Query == "" && !hasEmptyHostArg(args) {
			t.Fatalf("Parse(%q) succeeded without a host: %+v", args, o)
		}
		for k := range o.Config {
			if k != strings.ToLower(k) {
				t.Fatalf("Parse(%q): Config key %q is not lowercase", args, k)
			}
		}
		if _, err := json.Marshal(o.Config); err != nil {
			t.Fatalf("Parse(%q): Config does not marshal: %v", args, err)
		}
		again, err := Parse(args)
		if err != nil || !reflect.DeepEqual(o, again) {
			t.Fatalf("Parse(%q) is not deterministic", args)
		}
	})
}

// hasEmptyHostArg reports whether some argument could be a destination
// with an empty host: "", "user@", "[]" or "user@[]".
func hasEmptyHostArg(args []string) bool {
	for _, a := range args {
		if i := strings.IndexByte(a, 0); i >= 0 {
			a = a[:i]
		}
		if i := strings.LastIndexByte(a, '@'); i >= 0 {
			a = a[i+1:]
		}
		if a == "" || a == "[]" {
			return true
		}
	}
	return false
}
