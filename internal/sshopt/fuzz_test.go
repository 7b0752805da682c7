package sshopt

import (
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// cSpace is the bytes C's isspace accepts in the C locale.
const cSpace = " \t\n\v\f\r"

// The fuzzers here check the lexer, matcher and value parsers against properties of their own;
// flagparse's FuzzParse only checks that whole command lines through them do not fail oddly.

// FuzzSplit checks the line lexer: SplitLine's keyword is lowercase and its rest an unpadded
// suffix of the line, and the words SplitArgs finds, quoted again, split back into themselves.
func FuzzSplit(f *testing.F) {
	for _, tc := range splitLineCases {
		f.Add(tc.line)
	}
	for _, tc := range splitArgsCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		kw, rest := SplitLine(s)
		if kw != ASCIILower(kw) || kw == "" && rest != "" {
			t.Fatalf("SplitLine(%q) = %q, %q", s, kw, rest)
		}
		if rest != "" {
			trimmed := s[:1] + strings.TrimRight(s[1:], Whitespace+"\f")
			// Form feeds are stripped only at the end of the line, as in readconf.c.
			if !strings.HasSuffix(trimmed, rest) || strings.IndexByte(Whitespace, rest[0]) >= 0 ||
				strings.IndexByte(Whitespace+"\f", rest[len(rest)-1]) >= 0 {
				t.Fatalf("SplitLine(%q) rest %q is not the line's end without padding", s, rest)
			}
		}
		args, ok := SplitArgs(s)
		if !ok {
			return
		}
		quoted := make([]string, len(args))
		for i, a := range args {
			quoted[i] = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(a) + `"`
		}
		again, ok := SplitArgs(strings.Join(quoted, " "))
		if !ok || len(again) != len(args) || len(args) > 0 && !reflect.DeepEqual(again, args) {
			t.Fatalf("SplitArgs(%q) = %q; quoted as %q they split into %q, %v", s, args, quoted, again, ok)
		}
	})
}

// FuzzMatchPattern compares MatchPattern with a table-driven matcher and MatchPatternList with
// MatchPattern on one-pattern lists.
func FuzzMatchPattern(f *testing.F) {
	for _, tc := range matchPatternCases {
		f.Add(tc.s, tc.pattern)
	}
	for _, tc := range matchPatternListCases {
		f.Add(tc.s, tc.list)
	}
	f.Fuzz(func(t *testing.T, s, pattern string) {
		got := MatchPattern(s, pattern)
		if want := matchTable(s, pattern); got != want {
			t.Fatalf("MatchPattern(%q, %q) = %v, want %v", s, pattern, got, want)
		}
		if pattern == "" || strings.ContainsRune(pattern, ',') || strings.HasPrefix(pattern, "!") || len(pattern) >= 1023 {
			return // an empty list has no pattern; a longer one is not one pattern
		}
		want := 0
		if got {
			want = 1
		}
		if l := MatchPatternList(s, pattern, false); l != want {
			t.Fatalf("MatchPatternList(%q, %q) = %d, MatchPattern says %v", s, pattern, l, got)
		}
		if l := MatchPatternList(s, "!"+pattern, false); l != -want {
			t.Fatalf("MatchPatternList(%q, %q) = %d, MatchPattern says %v", s, "!"+pattern, l, got)
		}
		if l, m := MatchPatternList(s, pattern, true), MatchPattern(s, ASCIILower(pattern)); l == 1 != m {
			t.Fatalf("MatchPatternList(%q, %q, lower) = %d, MatchPattern of the lowered pattern %v", s, pattern, l, m)
		}
	})
}

// matchTable is match_pattern by dynamic programming over (string, pattern) suffixes.
func matchTable(s, p string) bool {
	// next[i] says whether s[i:] matches p[j+1:]; cur is built for p[j:].
	next := make([]bool, len(s)+1)
	next[len(s)] = true
	for j := len(p) - 1; j >= 0; j-- {
		cur := make([]bool, len(s)+1)
		for i := len(s); i >= 0; i-- {
			switch {
			case p[j] == '*':
				cur[i] = next[i] || i < len(s) && cur[i+1]
			case i < len(s) && (p[j] == '?' || p[j] == s[i]):
				cur[i] = next[i+1]
			}
		}
		next = cur
	}
	return next[0]
}

