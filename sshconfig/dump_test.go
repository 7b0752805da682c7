package sshconfig

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExpandTokens(t *testing.T) {
	x := map[byte]string{'h': "host", 'p': "22"}
	tests := []struct {
		in, lenient string
		strictErr   bool
	}{
		{"%h:%p", "host:22", false},
		{"100%%", "100%", false},
		{"%z-%h", "%z-host", true},
		{"end%", "end%", true},
		{"%%h", "%h", false},
	}
	for _, tt := range tests {
		got, err := expandTokens(tt.in, x, false)
		if err != nil || got != tt.lenient {
			t.Errorf("lenient %q = %q, %v; want %q", tt.in, got, err, tt.lenient)
		}
		strict, err := percentExpand(tt.in, x)
		if (err != nil) != tt.strictErr || (err == nil && strict != tt.lenient) {
			t.Errorf("strict %q = %q, %v; want error %v", tt.in, strict, err, tt.strictErr)
		}
	}
}

func TestDumpForwards(t *testing.T) {
	tests := []struct {
		in      string
		dynamic bool
		want    string
	}{
		{"8080:localhost:80", false, "8080 [localhost]:80"},
		{"[::1]:8081:[example.org]:443", false, "[::1]:8081 [example.org]:443"},
		{"127.0.0.1:9000:/tmp/sock", false, "[127.0.0.1]:9000 /tmp/sock"},
		{"/tmp/l.sock:/tmp/r.sock", false, "/tmp/l.sock /tmp/r.sock"},
		{"9999", false, "9999 [socks]:0"},
		{`6000:a\:b:80`, false, "6000 [a:b]:80"},
		{"6001::80", false, "6001 []:80"},
		{"1080", true, "1080"},
		{"[::1]:1082", true, "[::1]:1082"},
	}
	for _, tt := range tests {
		key := "remoteforward"
		if tt.dynamic {
			key = "dynamicforward"
		}
		got := Options{key: {tt.in}}.Forwards(key)
		if len(got) != 1 || dumpForward(key, got[0]) != tt.want {
			t.Errorf("forwards(%q, %v) = %q, want %q", tt.in, tt.dynamic, got, tt.want)
		}
	}
}

func TestDumpJump(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"jump", "jump"},
		{"u@10.0.0.1:23", "u@[10.0.0.1]:23"},
		{"u@10.0.0.1:23,jump", "u@10.0.0.1:23,jump"},
		{"a,ssh://bob@[2001:db8::1]:2222", "a,bob@[2001:db8::1]:2222"},
		{"@host", "@host"},
	}
	for _, tt := range tests {
		if got := dumpJump(tt.in); got != tt.want {
			t.Errorf("dumpJump(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestAssembleAlgos(t *testing.T) {
	const def = "a-ctr,b-ctr,c-gcm"
	tests := []struct{ in, want string }{
		{"", def},
		{"x,y", "x,y"},
		{"+x,a-ctr", "a-ctr,b-ctr,c-gcm,x"},
		{"^c-gcm,x", "c-gcm,x,a-ctr,b-ctr"},
		{"-*-ctr", "c-gcm"},
		{"-*-ctr,!b-ctr", "b-ctr,c-gcm"},
	}
	for _, tt := range tests {
		if got := assembleAlgos(tt.in, def); got != tt.want {
			t.Errorf("assembleAlgos(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }

func TestDump(t *testing.T) {
	home := t.TempDir()
	cfg := filepath.Join(home, "config")
	if err := os.WriteFile(cfg, []byte("Host web\n  ControlPath ~/cm-%h-%z\n  LocalForward 6000 db:5432\n  ControlPersist 1h30m\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	in := Input{Host: "web", ConfigFile: cfg, Home: home, LocalUser: "me",
		Cmdline: Options{"user": {"bob"}, "localforward": {"8080 [localhost]:80"}, "remoteforward": {"9090"}}}
	var b strings.Builder
	if err := Dump(&b, in); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"host web\nuser bob\nhostname web\nport 22\n",
		"\ncontrolpath " + home + "/cm-web-%z\n",
		"\nlocalforward 8080 [localhost]:80\nlocalforward 6000 [db]:5432\nremoteforward 9090 [socks]:0\n",
		"\ncontrolpersist 5400\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("Dump output lacks %q:\n%s", want, out)
		}
	}

	wantErr := errors.New("disk full")
	if err := Dump(failWriter{wantErr}, in); !errors.Is(err, wantErr) {
		t.Errorf("Dump to a failing writer: %v, want %v", err, wantErr)
	}
	bad := in
	bad.Cmdline = Options{"port": {"0"}}
	var ce *ConfigError
	if err := Dump(&b, bad); !errors.As(err, &ce) {
		t.Errorf("Dump with Port 0: %v, want a *ConfigError", err)
	}
}
