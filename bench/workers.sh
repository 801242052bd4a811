#!/usr/bin/env bash
# bench/workers.sh - lab 6's part of `make bench LAB=6` (bench/run calls it
# last; `BENCH_RUNS=3 bench/workers.sh` runs it alone): the reference's
# ports and workers against Node's worker_threads, measured in the same run,
# and the pool's throughput with 1, 2 and 4 workers.
#   - bench/port_rt.c and bench/node-workers.js, the same three measures:
#     messages/s through one port (copied, or a buffer handed over), the
#     round trip parent -> worker -> parent, and a worker's start -> exit
#     (what the "new Worker per request" anti-pattern pays every time);
#   - bench/worker_cpu.c: fixed CPU work (2000 hashes) on 1, 2, 4 workers;
#   - the reference server's /compute?ms=50, 40 jobs from 40 clients at once,
#     with EV_WORKERS=1, 2, 4: jobs/s and the server's CPU per job.
#
# /compute's job is 50 ms of wall-clock time (compute_spin()), not a fixed
# amount of work: past the cores, workers share them and each job simply
# gets less CPU, so its jobs/s keeps rising with the workers without any
# more work done. Hence the server's CPU time per job (from /proc/PID/stat
# before and after) and its cores busy beside jobs/s, and the fixed-work
# table first: that one is the honest "throughput with N workers".
#
# Nothing is pinned but the second round-trip row: two threads that talk
# belong on two cores, and one core shows what a wake-up costs without a
# sleeping core to wake. C and Node take turns (the first alternating)
# over BENCH_RUNS rounds (default 5), as do the worker counts, and the
# tables print medians, so that a noisy moment on a shared machine hurts
# all of them alike.
set -euo pipefail
runs=${BENCH_RUNS:-5}
limit_s=60 # no program, and no curl, may hang the bench
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
cd "$repo"
docker/install-deps.sh --bench >/dev/null
tick=$(getconf CLK_TCK)
cores=$(nproc)
counts=(1 2 4)   # workers, for both throughput tables
jobs=40 job_ms=50 # the /compute load: 40 jobs of 50 ms, all at once
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

# stats KEY FILE: "median min max" of the KEY=V values in FILE (one run a line).
stats() {
	sed -n "s/.*\<$1=\([0-9.]*\).*/\1/p" "$2" | sort -g |
		awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), v[1], v[NR] }'
}
med() { stats "$2" "$tmp/$1" | cut -d' ' -f1; }
# spread KEY FILE...: how far apart the rounds were, at worst, in % of the median.
spread() {
	local key=$1 f
	shift
	for f in "$@"; do stats "$key" "$tmp/$f"; done |
		awk '$1 > 0 && ($3 - $2) / $1 > s { s = ($3 - $2) / $1 } END { printf "%.0f", s * 100 }'
}

# run OUT CMD...: one run of CMD, bounded, its line appended to $tmp/OUT.
run() {
	local out=$1
	shift
	timeout "$limit_s" "$@" >>"$tmp/$out" || { echo "bench: $* failed or timed out" >&2; exit 1; }
}

echo
echo "lab 6: the reference's ports and workers against Node $(node --version)'s worker_threads,"
echo "C and Node taking turns over $runs rounds (BENCH_RUNS); medians of the rounds; $cores cores here."

make -s build LAB=6 IMPL=solutions >/dev/null
# The reference port, worker and loop, compiled straight from solutions/
# (-O2, like the course's own build), as bench/run does for lab 4.
cflags="-O2 -std=c11 -D_GNU_SOURCE -pthread"
incs="-Ilabs/06-worker-threads/include -Ilabs/03-epoll-timers/include -Ilabs/common"
ref_srcs="solutions/06-worker-threads/port.c solutions/06-worker-threads/worker.c solutions/03-epoll-timers/loop.c solutions/03-epoll-timers/heap.c"
# shellcheck disable=SC2086 # word splitting of the lists is intended
{
	cc $cflags $incs -o "$tmp/port_rt" "$here/port_rt.c" $ref_srcs
	cc $cflags $incs -o "$tmp/worker_cpu" "$here/worker_cpu.c" $ref_srcs
}

# --- Messages, round trips, starts: C and Node ---
for r in $(seq "$runs"); do
	echo "bench: lab 6, messages, round $r of $runs" >&2
	# The first of the two alternates, so that neither always follows the other.
	if [ $((r % 2)) = 1 ]; then order=(c node); else order=(node c); fi
	for who in "${order[@]}"; do
		case $who in
		c) run c "$tmp/port_rt" ;;
		node) run node node "$here/node-workers.js" ;;
		esac
	done
	for who in "${order[@]}"; do
		case $who in
		c) run c1 taskset -c 0 "$tmp/port_rt" rt ;;
		node) run node1 taskset -c 0 node "$here/node-workers.js" rt ;;
		esac
	done
done

