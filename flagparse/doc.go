// Package flagparse parses command lines: the OpenSSH 9.x ssh client's,
// and the remote commands the daemon may run in a persistent become
// context (sudo, doas, su). Everything here is pure: strings in, values
// and errors out; nothing is executed, read or looked up.
//
// Parse reads ssh's command line (ssh.c as of 9.2, plus the -P tag of
// 9.4) into an Options value. It reproduces ssh's option scanning (BSD
// getopt without permutation, with the restart after the destination),
// its destination forms, its -o line syntax and keyword table, the
// first-value-wins rule of process_config_line and the direct assignments
// ssh.c makes for some flags, and ssh's error messages for everything that
// fails before ssh reads a configuration file. It is NOT a config
// resolver: it reads no files, no environment and no passwd entry, does
// not expand ~, %tokens or ${VAR}, does not resolve names, and does not
// run the checks ssh makes after the configuration is loaded (for example
// "-f" without a command). Package sshconfig fills the values left unset.
//
// SplitCommand splits an ssh remote command (the string sshd hands to
// the login shell's -c) into argv when it is made only of literal words,
// as dash and bash would; QuoteCommand is its inverse. It refuses
// (ok=false) whatever the shell would interpret, and is conservative:
// some refused commands are literal in fact. It assumes an sh-family login
// shell (sh, dash, bash) and a locale whose multibyte characters never
// contain ASCII bytes (UTF-8, Latin-1); it cannot know what argv[0] names
// (a builtin, a function from ~/.bashrc, a PATH entry). It does not unwrap
// "/bin/sh -c '...'" (Ansible's wrapper splits into those three words).
//
// ParseBecome reads an argv as sudo 1.9.13, OpenDoas 6.8.2 or util-linux
// 2.38 su reads it (glibc getopt_long: bundling, attached arguments,
// abbreviated long options, sudo's and doas's stop at the first operand,
// su's permutation), and says what a become context must reproduce (the
// target, the options that change identity, environment or directory,
// named by Become.Key) and what only concerns authentication. Its errors
// say which of three verdicts applies: ErrNotBecome (not one of these
// tools), ErrUsage (the tool itself refuses the line) or ErrNotHonoured
// (the tool accepts it, but a persistent context could not do exactly
// what it does: listing, editing, background, timeouts, SELinux, a pty,
// an interactive shell...). A caller runs every refused command as plain
// ssh would. ParseBecome does not apply sudoers, doas.conf, /etc/shells
// or PAM policy, does not resolve users, groups or shells (an unknown name
// is the tool's runtime error, not a usage error here, save the empty
// one), does not know the caller's uid (su -g/-G need root) nor sudo's
// runas_default (Become.DefaultUser marks a sudo without -u), and assumes
// POSIXLY_CORRECT is unset (it would stop su's permutation).
package flagparse
