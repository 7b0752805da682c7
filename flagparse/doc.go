// Package flagparse parses the command line of the OpenSSH 9.x ssh client
// (ssh.c as of 9.2, plus the -P tag of 9.4) into an Options value.
//
// It reproduces ssh's option scanning (BSD getopt without permutation, with
// the restart after the destination), its destination forms, its -o line
// syntax and keyword table, the first-value-wins rule of process_config_line
// and the direct assignments ssh.c makes for some flags, and ssh's error
// messages for everything that fails before ssh reads a configuration file.
//
// It is NOT a config resolver: it reads no files, no environment and no
// passwd entry, does not expand ~, %tokens or ${VAR}, does not resolve
// names, and does not run the checks ssh makes after the configuration is
// loaded (for example "-f" without a command). Package sshconfig fills the
// values left unset here.
package flagparse
