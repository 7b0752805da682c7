package flagparse

import (
	"bytes"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/mitogen-go/mitogend/test/testenv"
)

type splitCase struct {
	cmd  string
	want []string // nil: SplitCommand must refuse
}

// ansibleSudo is the remote command Ansible 2.x sends for a become task:
// literal words, the whole script inside one single-quoted word.
const ansibleSudo = `/bin/sh -c 'sudo -H -S -n  -u root /bin/sh -c '"'"'echo BECOME-SUCCESS-abc ; /usr/bin/python3 /home/u/.ansible/tmp/AnsiballZ_setup.py'"'"' && sleep 0'`

var splitCases = []splitCase{
	// Literal words.
	{"ls", []string{"ls"}},
	{"  ls   -l\t/tmp  ", []string{"ls", "-l", "/tmp"}},
	{"rsync --server -vlogDtpre.iLsfxCIvu . /srv/data", []string{"rsync", "--server", "-vlogDtpre.iLsfxCIvu", ".", "/srv/data"}},
	{"sudo -u postgres rsync --server -logDtpre.iLsfxC . /var/lib/postgresql/", []string{"sudo", "-u", "postgres", "rsync", "--server", "-logDtpre.iLsfxC", ".", "/var/lib/postgresql/"}},
	{"echo a=b c:d e@f g%h +i ,j", []string{"echo", "a=b", "c:d", "e@f", "g%h", "+i", ",j"}},
	{"echo a#b", []string{"echo", "a#b"}},
	{"echo -- -", []string{"echo", "--", "-"}},
	{"echo caf\xc3\xa9 \xff", []string{"echo", "caf\xc3\xa9", "\xff"}},
	// Single quotes.
	{"echo 'a b'", []string{"echo", "a b"}},
	{"echo ''", []string{"echo", ""}},
	{"echo 'a'b'c'", []string{"echo", "abc"}},
	{`echo '$HOME ` + "`x`" + ` * ? [a] {a,b} ~ ; | & < > ( ) # !'`, []string{"echo", "$HOME `x` * ? [a] {a,b} ~ ; | & < > ( ) # !"}},
	{"echo 'back\\slash' 'two\\\\'", []string{"echo", `back\slash`, `two\\`}},
	{"echo 'line\nbreak'", []string{"echo", "line\nbreak"}},
	{`echo 'it'\''s'`, []string{"echo", "it's"}},
	{"echo 'tab\there'", []string{"echo", "tab\there"}},
	// Double quotes.
	{`echo "a b"`, []string{"echo", "a b"}},
	{`echo ""`, []string{"echo", ""}},
	{`echo "\\ \" \$ \` + "`" + `"`, []string{"echo", "\\ \" $ `"}},
	{`echo "\a \n \' \x"`, []string{"echo", `\a \n \' \x`}},
	{"echo \"a\\\nb\"", []string{"echo", "ab"}},
	{"echo \"line\nbreak\"", []string{"echo", "line\nbreak"}},
	{`echo "'single' * ? ~ ; | # {a,b}"`, []string{"echo", "'single' * ? ~ ; | # {a,b}"}},
	{`echo "a"'b'c`, []string{"echo", "abc"}},
	// Backslashes outside quotes.
	{`echo a\ b`, []string{"echo", "a b"}},
	{`echo \$HOME \* \? \[ \~ \; \| \& \< \> \( \) \{ \} \! \#`, []string{"echo", "$HOME", "*", "?", "[", "~", ";", "|", "&", "<", ">", "(", ")", "{", "}", "!", "#"}},
	{`echo \\ \' \"`, []string{"echo", `\`, "'", `"`}},
	{"echo a\\\nb", []string{"echo", "ab"}},
	{"echo a \\\n b", []string{"echo", "a", "b"}},
	{"echo \\\t", []string{"echo", "\t"}},
	{`\if x`, nil}, // conservative: the literal value is a reserved word
	{"'ls'", []string{"ls"}},
	// Ansible's wrapper is literal words; ParseBecome refuses /bin/sh.
	{ansibleSudo, []string{"/bin/sh", "-c", `sudo -H -S -n  -u root /bin/sh -c 'echo BECOME-SUCCESS-abc ; /usr/bin/python3 /home/u/.ansible/tmp/AnsiballZ_setup.py' && sleep 0`}},

	// What the shell interprets.
	{"", nil},
	{"   \t ", nil},
	{"ls | wc", nil},
	{"ls|wc", nil},
	{"a && b", nil},
	{"a & b", nil},
	{"a; b", nil},
	{"a\nb", nil},
	{"a > f", nil},
	{"a <f", nil},
	{"a 2>&1", nil},
	{"(a)", nil},
	{"a $(b)", nil},
	{"echo $HOME", nil},
	{"echo ${HOME}", nil},
	{"echo $", nil},
	{"echo `id`", nil},
	{`echo "$HOME"`, nil},
	{"echo \"`id`\"", nil},
	{"echo *", nil},
	{"echo a?", nil},
	{"echo [a]", nil},
	{"echo a]", nil},
	{"echo {a,b}", nil},
	{"echo a}", nil},
	{"echo ~", nil},
	{"echo ~/x", nil},
	{"echo a=~/x", nil},
	{"echo #comment", nil},
	{"#comment", nil},
	{"echo !x", nil},
	{"echo a^b", nil},
	{"VAR=x cmd", nil},
	{"VAR= cmd", nil},
	{"if true; then :; fi", nil},
	{"if", nil},
	{"{ ls; }", nil},
	{"! ls", nil},
	{"time ls", nil},
	{"[[ -f x ]]", nil},
	{"coproc ls", nil},
	{"echo 'unterminated", nil},
	{`echo "unterminated`, nil},
	{`echo "a\"`, nil},
	{`echo a\`, nil},
	{"echo a\rb", nil},
	{"echo a\x00b", nil},
	{"echo 'a\x01b'", nil},
	{"echo \"a\x7fb\"", nil},
	{"echo \\\x1b", nil},
	{"echo $'ansi'", nil},
	{"echo <(ls)", nil},
}

func TestSplitCommand(t *testing.T) {
	for _, tc := range splitCases {
		got, ok := SplitCommand(tc.cmd)
		if ok != (tc.want != nil) || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("SplitCommand(%q) = %q, %v; want %q, %v", tc.cmd, got, ok, tc.want, tc.want != nil)
		}
	}
}

// TestSplitCommandMatchesShells runs every accepted command of the table
// through dash and bash as the arguments of printf '%s\0' and compares
// the words the shells produce with SplitCommand's.
func TestSplitCommandMatchesShells(t *testing.T) {
	for _, shell := range []string{"sh", "bash"} {
		path := testenv.NeedTool(t, shell)
		for _, tc := range splitCases {
			if tc.want == nil {
				continue
			}
			got := shellWords(t, path, tc.cmd)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s -c %q gives %q; SplitCommand gives %q", shell, tc.cmd, got, tc.want)
			}
		}
	}
}

// shellWords is the argv shell builds from cmd, read back from printf.
func shellWords(t *testing.T, shell, cmd string) []string {
	t.Helper()
	c := exec.Command(shell, "-c", `printf '%s\0' `+cmd)
	c.Env = []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent", "LC_ALL=C.UTF-8"}
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		t.Fatalf("%s -c %q: %v: %s", shell, cmd, err, stderr.String())
	}
	words := strings.Split(string(out), "\x00")
	return words[:len(words)-1]
}

func TestQuoteCommandRoundTrip(t *testing.T) {
	for _, tc := range splitCases {
		if tc.want == nil {
			continue
		}
		q := QuoteCommand(tc.want)
		back, ok := SplitCommand(q)
		if !ok || !reflect.DeepEqual(back, tc.want) {
			t.Errorf("SplitCommand(QuoteCommand(%q) = %q) = %q, %v", tc.want, q, back, ok)
		}
	}
	for _, shell := range []string{"sh", "bash"} {
		path := testenv.NeedTool(t, shell)
		argv := []string{"echo", "it's", "", "a b", "$HOME", "*", "\n", `\`, "~", "#x", "caf\xc3\xa9"}
		if got := shellWords(t, path, QuoteCommand(argv)); !reflect.DeepEqual(got, argv) {
			t.Errorf("%s reads QuoteCommand(%q) as %q", shell, argv, got)
		}
	}
}
