// Package bench measures fakessh and mitogend against OpenSSH on this machine and prints one
// table: warm per-call latency, latency at 50 ms RTT, first-call (bootstrap) cost, bulk
// throughput, rsync, concurrency and memory, a delegation chain (a call and an rsync through
// a bastion, as another account through sudo), and Ansible (ansible-playbook through
// `mitogend shim` beside OpenSSH with ControlPersist and pipelining: 100 tasks, with and without
// become, and a synchronize; logins and sudo runs counted). Each row interleaves its contenders (A B A B)
// over several runs and reports the median, the spread (min..max) and the ratio of medians.
//
// Everything runs on loopback against a real sshd (package sshdtest); the 50 ms rows go through
// DelayProxy, an in-process TCP proxy that delays each direction by 25 ms (one per hop in the
// chain rows). The chain rows and the Ansible rows with become need root (a throwaway account
// and a sudoers drop-in, both removed after); without it they are left out with a note, or fail under testenv's require switch. The
// table is the benchmark BenchmarkTable (`make bench`); BenchmarkInner* time the router and
// tunnel layers alone over Unix socketpairs.
//
// It is NOT a regression test: it asserts only that commands succeed, never that a figure is
// reached, because the figures depend on the machine and on whatever else runs on it.
package bench
