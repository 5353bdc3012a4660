#!/usr/bin/env bash
# coldstart.sh: wall time of one-shot `cloudra verify` of an SEV-SNP report
# against `cloudra inspect` of the same file, each a fresh process, measured
# with /usr/bin/time over batches of runs, batches alternated (the machines
# are small and shared), median of the batch times reported with their ratio.
#
# usage: bench/coldstart.sh [RUNS_PER_BATCH] [BATCHES]   (from the repository root)
set -euo pipefail
runs=${1:-50}
batches=${2:-7}
v=../shared/vectors/snp/gosevguest-milan-v2-vcek
if [ ! -d "$v" ]; then
	echo "coldstart: $v absent, skipped" >&2
	exit 0
fi
bin=$(mktemp -d)/cloudra
go build -o "$bin" ./cmd/cloudra
inspect=("$bin" inspect "$v/attestation.bin")
verify=("$bin" verify --offline --cache-dir "" --at 2023-06-01T00:00:00Z "$v/attestation.bin" "$v/vcek.der" "$v/ask_ark_milan.pem")
# The report's debug policy bit makes the default policy reject it (exit 1):
# a full verification, signature and chain included, then the appraisal.
batch() { /usr/bin/time -f %e bash -c 'for i in $(seq '"$runs"'); do "$@" >/dev/null 2>&1 || true; done' _ "$@" 2>&1 | tail -1; }
ti=(); tv=()
for b in $(seq "$batches"); do
	ti+=("$(batch "${inspect[@]}")")
	tv+=("$(batch "${verify[@]}")")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mi=$(median "${ti[@]}"); mv=$(median "${tv[@]}")
awk -v i="$mi" -v v="$mv" -v n="$runs" 'BEGIN {printf "inspect %.2f ms  verify %.2f ms  ratio %.2f  (median of batches of %d runs)\n", 1000*i/n, 1000*v/n, v/i, n}'
