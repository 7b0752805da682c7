package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mitogen-go/mitogend/test/testenv"
)

// testUser makes a throwaway account with a home and the given login shell, removed when the
// test ends.
func testUser(t *testing.T, shell string) (name, home string) {
	t.Helper()
	testenv.NeedRoot(t, "creating test users")
	testenv.NeedTool(t, "useradd")
	b := make([]byte, 3)
	rand.Read(b)
	name = "mg" + hex.EncodeToString(b)
	if out, err := exec.Command("useradd", "-m", "-s", shell, name).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("userdel", "-r", "-f", name).Run() })
	out, err := exec.Command("getent", "passwd", name).Output()
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Split(strings.TrimSpace(string(out)), ":")
	return name, f[5]
}

// fileOwner is the name of the account that owns path.
func fileOwner(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("stat", "-c", "%U", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// sudoLog makes sudo log every invocation to a file of the test's (a sudoers drop-in, removed
// when the test ends) and returns a counter of the invocations so far.
func sudoLog(t *testing.T) func() int {
	t.Helper()
	testenv.NeedRoot(t, "a sudoers drop-in")
	testenv.NeedTool(t, "sudo")
	log := filepath.Join(t.TempDir(), "sudo.log")
	dropIn := "/etc/sudoers.d/mitogen-test-log"
	if err := os.WriteFile(dropIn, []byte("Defaults logfile=\""+log+"\"\n"), 0o440); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(dropIn) })
	return func() int {
		b, _ := os.ReadFile(log)
		return strings.Count(string(b), "COMMAND=")
	}
}

// chains writes the rig's named-chains file (~/.mitogen/chains in the client HOME).
func (r *rig) chains(t *testing.T, text string) {
	t.Helper()
	writeFile(t, filepath.Join(r.srv.ClientHome, ".mitogen", "chains"), text)
}

// TestChainBecomeSudo: a named chain with Become sudo runs every call as the become user, in one
// context started by one sudo for all of them.
func TestChainBecomeSudo(t *testing.T) {
	r := newRig(t)
	sudos := sudoLog(t)
	user, home := testUser(t, "/bin/bash")
	r.chains(t, fmt.Sprintf("Host svc\n  Via target\n  Become sudo\n  BecomeUser %s\n", user))
	for i := range 5 {
		res := r.must(r.fakessh(nil, "svc", fmt.Sprintf("id -un; pwd; touch made-%d", i)))
		if want := user + "\n" + home + "\n"; res.stdout != want {
			t.Fatalf("call %d: %q, want %q", i, res.stdout, want)
		}
	}
	if n := sudos(); n != 1 {
		t.Errorf("sudo ran %d times for 5 calls, want 1", n)
	}
	files, _ := filepath.Glob(filepath.Join(home, "made-*"))
	if len(files) != 5 {
		t.Errorf("%d files made in %s, want 5", len(files), home)
	}
	for _, f := range files {
		if owner := fileOwner(t, f); owner != user {
			t.Errorf("%s belongs to %s, want %s", f, owner, user)
		}
	}
	st := r.status()
	if len(st.Connections) != 1 || len(st.Connections[0].Contexts) != 1 {
		t.Fatalf("status: %+v", st.Connections)
	}
	if c := st.Connections[0].Contexts[0]; c.Name != "sudo -u "+user || c.Parent != st.Connections[0].Context {
		t.Errorf("context %+v", c)
	}
}