// FuzzParseForward checks that what ParseForward accepts it prints in a form that parses back
// to the same forward, as sshconfig and fakessh read it again ("LISTEN CONNECT" joined by ':').
// Fields that the printed form cannot carry are skipped, as ssh -G cannot print them either:
// white space anywhere, ']' or an escaped '/' in a host, and ':', '\' or a leading '[' in a
// path (printed unquoted).
func FuzzParseForward(f *testing.F) {
	for _, tc := range forwardCases {
		f.Add(tc.spec, tc.dynamic, tc.remote)
	}
	f.Fuzz(func(t *testing.T, spec string, dynamic, remote bool) {
		out, ok := ParseForward(spec, dynamic, remote)
		fw, ok2 := ParseForwardSpec(spec, dynamic, remote)
		if ok != ok2 || ok && fw.String(dynamic) != out {
			t.Fatalf("ParseForward(%q) = %q, %v but ParseForwardSpec gives %+v, %v", spec, out, ok, fw, ok2)
		}
		if !ok || !printable(fw) {
			return
		}
		listen, connect, two := strings.Cut(out, " ")
		again := listen
		if two {
			again += ":" + connect
		}
		if two == dynamic {
			t.Fatalf("ParseForward(%q, dynamic %v) printed %q", spec, dynamic, out)
		}
		if back, ok := ParseForward(again, dynamic, remote); !ok || back != out {
			t.Fatalf("ParseForward(%q) = %q, which reads back as %q, %v", spec, out, back, ok)
		}
	})
}

func printable(fw Forward) bool {
	for _, h := range []string{fw.ListenHost, fw.ConnectHost} {
		if strings.ContainsAny(h, cSpace+"]/") {
			return false
		}
	}
	for _, p := range []string{fw.ListenPath, fw.ConnectPath} {
		if strings.ContainsAny(p, cSpace+`:\`) || strings.HasPrefix(p, "[") {
			return false
		}
	}
	return true
}

// FuzzNumbers compares Strtol with strconv and checks the ranges of the parsers built on it.
func FuzzNumbers(f *testing.F) {
	for _, tc := range convtimeCases {
		f.Add(tc.in)
	}
	for _, tc := range forwardCases {
		f.Add(tc.spec)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, base := range []int{8, 10} {
			v, rest, ok := Strtol(s, base)
			wv, wrest, wok := strtolRef(s, base)
			if rest != wrest || ok != wok || ok && v != wv {
				t.Fatalf("Strtol(%q, %d) = %d, %q, %v; want %d, %q, %v", s, base, v, rest, ok, wv, wrest, wok)
			}
		}
		if n := Convtime(s); n < -1 || n > math.MaxInt32 {
			t.Fatalf("Convtime(%q) = %d", s, n)
		}
		if p := A2port(s); p < -1 || p > 65535 {
			t.Fatalf("A2port(%q) = %d", s, p)
		}
		v, msg := AtoiErr(s)
		n, ok := Strtonum(s, 0, math.MaxInt32)
		if (msg == "") != ok || ok && int64(v) != n || !ok && v != 0 {
			t.Fatalf("AtoiErr(%q) = %d, %q but Strtonum gives %d, %v", s, v, msg, n, ok)
		}
	})
}

// strtolRef is C's strtol for base 8 or 10 by way of strconv: leading isspace bytes, a sign,
// the longest run of digits; not ok without a digit or when the value does not fit 64 bits.
func strtolRef(s string, base int) (int64, string, bool) {
	i := 0
	for i < len(s) && strings.IndexByte(cSpace, s[i]) >= 0 {
		i++
	}
	start := i
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := i
	for i < len(s) && '0' <= s[i] && s[i] < '0'+byte(base) {
		i++
	}
	if i == digits {
		return 0, s, false
	}
	v, err := strconv.ParseInt(s[start:i], base, 64)
	return v, s[i:], err == nil
}
