package sshdial

import (
	"os"
	"sync"
	"time"

	"github.com/mitogen-go/mitogend/internal/syserr"
)

// racyWindow is how old a file's mtime must be, when it is read, for the
// cached copy to be trusted on the strength of its identity alone. A file
// rewritten in place within one timestamp tick keeps its mtime; as with
// git's racy index, a file modified this recently is read again.
const racyWindow = 2 * time.Second

// maxHostsPerFile bounds the per-file memo of lookups.
const maxHostsPerFile = 4096

// fileVersion identifies one version of a file: the cache key.
type fileVersion struct {
	dev, ino uint64
	size     int64
	mtime    int64 // nanoseconds
}

func versionOf(fi os.FileInfo) fileVersion {
	dev, ino := devIno(fi)
	return fileVersion{dev: dev, ino: ino, size: fi.Size(), mtime: fi.ModTime().UnixNano()}
}

// knownFile is one parsed version of a known_hosts file. entries never
// change; byHost memoises which entries match a name, since a hashed
// line costs an HMAC per lookup.
type knownFile struct {
	version fileVersion
	stable  bool // see racyWindow
	entries []hostEntry

	mu     sync.Mutex
	byHost map[string][]*hostEntry
}

// knownHostsCache holds the parsed known_hosts files of the process, so
// that VerifyHostKey, called for every caller of a shared connection,
// re-reads a file only when it has changed. It memoises file contents,
// nothing else: every lookup still stats every file.
type knownHostsCache struct {
	mu    sync.Mutex
	files map[string]*knownFile
}

var knownHosts = &knownHostsCache{files: map[string]*knownFile{}}

// load returns the current version of path, or nil when it cannot be read
// (which ssh only mentions in debug output).
func (kc *knownHostsCache) load(path string, logf func(string, ...any)) *knownFile {
	fi, err := os.Stat(path)
	if err != nil {
		logf("load_hostkeys: fopen %s: %s", path, syserr.Text(err))
		return nil
	}
	v := versionOf(fi)
	kc.mu.Lock()
	f := kc.files[path]
	kc.mu.Unlock()
	if f != nil && f.stable && f.version == v {
		return f
	}
	start := time.Now()
	data, err := os.ReadFile(path)
	if err != nil {
		logf("load_hostkeys: %s: %s", path, syserr.Text(err))
		return nil
	}
	f = &knownFile{version: v, entries: parseKnownHosts(path, data, logf), byHost: map[string][]*hostEntry{}}
	// Trust the copy later only if the file did not change while it was
	// read and its mtime is safely in the past.
	if after, err := os.Stat(path); err == nil && versionOf(after) == v {
		f.stable = fi.ModTime().Before(start.Add(-racyWindow))
	}
	kc.mu.Lock()
	kc.files[path] = f
	kc.mu.Unlock()
	return f
}

// matching lists the entries whose host field matches host, in file order.
func (f *knownFile) matching(host string) []*hostEntry {
	f.mu.Lock()
	defer f.mu.Unlock()
	if m, ok := f.byHost[host]; ok {
		return m
	}
	var m []*hostEntry
	for i := range f.entries {
		if f.entries[i].matches(host) {
			m = append(m, &f.entries[i])
		}
	}
	if len(f.byHost) >= maxHostsPerFile {
		clear(f.byHost)
	}
	f.byHost[host] = m
	return m
}

// loadHostkeys is load_hostkeys over each file in turn: the entries for
// host from the user files, then the global ones.
func loadHostkeys(host string, files []string, logf func(string, ...any)) []*hostEntry {
	var all []*hostEntry
	for _, path := range files {
		if f := knownHosts.load(path, logf); f != nil {
			all = append(all, f.matching(host)...)
		}
	}
	return all
}
