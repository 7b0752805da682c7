package daemon

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/mitogen-go/mitogend/proto"
)

// platformLines seeds both the table test and the fuzz target.
var platformLines = []struct {
	line    string
	want    platformLine
	wantErr bool
}{
	{"MITOGEN0 Linux x86_64 perl gzip", platformLine{"linux", "amd64", true}, false},
	{"MITOGEN0 Linux aarch64  gzip", platformLine{"linux", "arm64", true}, false},
	{"MITOGEN0 Linux x86_64 perl ", platformLine{"linux", "amd64", false}, false},
	{"MITOGEN0 Linux gzip", platformLine{}, true},
	{"MITOGEN0 Plan9 x86_64", platformLine{}, true},
	{"MITOGEN0 Linux sparc64", platformLine{}, true},
	{"MITOGEN1 Linux x86_64", platformLine{}, true},
	{"", platformLine{}, true},
}

func TestParsePlatformLine(t *testing.T) {
	for _, tt := range platformLines {
		got, err := parsePlatformLine(tt.line)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parsePlatformLine(%q) = %+v, %v; want %+v, error %v", tt.line, got, err, tt.want, tt.wantErr)
		}
	}
}

func FuzzParsePlatformLine(f *testing.F) {
	for _, tt := range platformLines {
		f.Add(tt.line)
	}
	f.Fuzz(func(t *testing.T, line string) {
		got, err := parsePlatformLine(line)
		if err == nil && (got.goos == "" || got.goarch == "") {
			t.Errorf("parsePlatformLine(%q) = %+v without an error", line, got)
		}
	})
}

func TestReadPlatform(t *testing.T) {
	t.Run("skips what a login shell prints first", func(t *testing.T) {
		var skipped []string
		br := bufio.NewReaderSize(strings.NewReader("Welcome!\n\x1b[31mred\nMITOGEN0 Linux x86_64 perl gzip\nAGENT"), 64<<10)
		pl, err := readPlatform(br, func(s string) { skipped = append(skipped, s) })
		if err != nil || pl != (platformLine{"linux", "amd64", true}) {
			t.Fatalf("readPlatform = %+v, %v", pl, err)
		}
		if len(skipped) != 2 {
			t.Errorf("skipped %q, want the two lines before the platform line", skipped)
		}
		if rest, _ := io.ReadAll(br); string(rest) != "AGENT" {
			t.Errorf("readPlatform read past its line: rest %q", rest)
		}
	})
	t.Run("refuses a first line that never ends", func(t *testing.T) {
		endless := iotest.OneByteReader(&repeat{b: 'x'})
		_, err := readPlatform(bufio.NewReaderSize(endless, 64<<10), func(string) {})
		if !errors.Is(err, errNoPlatform) {
			t.Errorf("readPlatform over endless bytes = %v, want errNoPlatform", err)
		}
	})
	t.Run("refuses endless lines before the platform line", func(t *testing.T) {
		lines := &repeat{b: '\n'}
		n := 0
		_, err := readPlatform(bufio.NewReaderSize(lines, 64<<10), func(string) { n++ })
		if !errors.Is(err, errNoPlatform) || n > maxPreamble {
			t.Errorf("readPlatform over endless newlines = %v after %d lines", err, n)
		}
	})
}

func TestDrainLinesKeepsReadingPastLongLines(t *testing.T) {
	in := strings.Repeat("y", 10<<10) + "\nshort\n" + strings.Repeat("z", 100) + "\nlast"
	var got []string
	drainLines(strings.NewReader(in), 64, func(s string) { got = append(got, s) })
	want := []string{strings.Repeat("y", 64) + "...", "short", strings.Repeat("z", 64) + "...", "last"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("drainLines gave %q, want %q", got, want)
	}
}

// repeat is an endless reader of one byte.
type repeat struct{ b byte }

func (r *repeat) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.b
	}
	return len(p), nil
}

// Every connection runs keepalives, the first caller's or the daemon's default.
func TestResolveChainKeepalive(t *testing.T) {
	home := t.TempDir()
	for _, tt := range []struct {
		opts map[string][]string
		want string
	}{
		{nil, defaultServerAliveInterval.String()},
		{map[string][]string{"serveraliveinterval": {"7"}}, "7s"},
	} {
		chain, err := resolveChain(proto.ConnectRequest{Host: "h", Config: tt.opts, ConfigFile: "/dev/null", Home: home, LocalUser: "u"})
		if err != nil {
			t.Fatal(err)
		}
		if got := chain.dest.target.ServerAliveInterval.String(); got != tt.want {
			t.Errorf("options %v: keepalive every %s, want %s", tt.opts, got, tt.want)
		}
	}
}
