#!/usr/bin/env bash
# Start and stop a software TPM 2.0 (swtpm) for cloudra and tpm2-tools.
#
#   scripts/swtpm.sh start [DIR] [PORT]   state in DIR (default $SWTPM_DIR or
#                                         /tmp/cloudra-swtpm), command port PORT
#                                         (default $SWTPM_PORT or 2321), control PORT+1
#   scripts/swtpm.sh stop  [DIR]          graceful shutdown (state is kept)
#   scripts/swtpm.sh status [DIR]
#   scripts/swtpm.sh reset [DIR]          stop and delete the state (a new TPM)
#
# Then:  export TPM2TOOLS_TCTI=swtpm:host=127.0.0.1,port=PORT
#        cloudra tpm handles            (cloudra honours TPM2TOOLS_TCTI, or --tpm)
# Stopping and starting again on the same DIR is a reboot: persistent keys
# and NV survive, PCRs and transient objects do not.
# Needs: apt-get install swtpm swtpm-tools tpm2-tools
set -euo pipefail

cmd=${1:-}
dir=${2:-${SWTPM_DIR:-/tmp/cloudra-swtpm}}
port=${3:-${SWTPM_PORT:-2321}}

die() { echo "swtpm.sh: $*" >&2; exit 1; }

running() { [[ -f $dir/swtpm.pid ]] && kill -0 "$(cat "$dir/swtpm.pid")" 2>/dev/null; }

case $cmd in
start)
	command -v swtpm >/dev/null || die "swtpm not installed (apt-get install swtpm swtpm-tools tpm2-tools)"
	running && die "already running in $dir (pid $(cat "$dir/swtpm.pid"))"
	mkdir -p "$dir"
	swtpm socket --tpm2 \
		--tpmstate "dir=$dir" \
		--server "type=tcp,port=$port,bindaddr=127.0.0.1" \
		--ctrl "type=tcp,port=$((port + 1)),bindaddr=127.0.0.1" \
		--flags not-need-init,startup-clear \
		--pid "file=$dir/swtpm.pid" \
		--log "file=$dir/swtpm.log" \
		--daemon
	echo "$port" >"$dir/port"
	for _ in $(seq 50); do
		running && break
		sleep 0.1
	done
	running || die "swtpm did not start; see $dir/swtpm.log"
	echo "swtpm running (pid $(cat "$dir/swtpm.pid"), state $dir)"
	echo "export TPM2TOOLS_TCTI=swtpm:host=127.0.0.1,port=$port"
	;;
stop)
	running || { echo "not running"; exit 0; }
	p=$(cat "$dir/port" 2>/dev/null || echo "$port")
	pid=$(cat "$dir/swtpm.pid")
	# CMD_SHUTDOWN on the control channel saves state and exits.
	swtpm_ioctl --tcp "127.0.0.1:$((p + 1))" -s >/dev/null 2>&1 || kill "$pid"
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
	rm -f "$dir/swtpm.pid"
	echo "stopped"
	;;
status)
	if running; then echo "running (pid $(cat "$dir/swtpm.pid"), port $(cat "$dir/port"), state $dir)"; else echo "not running"; exit 1; fi
	;;
reset)
	"$0" stop "$dir"
	rm -rf "$dir"
	echo "state deleted"
	;;
*)
	sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
	;;
esac
