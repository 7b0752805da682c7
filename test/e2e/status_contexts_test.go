package e2e

import (
	"bufio"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mitogen-go/mitogend/test/sshdtest"
)

// TestStatusCountsStreamsBehindIntermediaries: a context behind an intermediary's agent (the
// generic exec method) serving a call shows its stream in status, in the summary's count and
// under --busy, which lists its intermediary's connection alone; with the call over, --busy
// lists nothing.
func TestStatusCountsStreamsBehindIntermediaries(t *testing.T) {
	const mids, leaves = 2, 2
	f := sshdtest.StartFleet(t, mids)
	r := attachRig(t, f.Env())
	var cmds [][]string
	for i := range mids {
		for j := range leaves {
			cmds = append(cmds, leafCall(f.Targets[i].Alias, i, j))
		}
	}
	for k, res := range r.parallel(cmds) {
		if res.err != nil || res.code != 0 {
			t.Fatalf("leaf %d: exit %d, err %v, stderr %q", k, res.code, res.err, res.stderr)
		}
	}
	// Leaf 1.1 serves a call until its stdin closes.
	call := exec.Command(filepath.Join(binDir, "fakessh"), "-o", "mitogen.container=exec env MGLEAF="+leafName(1, 1),
		f.Targets[1].Alias, "echo started; exec cat >/dev/null")
	call.Env = r.env
	stdin, err := call.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := call.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := call.Start(); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "started\n" {
		t.Fatalf("the long call said %q, %v", line, err)
	}

	busy := r.statusJSON("--busy")
	if len(busy.Connections) != 1 || busy.Connections[0].Destination != destOf(f, 1) {
		var got []string
		for _, c := range busy.Connections {
			got = append(got, c.Destination)
		}
		t.Errorf("status --busy lists %v, want %s alone", got, destOf(f, 1))
	}
	if busy.Summary == nil || busy.Summary.Streams < 1 || busy.Summary.NoAnswer != 0 {
		t.Errorf("status summary %+v: want the leaf's stream counted, every agent answering", busy.Summary)
	}
	for _, c := range busy.Connections {
		for _, cs := range c.Contexts {
			if want := strings.HasSuffix(cs.Name, leafName(1, 1)); (cs.Streams > 0) != want || cs.NoAnswer {
				t.Errorf("context %q: %d streams (no answer %v); want streams only on leaf %s", cs.Name, cs.Streams, cs.NoAnswer, leafName(1, 1))
			}
		}
	}

	stdin.Close()
	if err := call.Wait(); err != nil {
		t.Fatalf("the long call: %v", err)
	}
	if after := r.statusJSON("--busy"); len(after.Connections) != 0 {
		t.Errorf("status --busy after the call lists %d connections", len(after.Connections))
	}
}
