package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/mitogen-go/mitogend/internal/shquote"
)

// shimCommand is `mitogend shim`: a directory holding `ssh` -> fakessh, to put first on PATH so
// that every program that runs "ssh" from PATH (rsync -e ssh, git, Ansible) gets fakessh. scp
// and sftp run /usr/bin/ssh whatever PATH says; they need -S.
func shimCommand(stdio Stdio, home string) *ucli.Command {
	return &ucli.Command{
		Name:  "shim",
		Usage: "create a directory with ssh -> fakessh to put first on PATH",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "dir", Usage: "directory to create", Value: filepath.Join(home, ".mitogen", "bin")},
			&ucli.StringFlag{Name: "fakessh", Usage: "fakessh binary (default: beside mitogend, else on PATH)"},
		},
		Action: func(c *ucli.Context) error {
			target := c.String("fakessh")
			if target == "" {
				var err error
				if target, err = findFakessh(); err != nil {
					return err
				}
			}
			return shim(c.String("dir"), target, stdio.Stdout)
		},
	}
}

// findFakessh looks beside this executable first: the two are built and installed together.
func findFakessh() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		return "", err
	}
	p := filepath.Join(filepath.Dir(exe), "fakessh")
	if st, err := os.Stat(p); err != nil || st.IsDir() {
		return "", fmt.Errorf("cli: no fakessh beside %s (use --fakessh)", exe)
	}
	return p, nil
}

// shim creates dir with the symlink and prints how to use and undo it. It refuses to replace an
// ssh in dir that is not a symlink, so that it never destroys a real binary.
func shim(dir, fakessh string, w io.Writer) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if fakessh, err = filepath.Abs(fakessh); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cli: %w", err)
	}
	link := filepath.Join(dir, "ssh")
	switch st, err := os.Lstat(link); {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("cli: %w", err)
	case st.Mode()&fs.ModeSymlink == 0:
		return fmt.Errorf("cli: %s exists and is not a symlink; not replacing it", link)
	default:
		if err := os.Remove(link); err != nil {
			return fmt.Errorf("cli: %w", err)
		}
	}
	if err := os.Symlink(fakessh, link); err != nil {
		return fmt.Errorf("cli: %w", err)
	}
	fmt.Fprintf(w, "# %s -> %s\n", link, fakessh)
	fmt.Fprintf(w, "# Put it first on PATH (add the line to your shell profile to keep it):\n")
	fmt.Fprintf(w, "export PATH=%s\n", pathLine(dir))
	fmt.Fprintf(w, "# scp and sftp run /usr/bin/ssh whatever PATH says: give them -S ssh.\n")
	fmt.Fprintf(w, "# To undo: take %s out of PATH (or start a new shell without the line), then\n", dir)
	fmt.Fprintf(w, "#   rm %s && rmdir %s\n", shquote.Word(link), shquote.Word(dir))
	return nil
}

// pathLine is the value for export PATH=...: dir, then the current PATH.
func pathLine(dir string) string {
	if !strings.ContainsAny(dir, "$`\\\"\n") {
		return `"` + dir + `:$PATH"`
	}
	return shquote.Word(dir) + `:"$PATH"`
}
