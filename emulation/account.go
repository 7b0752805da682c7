package emulation

import (
	"os"
	"strconv"
	"strings"
)

// account is the part of a passwd entry sshd uses to start a session.
type account struct {
	name, dir, shell string
}

// lookupAccount reads /etc/passwd for the current uid. os/user is not used:
// it does not return the shell, and in the static agent it reads the same
// file anyway. Fields missing here are later taken from sshd's environment.
func lookupAccount() account {
	b, err := os.ReadFile("/etc/passwd")
	if err != nil {
		return account{}
	}
	return findAccount(string(b), os.Getuid())
}

func findAccount(passwd string, uid int) account {
	want := strconv.Itoa(uid)
	for _, line := range strings.Split(passwd, "\n") {
		// name:passwd:uid:gid:gecos:dir:shell
		f := strings.Split(line, ":")
		if len(f) == 7 && f[2] == want {
			return account{name: f[0], dir: f[5], shell: f[6]}
		}
	}
	return account{}
}
