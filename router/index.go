package router

// The route table's indexes, so that nothing a call does costs in proportion to the number of
// links or contexts: a link knows the contexts routed through it (what its loss takes), and each
// context the links its frames crossed (where its Disconnect must go). All of it is guarded by
// Router.mu.

// setRouteLocked routes id through rt.link, moving it off any link it was routed through before.
func (r *Router) setRouteLocked(id ID, rt route) {
	if old, ok := r.routes[id]; ok {
		delete(old.link.routed, id)
	}
	r.routes[id] = rt
	rt.link.routed[id] = struct{}{}
}

// deleteRouteLocked forgets id's route.
func (r *Router) deleteRouteLocked(id ID) {
	if rt, ok := r.routes[id]; ok {
		delete(rt.link.routed, id)
		delete(r.routes, id)
	}
}

// crossLocked notes that a frame from or to context id went out or came in on link l, so that
// id's Disconnect reaches l's side, where something may wait on id. Nothing is noted for the
// link id lives behind (a notice never goes back the way it came), the parent link (every
// notice goes up) or this context (it is never announced).
func (r *Router) crossLocked(id ID, l *Link) {
	if l == r.parent || id == r.cfg.ID {
		return
	}
	if rt, ok := r.routes[id]; ok && rt.link == l {
		return
	}
	set := r.crossed[id]
	if set == nil {
		set = map[*Link]struct{}{}
		r.crossed[id] = set
	}
	if _, ok := set[l]; !ok {
		set[l] = struct{}{}
		l.crossed[id] = struct{}{}
	}
}

// noticeLinksLocked is where id's Disconnect goes, coming from except (nil: from here): the
// parent link and every link its frames crossed, but except. id's crossings are forgotten: it is
// gone.
func (r *Router) noticeLinksLocked(id ID, except *Link) []*Link {
	var out []*Link
	if r.parent != nil && r.parent != except {
		out = append(out, r.parent)
	}
	for l := range r.crossed[id] {
		delete(l.crossed, id)
		if l != except && l != r.parent {
			out = append(out, l)
		}
	}
	delete(r.crossed, id)
	return out
}

// unlinkLocked forgets l: its routes (returned, the contexts lost with it) and its crossings.
func (r *Router) unlinkLocked(l *Link) (lost []ID) {
	delete(r.links, l)
	for id := range l.routed {
		lost = append(lost, id)
		delete(r.routes, id)
	}
	clear(l.routed)
	for id := range l.crossed {
		if set := r.crossed[id]; set != nil {
			delete(set, l)
			if len(set) == 0 {
				delete(r.crossed, id)
			}
		}
	}
	clear(l.crossed)
	return lost
}
