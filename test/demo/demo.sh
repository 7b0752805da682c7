#!/usr/bin/env bash
# make demo: start a throwaway OpenSSH sshd on loopback, run commands and an rsync through
# fakessh, and print the per-call time beside plain ssh and ssh with ControlMaster.
set -euo pipefail
BIN=$(cd "${1:-bin}" && pwd)
N=${DEMO_CALLS:-20}

if [ ! -x /usr/sbin/sshd ] || ! command -v rsync >/dev/null; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "== installing openssh-server and rsync"
		DEBIAN_FRONTEND=noninteractive apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server openssh-client rsync >/dev/null
	else
		echo "demo: needs /usr/sbin/sshd and rsync (apt-get install openssh-server rsync)" >&2
		exit 1
	fi
fi

T=$(mktemp -d /tmp/mitogen-demo.XXXXXX)
SSHD_PID=
cleanup() {
	"$BIN/mitogend" stop --socket "$T/mitogend.sock" >/dev/null 2>&1 || true
	ssh -F "$T/ssh_config" -O exit target >/dev/null 2>&1 || true
	[ -n "$SSHD_PID" ] && kill "$SSHD_PID" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT

port=$(( 20000 + RANDOM % 20000 ))
mkdir -p "$T/home/.ssh" "$T/session-home" /run/sshd 2>/dev/null || mkdir -p "$T/home/.ssh" "$T/session-home"
ssh-keygen -q -t ed25519 -N '' -f "$T/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$T/home/.ssh/id_ed25519"
cp "$T/home/.ssh/id_ed25519.pub" "$T/authorized_keys"
cat >"$T/sshd_config" <<CFG
ListenAddress 127.0.0.1
Port $port
HostKey $T/host_key
AuthorizedKeysFile $T/authorized_keys
PidFile $T/sshd.pid
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
SetEnv HOME=$T/session-home
Subsystem sftp /usr/lib/openssh/sftp-server
MaxSessions 100
MaxStartups 100:30:200
LogLevel VERBOSE
CFG
echo "[127.0.0.1]:$port $(cat "$T/host_key.pub")" >"$T/home/.ssh/known_hosts"
cat >"$T/ssh_config" <<CFG
Host target
  HostName 127.0.0.1
  Port $port
  User $(id -un)
  IdentityFile $T/home/.ssh/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $T/home/.ssh/known_hosts
  StrictHostKeyChecking yes
  ControlPath $T/cm-%C
CFG
cp "$T/ssh_config" "$T/home/.ssh/config"

/usr/sbin/sshd -D -f "$T/sshd_config" -E "$T/sshd.log" &
SSHD_PID=$!
for _ in $(seq 100); do grep -q "Server listening" "$T/sshd.log" 2>/dev/null && break; sleep 0.05; done
echo "== sshd (OpenSSH $(ssh -V 2>&1 | cut -d, -f1)) listening on 127.0.0.1:$port"

export HOME="$T/home" MITOGEN_SOCKET="$T/mitogend.sock" MITOGEND="$BIN/mitogend"
export PATH="$BIN:$PATH"

echo "== fakessh target 'uname -sr; id -un; echo to-stderr >&2; exit 3'"
set +e
fakessh target 'uname -sr; id -un; echo to-stderr >&2; exit 3'
echo "   exit status: $?"
set -e

echo "== rsync -a -e fakessh: 200 small files and one 20 MiB file, push then pull"
mkdir -p "$T/src/small"
for i in $(seq 200); do head -c 4096 /dev/urandom >"$T/src/small/f$i"; done
head -c $((20 << 20)) /dev/urandom >"$T/src/big"
rsync -a -e fakessh "$T/src/" "target:$T/dst/"
rsync -a -e fakessh "target:$T/dst/" "$T/back/"
if diff -r "$T/src" "$T/back" >/dev/null; then echo "   push and pull: trees identical"; else echo "   trees differ!"; exit 1; fi

timeit() { # timeit N cmd... -> total ns
	local s e
	s=$(date +%s%N)
	for _ in $(seq "$1"); do "${@:2}" >/dev/null; done
	e=$(date +%s%N)
	echo $(( e - s ))
}
echo "== $N calls of 'true' each (warm: the daemon and the ControlMaster are already up)"
ssh -F "$T/ssh_config" -o ControlMaster=auto -o ControlPersist=60 target true
fresh=$(timeit "$N" ssh -F "$T/ssh_config" -o ControlMaster=no -o ControlPath=none target true)
cm=$(timeit "$N" ssh -F "$T/ssh_config" -o ControlMaster=auto target true)
fk=$(timeit "$N" fakessh target true)
awk -v n="$N" -v f="$fresh" -v c="$cm" -v k="$fk" 'BEGIN {
	printf "   %-22s %8.1f ms per call\n", "ssh (fresh login)", f / n / 1e6
	printf "   %-22s %8.1f ms per call\n", "ssh (ControlMaster)", c / n / 1e6
	printf "   %-22s %8.1f ms per call\n", "fakessh", k / n / 1e6
	printf "   fakessh / ControlMaster = %.2f   fakessh / fresh ssh = %.3f\n", k / c, k / f
}'
echo "== sshd logins for all fakessh calls: $(grep -c 'Accepted publickey' "$T/sshd.log") in total (fresh ssh made $N, ControlMaster 1, fakessh 1)"
echo "== mitogend status"
mitogend status --socket "$MITOGEN_SOCKET"
