package sshconfig

import (
	"strings"
	"testing"
)

func TestExpandEnv(t *testing.T) {
	env := map[string]string{"A": "/a", "P": "x%y"}
	getenv := func(n string) (string, bool) { v, ok := env[n]; return v, ok }
	for _, tc := range []struct {
		o       Options
		load    bool
		want    Options
		errLine string // the last line of the error, "" for none
	}{
		{o: Options{"userknownhostsfile": {"${A}/k", "${P}"}}, want: Options{"userknownhostsfile": {"/a/k", "x%%y"}}},
		{o: Options{"identityfile": {"${A}/id"}}, want: Options{"identityfile": {"${A}/id"}}},
		{o: Options{"identityfile": {"${A}/id"}}, load: true, want: Options{"identityfile": {"/a/id"}}},
		{o: Options{"identityagent": {"$A"}}, load: true, want: Options{"identityagent": {"/a"}}},
		{o: Options{"identityagent": {"$A"}}, want: Options{"identityagent": {"$A"}}},
		{o: Options{"identityagent": {"none"}}, load: true, want: Options{"identityagent": {"none"}}},
		{o: Options{"controlpath": {"${NOPE}"}}, errLine: "invalid environment variable expansion"},
		{o: Options{"controlpath": {"${A"}}, errLine: "percent_dollar_expand: failed"},
		{o: Options{"controlpath": {"${}"}}, errLine: "percent_dollar_expand: failed"},
		{o: Options{"hostname": {"${A}"}}, want: Options{"hostname": {"${A}"}}},
	} {
		got, err := ExpandEnv(tc.o, getenv, tc.load)
		if tc.errLine != "" {
			ce, ok := err.(*ConfigError)
			if !ok || ce.Messages[len(ce.Messages)-1] != tc.errLine {
				t.Errorf("ExpandEnv(%v) error %v, want one ending %q", tc.o, err, tc.errLine)
			}
			continue
		}
		if err != nil || canonicalString(got) != canonicalString(tc.want) {
			t.Errorf("ExpandEnv(%v, load %v) = %v, %v; want %v", tc.o, tc.load, got, err, tc.want)
		}
	}
}

func canonicalString(o Options) string {
	var b strings.Builder
	for _, k := range []string{"userknownhostsfile", "identityfile", "identityagent", "controlpath", "hostname"} {
		b.WriteString(k + "=" + strings.Join(o[k], ",") + ";")
	}
	return b.String()
}