echo
echo "messages/s through one port: one sender thread posting, the receiver's loop"
echo "(C: port_post() to a loop; Node: postMessage() to a worker) counting them;"
echo "at most 2 x 256 unanswered, 0.3 s a row"
printf '%-36s %11s %11s %8s\n' "" "C port" "Node" "C/Node"
for k in copy64:"64 B, copied" copy64k:"64 KiB, copied" move64k:"64 KiB, handed over (transfer list)"; do
	awk -v l="${k#*:}" -v c="$(med c "${k%%:*}_mps")" -v n="$(med node "${k%%:*}_mps")" \
		'BEGIN { printf "%-36s %11.0f %11.0f %7.2fx\n", l, c, n, c / n }'
done
for k in copy64 copy64k move64k; do spread "${k}_mps" c node; echo; done |
	sort -g | tail -1 | sed 's/.*/(the rounds of one row spread by up to &% of its median)/'
awk -v c="$(med c copy64_mps)" -v n="$(med node copy64_mps)" \
	-v cc="$(med c copy64k_mps)" -v cm="$(med c move64k_mps)" \
	-v nc="$(med node copy64k_mps)" -v nm="$(med node move64k_mps)" 'BEGIN {
	printf "conclusion: small messages cost C %.2f us, Node %.2f us each (%.1fx); at 64 KiB,\n", 1e6 / c, 1e6 / n, c / n
	printf "handing over instead of copying gives %.2fx the messages/s in C (%.1f GB/s moved), %.2fx in Node.\n",
		cm / cc, cm * 65536 / 1e9, nm / nc
}'

echo
echo "round trip, 64 B parent -> worker -> parent, one in flight, 10000 trips a run"
printf '%-28s %9s %9s %10s %10s %11s\n' "" "C p50 us" "C p99 us" "Node p50" "Node p99" "C/Node p50"
for f in "c node:two cores (as scheduled)" "c1 node1:one core (taskset -c 0)"; do
	read -r cf nf <<<"${f%%:*}"
	awk -v l="${f#*:}" -v c5="$(med "$cf" rt_p50_us)" -v c9="$(med "$cf" rt_p99_us)" \
		-v n5="$(med "$nf" rt_p50_us)" -v n9="$(med "$nf" rt_p99_us)" \
		'BEGIN { printf "%-28s %9.2f %9.2f %10.2f %10.2f %10.2fx\n", l, c5, c9, n5, n9, c5 / n5 }'
done
echo "(the rounds spread by up to $(spread rt_p50_us c node c1 node1)% of their median p50)"
awk -v c2="$(med c rt_p50_us)" -v n2="$(med node rt_p50_us)" -v c1="$(med c1 rt_p50_us)" -v n1="$(med node1 rt_p50_us)" 'BEGIN {
	printf "conclusion: on one core a round trip costs C %.1f us and Node %.1f us (%.2fx)", c1, n1, c1 / n1
	if (c2 > 3 * c1)
		printf ";\non two cores, %.0f us and %.0f us: the time to wake a sleeping core (this VM'"'"'s), not the port'"'"'s\n", c2, n2
	else
		printf "; on two cores %.1f and %.1f us\n", c2, n2
}'

echo
echo "a worker's start -> exit, a worker with nothing to do, one after the other"
awk -v c="$(med c start_us)" -v n="$(med node start_us)" -v crt="$(med c1 rt_p50_us)" -v nrt="$(med node1 rt_p50_us)" 'BEGIN {
	printf "%-44s %11s %11s %9s\n", "", "C", "Node", "C/Node"
	printf "%-44s %8.1f us %8.2f ms %8.4fx\n", "worker_start -> on_exit / new Worker -> exit", c, n / 1e3, c / n
	printf "conclusion: a worker per request pays this every time: a Node worker'"'"'s start costs as much\n"
	printf "as %.0f round trips to a running one, a C worker'"'"'s %.0f (one core'"'"'s round trips): start a pool once.\n", n / nrt, c / crt
}'
echo "(the rounds spread by up to $(spread start_us c node)% of their median)"

