package gctune

import "runtime"

// LimitProcs runs Go code on a quarter of the processors the runtime would use (the usable
// ones: affinity and cgroup quota count), at least one below four and at least two from four,
// unless the user set GOMAXPROCS. It is for a relay that shares its machine with the programs
// it serves. A relay's goroutines hand every packet on to one another (the pipe's reader to the
// SSH writer; the SSH reader to the channel's reader, to the writer), and on separate
// processors each handoff is a wake-up of another thread, while rsync, sshd on loopback and
// the commands wait for the same cores. On two cores, with one processor, rsync of a 512 MiB
// file through the daemon took 0.94x the time of OpenSSH's ControlMaster, against 1.17x with
// two, and the daemon's CPU per call on 100 targets at once fell from 1.57 to 1.00 ms. Setting
// it ends the runtime's own updates of GOMAXPROCS when the quota changes. It returns the value
// in force.
func LimitProcs(getenv func(string) string) int {
	if getenv("GOMAXPROCS") != "" {
		return runtime.GOMAXPROCS(0)
	}
	n := runtime.GOMAXPROCS(0)
	if n < 4 {
		n = 1
	} else {
		n = max(2, n/4)
	}
	runtime.GOMAXPROCS(n)
	return n
}
