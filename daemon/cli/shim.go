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

// shimCommand is `mitogend shim`: a directory to put first on PATH, holding `ssh` -> fakessh,
// so that every program that runs "ssh" from PATH (rsync -e ssh, git, Ansible and its
// synchronize) gets fakessh, and `sftp` and `scp`, which run /usr/bin/ssh whatever PATH says,
// as scripts that run the real ones with `-S fakessh` (Ansible's file transfers).
func shimCommand(stdio Stdio, home string) *ucli.Command {
	return &ucli.Command{
		Name:  "shim",
		Usage: "create a directory with ssh -> fakessh (and sftp, scp through it) to put first on PATH",
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
			return shim(c.String("dir"), target, os.Getenv("PATH"), stdio.Stdout)
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

// shim creates dir with the symlink and the scripts, and prints how to use and undo it. It
// refuses to replace a file in dir that it did not make, so that it never destroys a real
// binary. path is the PATH the real sftp and scp are found on (dir itself left out).
func shim(dir, fakessh, path string, w io.Writer) error {
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
	made := []string{link}
	reals := map[string]string{}
	var missing []string
	for _, prog := range transferPrograms {
		if reals[prog] = lookPathWithout(prog, path, dir); reals[prog] == "" {
			missing = append(missing, prog)
		} else {
			made = append(made, filepath.Join(dir, prog))
		}
	}
	for _, p := range made { // all checked before any is written
		if err := replaceable(p); err != nil {
			return err
		}
	}
	for _, p := range made[1:] {
		prog := filepath.Base(p)
		if err := writeScript(p, shimScript(prog, reals[prog], fakessh)); err != nil {
			return err
		}
		fmt.Fprintf(w, "# %s runs %s -S %s\n", p, reals[prog], fakessh)
	}
	os.Remove(link)
	if err := os.Symlink(fakessh, link); err != nil {
		return fmt.Errorf("cli: %w", err)
	}
	fmt.Fprintf(w, "# %s -> %s\n", link, fakessh)
	for _, prog := range missing {
		fmt.Fprintf(w, "# no %s found on PATH: none made\n", prog)
	}
	fmt.Fprintf(w, "# Put it first on PATH (add the line to your shell profile to keep it):\n")
	fmt.Fprintf(w, "export PATH=%s\n", pathLine(dir))
	fmt.Fprintf(w, "# To undo: take %s out of PATH (or start a new shell without the line), then\n", dir)
	quoted := make([]string, len(made))
	for i, p := range made {
		quoted[i] = shquote.Word(p)
	}
	fmt.Fprintf(w, "#   rm %s && rmdir %s\n", strings.Join(quoted, " "), shquote.Word(dir))
	return nil
}

// transferPrograms are the OpenSSH programs that run ssh themselves, from a fixed path unless
// -S names another: the shim gives each a script that names fakessh.
var transferPrograms = []string{"sftp", "scp"}

// shimMarker is the second line of every script shim writes: what it may replace.
const shimMarker = "# mitogend shim: "

// shimScript runs the real program with -S fakessh ahead of the caller's arguments. sftp and scp
// take the last -S they are given, so a caller's own -S still wins; everything else reaches
// them as it came, and they call fakessh exactly as they would have called ssh.
func shimScript(prog, real, fakessh string) string {
	return "#!/bin/sh\n" + shimMarker + prog + " through fakessh; remove this file to undo\n" +
		"exec " + shquote.Word(real) + " -S " + shquote.Word(fakessh) + ` "$@"` + "\n"
}

// replaceable is nil when p does not exist or is something shim made: a symlink, or a script
// with shimMarker.
func replaceable(p string) error {
	st, err := os.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("cli: %w", err)
	case st.Mode()&fs.ModeSymlink != 0:
		return nil
	case isShimScript(p):
		return nil
	}
	return fmt.Errorf("cli: %s exists and is not a symlink; not replacing it", p)
}

// isShimScript reports whether p is a script shim wrote.
func isShimScript(p string) bool {
	st, err := os.Lstat(p)
	if err != nil || !st.Mode().IsRegular() || st.Size() > 4096 {
		return false
	}
	b, err := os.ReadFile(p)
	return err == nil && strings.HasPrefix(string(b), "#!/bin/sh\n"+shimMarker)
}

// writeScript puts text at p, executable, replacing what is there in one rename.
func writeScript(p, text string) error {
	tmp := p + ".mitogend-shim.tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o755); err != nil {
		return fmt.Errorf("cli: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil { // past the umask
		os.Remove(tmp)
		return fmt.Errorf("cli: %w", err)
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("cli: %w", err)
	}
	return nil
}

// lookPathWithout finds prog on path as exec would, skipping dir (a shim already on PATH
// must not run itself). "" when there is none.
func lookPathWithout(prog, path, dir string) string {
	for _, d := range filepath.SplitList(path) {
		if d == "" {
			d = "."
		}
		abs, err := filepath.Abs(d)
		if err != nil || abs == dir {
			continue
		}
		p := filepath.Join(abs, prog)
		st, err := os.Stat(p)
		if err != nil || !st.Mode().IsRegular() || st.Mode()&0o111 == 0 {
			continue
		}
		if same, _ := filepath.EvalSymlinks(abs); same == dir || isShimScript(p) {
			continue // this shim, or another one: the real program lies further on
		}
		return p
	}
	return ""
}

// pathLine is the value for export PATH=...: dir, then the current PATH.
func pathLine(dir string) string {
	if !strings.ContainsAny(dir, "$`\\\"\n") {
		return `"` + dir + `:$PATH"`
	}
	return shquote.Word(dir) + `:"$PATH"`
}
