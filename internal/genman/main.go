// Command genman writes the manual pages fakessh.1 and mitogend.1 into a directory: mitogend(1)
// from mitogend's command line itself (urfave/cli's ToMan over the App that answers
// mitogend --help), fakessh(1) from fakessh.md with the usage text fakessh prints (as ssh does)
// for its synopsis. `make man` runs it; it is a build tool, not installed.
package main

import (
	"bytes"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/cpuguy83/go-md2man/v2/md2man"

	"github.com/mitogen-go/mitogend/daemon/cli"
	"github.com/mitogen-go/mitogend/flagparse"
	"github.com/mitogen-go/mitogend/internal/version"
)

//go:embed fakessh.md
var fakesshPage string

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: genman DIR DOCDIR (DOCDIR: where the README is installed, for SEE ALSO)")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "genman:", err)
		os.Exit(1)
	}
}

func run(dir, docDir string) error {
	fakessh, err := fakesshManual(docDir)
	if err != nil {
		return err
	}
	mitogend, err := cli.Manual()
	if err != nil {
		return fmt.Errorf("mitogend(1): %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "fakessh.1"), fakessh, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "mitogend.1"), []byte(titled(mitogend)), 0o644)
}

func fakesshManual(docDir string) ([]byte, error) {
	t, err := template.New("fakessh.md").Parse(fakesshPage)
	if err != nil {
		return nil, fmt.Errorf("fakessh(1): %w", err)
	}
	var md bytes.Buffer
	err = t.Execute(&md, map[string]string{
		"Usage":   flagparse.Usage,
		"Version": version.Version(),
		"Doc":     docDir,
	})
	if err != nil {
		return nil, fmt.Errorf("fakessh(1): %w", err)
	}
	return md2man.Render(md.Bytes()), nil
}

// titled gives ToMan's bare ".TH mitogend 1" the same footer and header as fakessh(1).
func titled(page string) string {
	return strings.Replace(page, ".TH mitogend 1\n",
		fmt.Sprintf(".TH mitogend 1 \"\" \"mitogend %s\" \"User Commands\"\n", version.Version()), 1)
}
