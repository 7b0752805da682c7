package transfer

import (
	"bytes"
	"context"
	"crypto/rand"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mitogen-go/mitogend/internal/atomicfile"
	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
	"github.com/mitogen-go/mitogend/tunnel"
)

// link is a client endpoint joined to an "agent" endpoint serving ServePut and ServeGet with
// home as its home directory, over a real router link on a socket pair.
func link(t *testing.T, home string) (*tunnel.Endpoint, router.ID) {
	t.Helper()
	agent, cli := tunnel.NewEndpoint(nil), tunnel.NewEndpoint(nil)
	ar := router.New(router.Config{ID: 0, Handler: agent})
	cr := router.New(router.Config{ID: 1, Handler: cli})
	agent.Attach(ar)
	cli.Attach(cr)
	fds, err := socketPair()
	if err != nil {
		t.Fatal(err)
	}
	ar.AddLink(fds[0], router.LinkConfig{Name: "client", Trusted: true, Peer: 1})
	cr.AddLink(fds[1], router.LinkConfig{Name: "agent", Parent: true, Trusted: true, Peer: 0})
	t.Cleanup(func() { cr.Close(); ar.Close() })
	serve := func(f func(Stream, []byte, string) error) tunnel.StreamHandler {
		return func(s *tunnel.Stream, p []byte) {
			defer s.Close()
			f(s, p, home)
		}
	}
	agent.Listen(proto.AgentPut, serve(ServePut))
	agent.Listen(proto.AgentGet, serve(ServeGet))
	return cli, 0
}

func socketPair() ([2]net.Conn, error) {
	a, b := net.Pipe()
	return [2]net.Conn{a, b}, nil
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func random(t *testing.T, p string, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, b, 0o640); err != nil {
		t.Fatal(err)
	}
	return b
}

func sameTree(t *testing.T, a, b string) {
	t.Helper()
	filepath.Walk(a, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(a, p)
		x, _ := os.ReadFile(p)
		y, err := os.ReadFile(filepath.Join(b, rel))
		if err != nil || !bytes.Equal(x, y) {
			t.Errorf("%s differs (%v)", rel, err)
		}
		return nil
	})
}

func noTemps(t *testing.T, dir string) {
	t.Helper()
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && (strings.HasPrefix(info.Name(), atomicfile.TempPrefix) || strings.HasPrefix(info.Name(), atomicfile.PartialPrefix)) {
			t.Errorf("left behind: %s", p)
		}
		return nil
	})
}

func TestPushPullTree(t *testing.T) {
	base := t.TempDir()
	home, src, back := filepath.Join(base, "home"), filepath.Join(base, "src"), filepath.Join(base, "back")
	os.Mkdir(home, 0o755)
	random(t, filepath.Join(src, "big"), 3<<20+17) // streams
	for i := range 50 {
		random(t, filepath.Join(src, "small", string(rune('a'+i%26))+strings.Repeat("x", i/26)), 100*i) // inline
	}
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	os.Chtimes(filepath.Join(src, "big"), old, old)
	ep, dst := link(t, home)
	var total, sent int64
	sum, err := Push(ctx(t), ep, dst, []string{src}, "up", Options{Recursive: true, Preserve: true,
		Start: func(n int64) { total = n }, Progress: func(n int64) { sent += n }})
	if err != nil || len(sum.Errors) > 0 {
		t.Fatalf("push: %v %v", err, sum.Errors)
	}
	if sum.Files != 51 || total != sent || total != 3<<20+17+100*(49*50/2) {
		t.Errorf("summary %+v, total %d, sent %d", sum, total, sent)
	}
	sameTree(t, src, filepath.Join(home, "up"))
	if st, _ := os.Stat(filepath.Join(home, "up", "big")); !st.ModTime().Equal(old) || st.Mode().Perm() != 0o640 {
		t.Errorf("-p: %v %v", st.ModTime(), st.Mode())
	}
	sum, err = Pull(ctx(t), ep, dst, []string{"up"}, back, Options{Recursive: true, Preserve: true})
	if err != nil || len(sum.Errors) > 0 || sum.Files != 51 {
		t.Fatalf("pull: %v %+v", err, sum)
	}
	sameTree(t, src, back)
	noTemps(t, home)
	noTemps(t, back)
}

func TestPushErrorsPerFile(t *testing.T) {
	base := t.TempDir()
	home := filepath.Join(base, "home")
	os.Mkdir(home, 0o755)
	a, b := filepath.Join(base, "a"), filepath.Join(base, "b")
	random(t, a, 10)
	random(t, b, 2<<20)
	os.Mkdir(filepath.Join(home, "dir"), 0o755)
	os.Mkdir(filepath.Join(home, "dir", "b"), 0o755) // a directory where b goes
	ep, dst := link(t, home)
	sum, err := Push(ctx(t), ep, dst, []string{a, filepath.Join(base, "missing"), b}, "dir", Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(base, "missing") + ": No such file or directory", "dir/b: Is a directory"}
	if strings.Join(sum.Errors, "\n") != strings.Join(want, "\n") || sum.Files != 1 {
		t.Errorf("errors %q files %d, want %q", sum.Errors, sum.Files, want)
	}
	sum, _ = Push(ctx(t), ep, dst, []string{a, b}, "dir/a", Options{})
	if len(sum.Errors) != 1 || sum.Errors[0] != "dir/a: Not a directory" {
		t.Errorf("two files to a file: %q", sum.Errors)
	}
	noTemps(t, home)
}

func TestChecksumSkipsAndResumeGoesOn(t *testing.T) {
	base := t.TempDir()
	home := filepath.Join(base, "home")
	os.Mkdir(home, 0o755)
	src := filepath.Join(base, "big")
	data := random(t, src, 4<<20)
	ep, dst := link(t, home)
	if _, err := Push(ctx(t), ep, dst, []string{src}, "big", Options{}); err != nil {
		t.Fatal(err)
	}
	sum, err := Push(ctx(t), ep, dst, []string{src}, "big", Options{Checksum: true})
	if err != nil || sum.Skipped != 1 || sum.Files != 0 {
		t.Errorf("checksum: %v %+v", err, sum)
	}
	// A partial file as an interrupted --resume transfer leaves it: the next one sends the rest.
	os.Remove(filepath.Join(home, "big"))
	os.WriteFile(filepath.Join(home, atomicfile.PartialName("big")), data[:1<<20], 0o600)
	var sent int64
	sum, err = Push(ctx(t), ep, dst, []string{src}, "big", Options{Resume: true, Progress: func(n int64) { sent += n }})
	if err != nil || sum.Files != 1 || len(sum.Errors) > 0 {
		t.Fatalf("resume: %v %+v", err, sum)
	}
	if sent != 3<<20 {
		t.Errorf("resume sent %d bytes, want the 3 MiB the partial file lacked", sent)
	}
	if got, _ := os.ReadFile(filepath.Join(home, "big")); !bytes.Equal(got, data) {
		t.Error("resumed file differs")
	}
	noTemps(t, home)
}
