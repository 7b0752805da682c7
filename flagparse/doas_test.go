package flagparse

import "testing"

var doasCases = []becomeCase{
	// Honoured.
	{argv: sv("doas", "PROBE", "a"), want: &Become{Command: sv("PROBE", "a")}},
	{argv: sv("doas", "-u", "TUSER", "PROBE"), want: &Become{User: "TUSER", Command: sv("PROBE")}},
	{argv: sv("doas", "-uTUSER", "PROBE"), want: &Become{User: "TUSER", Command: sv("PROBE")}},
	{argv: sv("doas", "-nu", "TUSER", "PROBE"), want: &Become{User: "TUSER", NonInteractive: true, Command: sv("PROBE")}},
	{argv: sv("doas", "-n", "-u", "TUSER", "PROBE", "-u", "x"), want: &Become{User: "TUSER", NonInteractive: true, Command: sv("PROBE", "-u", "x")}},
	{argv: sv("doas", "-u", "root", "-u", "TUSER", "PROBE"), want: &Become{User: "TUSER", Command: sv("PROBE")}},
	{argv: sv("doas", "--", "PROBE", "-n"), want: &Become{Command: sv("PROBE", "-n")}},
	{argv: sv("doas", "-u", "TUSER", "--", "PROBE"), want: &Become{User: "TUSER", Command: sv("PROBE")}},
	{argv: sv("doas", "--", "FOO=bar"), want: &Become{Command: sv("FOO=bar")}},
	{argv: sv("doas", "FOO=bar"), want: &Become{Command: sv("FOO=bar")}},
	{argv: sv("doas", "-"), want: &Become{Command: sv("-")}},
	{argv: sv("/usr/bin/doas", "-u", "root", "PROBE"), want: &Become{Command: sv("PROBE")}},

	// Accepted, not honoured.
	{argv: sv("doas", "-s"), verdict: ErrNotHonoured},
	{argv: sv("doas", "-n", "-s"), verdict: ErrNotHonoured},
	{argv: sv("doas", "-u", "TUSER", "-s"), verdict: ErrNotHonoured},
	{argv: sv("doas", "-L"), verdict: ErrNotHonoured},
	{argv: sv("doas", "-L", "-x"), verdict: ErrNotHonoured},
	{argv: sv("doas", "-L", "PROBE"), verdict: ErrNotHonoured},
	{argv: sv("doas", "-nL", "-s", "PROBE"), verdict: ErrNotHonoured},
	{argv: sv("doas", "-C", "/etc/doas.conf", "PROBE"), verdict: ErrNotHonoured},
	{argv: sv("doas", "-C", "/etc/doas.conf"), verdict: ErrNotHonoured},

	// Refused by doas.
	{argv: sv("doas"), verdict: ErrUsage},
	{argv: sv("doas", "-n"), verdict: ErrUsage},
	{argv: sv("doas", "-u", "TUSER"), verdict: ErrUsage},
	{argv: sv("doas", "--"), verdict: ErrUsage},
	{argv: sv("doas", "-x", "PROBE"), verdict: ErrUsage},
	{argv: sv("doas", "-x", "-L"), verdict: ErrUsage},
	{argv: sv("doas", "-u"), verdict: ErrUsage},
	{argv: sv("doas", "-C"), verdict: ErrUsage},
	{argv: sv("doas", "-s", "PROBE"), verdict: ErrUsage},
	{argv: sv("doas", "-C", "/etc/doas.conf", "-s"), verdict: ErrUsage},
	{argv: sv("doas", "--user=TUSER", "PROBE"), verdict: ErrUsage},
	{argv: sv("doas", "--help"), verdict: ErrUsage},
	{argv: sv("doas", "-u", "", "PROBE"), verdict: ErrUsage},
}

func TestParseDoas(t *testing.T) { checkBecomeCases(t, doasCases) }
