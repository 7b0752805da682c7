package daemon

import "github.com/mitogen-go/mitogend/router"

// connTable is the daemon's connections by key (Daemon.conns) and, once they are known, by
// context id, by link and by share key, so that a call, a link going down or a new caller
// looking for a connection to share finds its connection without a scan through a thousand.
// Every method is called under Daemon.mu; byKey may be ranged over there too (status).
type connTable struct {
	byKey   map[string]*conn
	byID    map[router.ID]*conn
	byLink  map[*router.Link]*conn
	byShare map[string]map[*conn]bool
}

func newConnTable() connTable {
	return connTable{byKey: map[string]*conn{}, byID: map[router.ID]*conn{},
		byLink: map[*router.Link]*conn{}, byShare: map[string]map[*conn]bool{}}
}

// put files c under key (a new connection: no id or link yet).
func (t *connTable) put(key string, c *conn) {
	t.byKey[key], c.filedAs = c, key
	if t.byShare[c.shareKey] == nil {
		t.byShare[c.shareKey] = map[*conn]bool{}
	}
	t.byShare[c.shareKey][c] = true
}

// filed reports whether c is in the table.
func (t *connTable) filed(c *conn) bool { return t.byKey[c.filedAs] == c }

// identified indexes c by its context id, now known, unless it was dropped meanwhile.
func (t *connTable) identified(c *conn) {
	if t.filed(c) {
		t.byID[c.id] = c
	}
}

// linked sets c's link and indexes c by it, unless it was dropped meanwhile.
func (t *connTable) linked(c *conn, l *router.Link) {
	c.link = l
	if t.filed(c) {
		t.byLink[l] = c
	}
}

// refile moves c to another key (-O exit keeps a closing connection apart from new callers).
func (t *connTable) refile(c *conn, key string) {
	if t.filed(c) {
		delete(t.byKey, c.filedAs)
		t.byKey[key], c.filedAs = c, key
	}
}

// drop removes c, if it is filed, from every index.
func (t *connTable) drop(c *conn) {
	if !t.filed(c) {
		return
	}
	delete(t.byKey, c.filedAs)
	if t.byID[c.id] == c {
		delete(t.byID, c.id)
	}
	if c.link != nil && t.byLink[c.link] == c {
		delete(t.byLink, c.link)
	}
	if s := t.byShare[c.shareKey]; s != nil {
		delete(s, c)
		if len(s) == 0 {
			delete(t.byShare, c.shareKey)
		}
	}
}
