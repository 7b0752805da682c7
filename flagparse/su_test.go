package flagparse

import "testing"

var suCases = []becomeCase{
	// Honoured: -c, the user before or after the options (su permutes).
	{argv: sv("su", "-c", "PROBE"), want: &Become{ShellCommand: "PROBE"}},
	{argv: sv("su", "TUSER", "-c", "PROBE a b"), want: &Become{User: "TUSER", ShellCommand: "PROBE a b"}, probe: sv("a", "b")},
	{argv: sv("su", "-c", "PROBE 'a b'", "TUSER"), want: &Become{User: "TUSER", ShellCommand: "PROBE 'a b'"}, probe: sv("a b")},
	{argv: sv("/bin/su", "-c", "PROBE"), want: &Become{ShellCommand: "PROBE"}},
	{argv: sv("su", "--command=PROBE", "TUSER"), want: &Become{User: "TUSER", ShellCommand: "PROBE"}},
	{argv: sv("su", "--command", "PROBE", "TUSER"), want: &Become{User: "TUSER", ShellCommand: "PROBE"}},
	{argv: sv("su", "--comm", "PROBE", "TUSER"), want: &Become{User: "TUSER", ShellCommand: "PROBE"}},
	{argv: sv("su", "-c", "PROBE 1", "-c", "PROBE 2", "TUSER"), want: &Become{User: "TUSER", ShellCommand: "PROBE 2"}, probe: sv("2")},
	{argv: sv("su", "-c", "", "TUSER"), want: &Become{User: "TUSER", ShellCommand: ""}},
	// Login.
	{argv: sv("su", "-", "TUSER", "-c", "PROBE"), want: &Become{User: "TUSER", Login: true, ShellCommand: "PROBE"}},
	{argv: sv("su", "-l", "TUSER", "-c", "PROBE"), want: &Become{User: "TUSER", Login: true, ShellCommand: "PROBE"}},
	{argv: sv("su", "--login", "TUSER", "-c", "PROBE"), want: &Become{User: "TUSER", Login: true, ShellCommand: "PROBE"}},
	{argv: sv("su", "--log", "TUSER", "-c", "PROBE"), want: &Become{User: "TUSER", Login: true, ShellCommand: "PROBE"}},
	{argv: sv("su", "-lc", "PROBE", "TUSER"), want: &Become{User: "TUSER", Login: true, ShellCommand: "PROBE"}},
	{argv: sv("su", "-c", "PROBE", "-", "TUSER"), want: &Become{User: "TUSER", Login: true, ShellCommand: "PROBE"}},
	{argv: sv("su", "--", "-", "TUSER", "x"), verdict: ErrNotHonoured},
	// The environment.
	{argv: sv("su", "-m", "TUSER", "-c", "PROBE"), want: &Become{User: "TUSER", PreserveEnv: true, ShellCommand: "PROBE"}},
	{argv: sv("su", "-p", "TUSER", "-c", "PROBE"), want: &Become{User: "TUSER", PreserveEnv: true, ShellCommand: "PROBE"}},
	{argv: sv("su", "--preserve-environment", "TUSER", "-c", "PROBE"), want: &Become{User: "TUSER", PreserveEnv: true, ShellCommand: "PROBE"}},
	{argv: sv("su", "-m", "-p", "TUSER", "-c", "PROBE"), want: &Become{User: "TUSER", PreserveEnv: true, ShellCommand: "PROBE"}},
	{argv: sv("su", "-l", "-w", "MITOGEN_MARK", "TUSER", "-c", "PROBE"), want: &Become{User: "TUSER", Login: true, PreserveEnvList: sv("MITOGEN_MARK"), ShellCommand: "PROBE"}},
	{argv: sv("su", "-w", ",MITOGEN_MARK,,HOME", "-", "TUSER", "-c", "PROBE"), want: &Become{User: "TUSER", Login: true, PreserveEnvList: sv("MITOGEN_MARK", "HOME"), ShellCommand: "PROBE"}},
	{argv: sv("su", "--whitelist-environment=MITOGEN_MARK", "-", "TUSER", "-c", "PROBE"), want: &Become{User: "TUSER", Login: true, PreserveEnvList: sv("MITOGEN_MARK"), ShellCommand: "PROBE"}},
	{argv: sv("su", "-s", "/bin/bash", "TUSER", "-c", "PROBE"), want: &Become{User: "TUSER", ShellPath: "/bin/bash", ShellCommand: "PROBE"}},
	{argv: sv("su", "--shell=/bin/bash", "TUSER", "-c", "PROBE"), want: &Become{User: "TUSER", ShellPath: "/bin/bash", ShellCommand: "PROBE"}},
	{argv: sv("su", "-f", "TUSER", "-c", "PROBE"), want: &Become{User: "TUSER", Fast: true, ShellCommand: "PROBE"}},
	// Groups.
	{argv: sv("su", "-g", "TGROUP", "TUSER", "-c", "PROBE"), want: &Become{User: "TUSER", Group: "TGROUP", ShellCommand: "PROBE"}},
	{argv: sv("su", "-G", "TGROUP", "TUSER", "-c", "PROBE"), want: &Become{User: "TUSER", SuppGroups: sv("TGROUP"), ShellCommand: "PROBE"}},
	{argv: sv("su", "--supp-group=TGROUP", "--group=TUSER", "TUSER", "-c", "PROBE"), want: &Become{User: "TUSER", Group: "TUSER", SuppGroups: sv("TGROUP"), ShellCommand: "PROBE"}},
	// Words after the user go to the shell, after -c.
	{argv: sv("su", "TUSER", "-c", `PROBE "$0" "$@"`, "x", "y z"), want: &Become{User: "TUSER", ShellCommand: `PROBE "$0" "$@"`, ShellArgs: sv("x", "y z")}, probe: sv("x", "y z")},
	{argv: sv("su", "TUSER", "-", "-c", `PROBE "$0"`), want: &Become{User: "TUSER", ShellCommand: `PROBE "$0"`, ShellArgs: sv("-")}, probe: sv("-")},
	{argv: sv("su", "-c", `PROBE "$0"`, "TUSER", "--", "-c"), want: &Become{User: "TUSER", ShellCommand: `PROBE "$0"`, ShellArgs: sv("-c")}, probe: sv("-c")},

	// Accepted, not honoured.
	{argv: sv("su"), verdict: ErrNotHonoured},
	{argv: sv("su", "TUSER"), verdict: ErrNotHonoured},
	{argv: sv("su", "-", "TUSER"), verdict: ErrNotHonoured},
	{argv: sv("su", "TUSER", "PROBE"), verdict: ErrNotHonoured},
	{argv: sv("su", "--", "TUSER", "-c", "PROBE"), verdict: ErrNotHonoured},
	{argv: sv("su", "-h"), verdict: ErrNotHonoured},
	{argv: sv("su", "--help"), verdict: ErrNotHonoured},
	{argv: sv("su", "-h", "-x"), verdict: ErrNotHonoured},
	{argv: sv("su", "-V"), verdict: ErrNotHonoured},
	{argv: sv("su", "-P", "-c", "PROBE"), verdict: ErrNotHonoured},
	{argv: sv("su", "--pty", "TUSER", "-c", "PROBE"), verdict: ErrNotHonoured},
	{argv: sv("su", "--session-command", "PROBE", "TUSER"), verdict: ErrNotHonoured},
	{argv: sv("su", "-l", "-m", "TUSER", "-c", "PROBE"), verdict: ErrNotHonoured},
	{argv: sv("su", "-m", "-", "TUSER", "-c", "PROBE"), verdict: ErrNotHonoured},

	// Refused by su.
	{argv: sv("su", "-x"), verdict: ErrUsage},
	{argv: sv("su", "-x", "-h"), verdict: ErrUsage},
	{argv: sv("su", "-c"), verdict: ErrUsage},
	{argv: sv("su", "TUSER", "-c"), verdict: ErrUsage},
	{argv: sv("su", "--command"), verdict: ErrUsage},
	{argv: sv("su", "-s"), verdict: ErrUsage},
	{argv: sv("su", "-u", "root", "-c", "PROBE"), verdict: ErrUsage},
	{argv: sv("su", "--user=root", "-c", "PROBE"), verdict: ErrUsage},
	{argv: sv("su", "-m", "-w", "A", "-c", "PROBE"), verdict: ErrUsage},
	{argv: sv("su", "-w", "A", "-p", "-c", "PROBE"), verdict: ErrUsage},
	{argv: sv("su", "--preserve-environment", "--whitelist-environment=A", "-c", "PROBE"), verdict: ErrUsage},
	{argv: sv("su", "--p", "-c", "PROBE"), verdict: ErrUsage},
	{argv: sv("su", "--s", "x", "-c", "PROBE"), verdict: ErrUsage},
	{argv: sv("su", "--login=3", "-c", "PROBE"), verdict: ErrUsage},
	{argv: sv("su", "--bogus", "-c", "PROBE"), verdict: ErrUsage},
	{argv: sv("su", "TUSER", "-c", "PROBE", "-x"), verdict: ErrUsage},
	{argv: sv("su", "", "-c", "PROBE"), verdict: ErrUsage},
}

func TestParseSu(t *testing.T) { checkBecomeCases(t, suCases) }
