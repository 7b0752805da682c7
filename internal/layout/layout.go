// Package layout says where mitogend's parts are: the agent builds it sends to targets sit beside
// the mitogend binary (a checkout's bin/, or GOBIN after go install) or in lib/mitogend under
// the prefix it is installed in (PREFIX/bin/mitogend finds PREFIX/lib/mitogend/, whatever PREFIX
// is). It only finds files; it neither reads nor checks the builds.
package layout

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// LibDir is where `make install` puts the agent builds (and the ssh shim), relative to PREFIX.
const LibDir = "lib/mitogend"

// agentName is the agent's file name as go install names it.
const agentName = "mitogen-agent"

// AgentDirs are the directories searched for agent builds, in order, for the mitogend at exe:
// its own directory, then ../lib/mitogend relative to it.
func AgentDirs(exe string) []string {
	bin := filepath.Dir(exe)
	return []string{bin, filepath.Join(filepath.Dir(bin), LibDir)}
}

// ExecutableAgentDirs is AgentDirs of the running program, its symlinks resolved (a
// /usr/local/bin/mitogend linked to /opt/m/bin/mitogend uses /opt/m/lib/mitogend).
func ExecutableAgentDirs() ([]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		return nil, err
	}
	return AgentDirs(exe), nil
}

// AgentFile is the build for goos/goarch as the Makefile names it.
func AgentFile(goos, goarch string) string { return agentName + "." + goos + "-" + goarch }

// AgentPaths are the files in dir that may hold the build for goos/goarch, in order: the
// Makefile's name, then go install's (GOOS_GOARCH/mitogen-agent when cross-compiled, and a plain
// mitogen-agent for this program's own platform).
func AgentPaths(dir, goos, goarch string) []string {
	paths := []string{
		filepath.Join(dir, AgentFile(goos, goarch)),
		filepath.Join(dir, goos+"_"+goarch, agentName),
	}
	if goos == runtime.GOOS && goarch == runtime.GOARCH {
		paths = append(paths, filepath.Join(dir, agentName))
	}
	return paths
}

// Agent is one agent build found.
type Agent struct {
	GOOS, GOARCH string
	Path         string
	Gzip         bool // Path+".gz" exists too (the Makefile's gzip -9 copy)
}

// FindAgents lists the builds in dirs, one per platform (the one AgentPaths and the order of dirs
// put first, as the daemon would pick it), sorted by platform.
func FindAgents(dirs []string) []Agent {
	var platforms [][2]string
	seen := map[[2]string]bool{}
	for _, dir := range dirs {
		for _, p := range platformsIn(dir) {
			if !seen[p] {
				seen[p] = true
				platforms = append(platforms, p)
			}
		}
	}
	sort.Slice(platforms, func(i, j int) bool {
		return platforms[i][0]+"/"+platforms[i][1] < platforms[j][0]+"/"+platforms[j][1]
	})
	var found []Agent
	for _, p := range platforms {
		if path, ok := FindAgent(dirs, p[0], p[1]); ok {
			found = append(found, Agent{GOOS: p[0], GOARCH: p[1], Path: path, Gzip: isFile(path + ".gz")})
		}
	}
	return found
}

// FindAgent is the first of AgentPaths, over dirs in order, that is a regular file.
func FindAgent(dirs []string, goos, goarch string) (string, bool) {
	for _, dir := range dirs {
		for _, p := range AgentPaths(dir, goos, goarch) {
			if isFile(p) {
				return p, true
			}
		}
	}
	return "", false
}

// platformsIn names the platforms dir seems to hold builds for, from the file names alone.
func platformsIn(dir string) [][2]string {
	var out [][2]string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		name := e.Name()
		switch {
		case e.IsDir():
			if goos, goarch, ok := strings.Cut(name, "_"); ok {
				out = append(out, [2]string{goos, goarch})
			}
		case name == agentName:
			out = append(out, [2]string{runtime.GOOS, runtime.GOARCH})
		case strings.HasPrefix(name, agentName+".") && !strings.HasSuffix(name, ".gz"):
			if goos, goarch, ok := strings.Cut(strings.TrimPrefix(name, agentName+"."), "-"); ok {
				out = append(out, [2]string{goos, goarch})
			}
		}
	}
	return out
}

func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// WriteAgents prints the builds FindAgents finds, one "agent OS/ARCH PATH" line each, or one
// "agent none in DIR..." line: the part of `mitogend --version` and `fakessh -vV` that says
// which targets can be served.
func WriteAgents(w io.Writer, dirs []string) {
	found := FindAgents(dirs)
	if len(found) == 0 {
		fmt.Fprintf(w, "agent none in %s\n", strings.Join(dirs, " "))
	}
	for _, a := range found {
		fmt.Fprintf(w, "agent %s/%s %s\n", a.GOOS, a.GOARCH, a.Path)
	}
}
