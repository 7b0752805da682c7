package emulation

import (
	"reflect"
	"testing"
)

func TestSetHome(t *testing.T) {
	for _, tt := range []struct{ in, want []string }{
		{[]string{"PATH=/bin", "HOME=/tmp/caller", "USER=svc"}, []string{"PATH=/bin", "HOME=/home/svc", "USER=svc"}},
		{[]string{"PATH=/bin"}, []string{"PATH=/bin", "HOME=/home/svc"}},
	} {
		in := append([]string(nil), tt.in...)
		if got := setHome(in, "/home/svc"); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("setHome(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if !reflect.DeepEqual(in, tt.in) {
			t.Errorf("setHome changed its input: %q", in)
		}
	}
}