# --- Fixed work on 1, 2, 4 workers ---
echo
echo "fixed work: 2000 jobs of kitchen_hash (200000 rounds) on N workers (bench/worker_cpu.c),"
echo "2 jobs in flight a worker; $cores cores here: past them, workers only take turns"
for r in $(seq 0 $((runs - 1))); do
	echo "bench: lab 6, fixed work, round $((r + 1)) of $runs" >&2
	for i in "${!counts[@]}"; do
		n=${counts[(i + r) % ${#counts[@]}]}
		run "cpu$n" "$tmp/worker_cpu" "$n"
	done
done
printf '%-8s %10s %9s %12s %18s\n' workers "jobs/s" speed-up "CPU ms/job" "ms/job on worker"
base=
for n in "${counts[@]}"; do
	jps=$(med "cpu$n" jobs_per_s)
	base=${base:-$jps}
	awk -v n="$n" -v j="$jps" -v b="$base" -v c="$(med "cpu$n" cpu_ms_per_job)" -v m="$(med "cpu$n" ms_per_job)" \
		'BEGIN { printf "%-8s %10.0f %8.2fx %12.3f %18.3f\n", n, j, j / b, c, m }'
done
echo "(the rounds spread by up to $(spread jobs_per_s cpu1 cpu2 cpu4)% of their median jobs/s)"
awk -v j1="$(med cpu1 jobs_per_s)" -v j2="$(med cpu2 jobs_per_s)" -v j4="$(med cpu4 jobs_per_s)" -v cores="$cores" 'BEGIN {
	printf "conclusion: 2 workers do %.2fx the work of 1, 4 do %.2fx: the speed-up stops at the %d cores,\n", j2 / j1, j4 / j1, cores
	print "and the CPU per job stays the same: the extra workers only take turns."
}'

# --- /compute on the reference server, EV_WORKERS=1, 2, 4 ---
# One server a worker count, started once and idle while the others run
# (its lag timer, 10 ticks a second, is all it does). Not pinned: its
# workers are to have both cores.
declare -A pid_of port_of
for n in "${counts[@]}"; do
	EV_WORKERS=$n build/solutions/lab6/server --port 0 >"$tmp/server$n.log" 2>&1 &
	pid_of[$n]=$!
	pids+=("$!")
	for _ in $(seq 100); do
		port_of[$n]=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$tmp/server$n.log")
		[ -n "${port_of[$n]}" ] && break
		sleep 0.05
	done
	[ -n "${port_of[$n]}" ] || { echo "bench: the lab 6 server did not start: $(tail -3 "$tmp/server$n.log")" >&2; exit 1; }
	curl -s -m 5 -o /dev/null "http://127.0.0.1:${port_of[$n]}/compute?ms=1" # warm up
done

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# compute N: $jobs requests of /compute?ms=$job_ms at once (one curl, a
# connection each) against the server with N workers; prints jobs_per_s=
# (over the longest request), cpu_ms= (the server's CPU per job) and busy=
# (its cores busy: CPU seconds over wall seconds).
compute() {
	local n=$1 url="http://127.0.0.1:${port_of[$1]}/compute?ms=$job_ms" args=() before after out
	for _ in $(seq "$jobs"); do args+=(-o /dev/null "$url"); done
	before=$(cpu_ticks "${pid_of[$n]}")
	# curl -Z draws a progress meter on stderr even with -s; failures show
	# in the status codes, checked below.
	out=$(curl -s -Z --parallel-immediate --parallel-max "$jobs" -m "$limit_s" \
		-w '%{http_code} %{time_total}\n' "${args[@]}" 2>/dev/null) || true
	after=$(cpu_ticks "${pid_of[$n]}")
	awk -v n="$jobs" -v t="$((after - before))" -v hz="$tick" -v url="$url" '
		$1 == 200 { got++; if ($2 > wall) wall = $2 }
		END {
			if (got != n) { printf "bench: %s: %d of %d answered 200\n", url, got, n > "/dev/stderr"; exit 1 }
			printf "jobs_per_s=%.2f cpu_ms=%.2f busy=%.3f\n", n / wall, t / hz * 1e3 / n, t / hz / wall
		}' <<<"$out"
}

echo
echo "/compute?ms=$job_ms on the reference server, EV_WORKERS=N: $jobs jobs from $jobs clients at once."
echo "The job is $job_ms ms of WALL-CLOCK time (compute_spin()), not of work: past the $cores cores the"
echo "workers share them, each job gets less CPU, and jobs/s rises with no more work done."
for r in $(seq 0 $((runs - 1))); do
	echo "bench: lab 6, /compute, round $((r + 1)) of $runs" >&2
	for i in "${!counts[@]}"; do
		n=${counts[(i + r) % ${#counts[@]}]}
		compute "$n" >>"$tmp/compute$n" || exit 1
	done
done
printf '%-8s %10s %12s %12s %13s\n' workers "jobs/s" "ideal jobs/s" "CPU ms/job" "cores busy"
for n in "${counts[@]}"; do
	awk -v n="$n" -v j="$(med "compute$n" jobs_per_s)" -v c="$(med "compute$n" cpu_ms)" \
		-v b="$(med "compute$n" busy)" -v ms="$job_ms" \
		'BEGIN { printf "%-8s %10.1f %12.1f %12.1f %13.2f\n", n, j, n * 1000 / ms, c, b }'
done
echo "(ideal: N workers each finishing a $job_ms ms job back to back; the rounds spread by up to $(spread jobs_per_s compute1 compute2 compute4)% of their median jobs/s)"
awk -v j2="$(med compute2 jobs_per_s)" -v j4="$(med compute4 jobs_per_s)" -v c2="$(med compute2 cpu_ms)" \
	-v c4="$(med compute4 cpu_ms)" -v b4="$(med compute4 busy)" -v ms="$job_ms" -v cores="$cores" 'BEGIN {
	printf "conclusion: 4 workers answer %.2fx the jobs/s of 2, but each job got %.1f ms of CPU instead of %.1f:\n", j4 / j2, c4, c2
	printf "%.2f cores busy out of %d; the fixed-work table above is the throughput, this one the wall clock.\n", b4, cores
}'
