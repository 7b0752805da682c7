package layout

import (
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"
)

func TestAgentDirsFollowThePrefix(t *testing.T) {
	for exe, want := range map[string][]string{
		"/usr/bin/mitogend":             {"/usr/bin", "/usr/lib/mitogend"},
		"/opt/m/bin/mitogend":           {"/opt/m/bin", "/opt/m/lib/mitogend"},
		"/home/u/src/m/bin/mitogend":    {"/home/u/src/m/bin", "/home/u/src/m/lib/mitogend"},
		"/tmp/root/usr/local/bin/mitod": {"/tmp/root/usr/local/bin", "/tmp/root/usr/local/lib/mitogend"},
	} {
		if got := AgentDirs(exe); !reflect.DeepEqual(got, want) {
			t.Errorf("AgentDirs(%s) = %v, want %v", exe, got, want)
		}
	}
}

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestFindAgents lays out a checkout's bin/ (make's names), an install's lib/mitogend and a GOBIN
// (go install's names) and checks which build wins for each platform.
func TestFindAgents(t *testing.T) {
	root := t.TempDir()
	bin, lib := filepath.Join(root, "bin"), filepath.Join(root, LibDir)
	touch(t, filepath.Join(bin, "mitogend"))
	touch(t, filepath.Join(bin, "mitogen-agent.linux-arm64"))
	touch(t, filepath.Join(lib, "mitogen-agent.linux-arm64"))
	touch(t, filepath.Join(lib, "mitogen-agent.linux-arm64.gz"))
	touch(t, filepath.Join(lib, "mitogen-agent.linux-riscv64"))
	touch(t, filepath.Join(lib, "mitogen-agent.linux-riscv64.gz"))
	touch(t, filepath.Join(lib, "freebsd_amd64", "mitogen-agent"))
	touch(t, filepath.Join(lib, "shim", "ssh"))
	touch(t, filepath.Join(bin, "mitogen-agent")) // go install's build for this platform

	got := FindAgents(AgentDirs(filepath.Join(bin, "mitogend")))
	want := []Agent{
		{GOOS: "freebsd", GOARCH: "amd64", Path: filepath.Join(lib, "freebsd_amd64", "mitogen-agent")},
		{GOOS: "linux", GOARCH: "arm64", Path: filepath.Join(bin, "mitogen-agent.linux-arm64")},
		{GOOS: "linux", GOARCH: "riscv64", Path: filepath.Join(lib, "mitogen-agent.linux-riscv64"), Gzip: true},
	}
	own := Agent{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, Path: filepath.Join(bin, "mitogen-agent")}
	if own.GOOS+own.GOARCH != "linuxarm64" {
		want = append(want, own)
	}
	sortAgents(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FindAgents:\n got %+v\nwant %+v", got, want)
	}
	if p, ok := FindAgent(AgentDirs(filepath.Join(bin, "mitogend")), "linux", "mips"); ok {
		t.Errorf("FindAgent found %s for a platform with no build", p)
	}
}

func sortAgents(a []Agent) {
	for i := range a {
		for j := i + 1; j < len(a); j++ {
			if a[j].GOOS+"/"+a[j].GOARCH < a[i].GOOS+"/"+a[i].GOARCH {
				a[i], a[j] = a[j], a[i]
			}
		}
	}
}
