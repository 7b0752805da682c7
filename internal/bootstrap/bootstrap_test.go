package bootstrap

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// platformLines seeds both the table test and the fuzz target.
var platformLines = []struct {
	line    string
	want    Platform
	wantErr bool
}{
	{"MITOGEN0 Linux x86_64 perl gzip", Platform{"linux", "amd64", true, true}, false},
	{"MITOGEN0 Linux aarch64  gzip", Platform{"linux", "arm64", true, false}, false},
	{"MITOGEN0 Linux aarch64 perl", Platform{"linux", "arm64", false, true}, false},
	{"MITOGEN0 Linux x86_64 perl ", Platform{"linux", "amd64", false, true}, false},
	{"MITOGEN0 Linux i686 perl gzip", Platform{"linux", "386", true, false}, false},
	{"MITOGEN0 Linux gzip", Platform{}, true},
	{"MITOGEN0 Plan9 x86_64", Platform{}, true},
	{"MITOGEN0 Linux sparc64", Platform{}, true},
	{"MITOGEN1 Linux x86_64", Platform{}, true},
	{"", Platform{}, true},
}

func TestParsePlatformLine(t *testing.T) {
	for _, tt := range platformLines {
		got, err := ParsePlatformLine(tt.line)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParsePlatformLine(%q) = %+v, %v; want %+v, error %v", tt.line, got, err, tt.want, tt.wantErr)
		}
	}
}

func FuzzParsePlatformLine(f *testing.F) {
	for _, tt := range platformLines {
		f.Add(tt.line)
	}
	f.Fuzz(func(t *testing.T, line string) {
		got, err := ParsePlatformLine(line)
		if err == nil && (got.GOOS == "" || got.GOARCH == "") {
			t.Errorf("ParsePlatformLine(%q) = %+v without an error", line, got)
		}
	})
}

func TestReadPlatform(t *testing.T) {
	t.Run("skips what a login shell prints first", func(t *testing.T) {
		var skipped []string
		br := bufio.NewReaderSize(strings.NewReader("Welcome!\n\x1b[31mred\nMITOGEN0 Linux x86_64 perl gzip\nAGENT"), 64<<10)
		pl, err := ReadPlatform(br, func(s string) { skipped = append(skipped, s) })
		if err != nil || pl != (Platform{"linux", "amd64", true, true}) {
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
		_, err := ReadPlatform(bufio.NewReaderSize(endless, 64<<10), func(string) {})
		if !errors.Is(err, ErrNoPlatform) {
			t.Errorf("readPlatform over endless bytes = %v, want ErrNoPlatform", err)
		}
	})
	t.Run("refuses endless lines before the platform line", func(t *testing.T) {
		lines := &repeat{b: '\n'}
		n := 0
		_, err := ReadPlatform(bufio.NewReaderSize(lines, 64<<10), func(string) { n++ })
		if !errors.Is(err, ErrNoPlatform) || n > MaxPreamble {
			t.Errorf("readPlatform over endless newlines = %v after %d lines", err, n)
		}
	})
}

func TestDrainLinesKeepsReadingPastLongLines(t *testing.T) {
	in := strings.Repeat("y", 10<<10) + "\nshort\n" + strings.Repeat("z", 100) + "\nlast"
	var got []string
	DrainLines(strings.NewReader(in), 64, func(s string) { got = append(got, s) })
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
