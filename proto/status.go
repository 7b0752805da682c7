package proto

import "sort"

// SortStatus puts st in a stable order, whatever order the daemon's maps gave: connections by
// destination (then context), the contexts under each by context id, links by name.
func SortStatus(st *Status) {
	sort.SliceStable(st.Connections, func(i, j int) bool {
		a, b := st.Connections[i], st.Connections[j]
		if a.Destination != b.Destination {
			return a.Destination < b.Destination
		}
		return a.Context < b.Context
	})
	for _, c := range st.Connections {
		sort.SliceStable(c.Contexts, func(i, j int) bool { return c.Contexts[i].Context < c.Contexts[j].Context })
	}
	sort.SliceStable(st.Links, func(i, j int) bool { return st.Links[i].Name < st.Links[j].Name })
}
