// Package sshopt holds the pieces of OpenSSH 9.2's readconf.c, misc.c and
// match.c that both flagparse (ssh's -o lines) and sshconfig (ssh_config
// files) need: the line lexer (strdelim, argv_split), pattern matching,
// the number, port and time parsers, and the value tables of the
// multistate keywords.
//
// It is NOT a config parser: it knows no keyword semantics beyond those
// tables, keeps no state, and does no I/O (a2port's service names come
// from a table generated from Debian 12's /etc/services).
package sshopt
