package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mitogen-go/mitogend/internal/shquote"
)

// recorder is a stand-in for the real sftp or scp: it writes its arguments, one per line, to
// the file its name says, so that the test sees exactly what the script passed.
const recorder = "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done >\"$0.args\"\n"

func TestShimScriptsPassArgumentsThrough(t *testing.T) {
	real := t.TempDir()
	for _, p := range transferPrograms {
		if err := os.WriteFile(filepath.Join(real, p), []byte(recorder), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(t.TempDir(), "shim dir")
	fakessh := filepath.Join(t.TempDir(), "fake ssh's")
	var out bytes.Buffer
	// The shim's own directory on PATH first is passed over: the scripts must not run themselves.
	if err := shim(dir, fakessh, dir+string(filepath.ListSeparator)+real, &out); err != nil {
		t.Fatal(err)
	}
	if target, err := os.Readlink(filepath.Join(dir, "ssh")); err != nil || target != fakessh {
		t.Fatalf("ssh -> %q (%v), want %q", target, err, fakessh)
	}
	// Ansible's sftp and scp argument forms, with quotes, spaces and an empty argument.
	args := []string{"-b", "-", "-C", "-o", "ControlMaster=auto", "-o", `IdentityFile="/k/my key"`, "-o", `User="root"`, "", "it's", "[127.0.0.1]"}
	for _, p := range transferPrograms {
		if b, err := exec.Command(filepath.Join(dir, p), args...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v %s", p, err, b)
		}
		b, err := os.ReadFile(filepath.Join(real, p) + ".args")
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		if want := append([]string{"-S", fakessh}, args...); !reflect.DeepEqual(got, want) {
			t.Errorf("%s got %q, want %q", p, got, want)
		}
	}
	// Run again, with the first shim on PATH: it replaces its own files and still finds the
	// real programs, not its scripts.
	out.Reset()
	if err := shim(dir, fakessh, dir+":"+real, &out); err != nil {
		t.Fatalf("second run: %v", err)
	}
	if !strings.Contains(out.String(), filepath.Join(real, "sftp")+" -S ") {
		t.Errorf("second run found another sftp:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "rm "+shquote.Word(filepath.Join(dir, "ssh"))+" "+shquote.Word(filepath.Join(dir, "sftp"))) {
		t.Errorf("the undo line does not remove the scripts:\n%s", out.String())
	}
}

func TestShimRefusesForeignFiles(t *testing.T) {
	for _, name := range []string{"ssh", "sftp", "scp"} {
		dir := t.TempDir()
		foreign := filepath.Join(dir, name)
		if err := os.WriteFile(foreign, []byte("#!/bin/sh\necho mine\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		real := t.TempDir()
		for _, p := range transferPrograms {
			os.WriteFile(filepath.Join(real, p), []byte(recorder), 0o755)
		}
		if err := shim(dir, "/bin/true", real, &bytes.Buffer{}); err == nil {
			t.Errorf("%s: shim replaced a file it did not make", name)
		}
		if b, _ := os.ReadFile(foreign); string(b) != "#!/bin/sh\necho mine\n" {
			t.Errorf("%s was changed: %q", name, b)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 1 {
			t.Errorf("%s: a refused shim left %d files, want only the foreign one", name, len(ents))
		}
	}
}

func TestShimWithoutTransferPrograms(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := shim(dir, "/bin/true", t.TempDir(), &out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "sftp")); err == nil {
		t.Error("an sftp script was made with no sftp on PATH")
	}
	if !strings.Contains(out.String(), "no sftp found on PATH") {
		t.Errorf("output does not say sftp is missing:\n%s", out.String())
	}
}
