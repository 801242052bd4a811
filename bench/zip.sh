#!/usr/bin/env bash
# bench/zip.sh - lab 7's part of `make bench LAB=7` (bench/run calls it;
# `BENCH_RUNS=1 bench/zip.sh` runs it alone): the reference's streaming
# extractor and writer, build/solutions/lab7/zipstream, against the tools
# people use, on one generated archive of about 1 GiB that expands to about
# 2.9 GiB (BENCH_ZIP_MIB, default 1024, scales both).
#
# Extraction, every tool reading the same archive file (the one the
# reference's `zipstream create` made, deflated and streamed with data
# descriptors) and writing a fresh folder on the same disk:
#   - zipstream extract DIR < zip: the reference, reading a stream;
#   - bsdtar -xf zip -C DIR: libarchive, about zlib's own speed (the target
#     is 0.95x its MB/s);
#   - unzip -q zip -d DIR, and unzip -p zip > /dev/null (inflating to a
#     pipe: no file is written at all, so that row is the inflate alone);
#   - Python's zipfile.ZipFile(zip).extractall(DIR);
#   - Node's unzipper (npm), streaming: createReadStream(zip).pipe(
#     unzipper.Extract({ path: DIR })) (bench/node-zip.js).
# Writing, the source folder (warm) to one file: zipstream create SRC >
# out.zip, Debian's zip -qr (level 6) and Node's archiver (zlib level 6,
# bench/node-zip.js), every archive then checked with unzip -tq (not timed).
# The server, build/solutions/lab7/server: the archive uploaded with curl
# and the folder downloaded, its peak RSS and GET /'s latency meanwhile.
#
# Each tool runs pinned to core 0 under /usr/bin/time, which gives the wall
# time, the CPU seconds (user + system) and the tool's own peak RSS. MB/s
# are of the archive read and of the bytes written (extraction), or of the
# source read (writing); MB is 10^6 bytes, MiB 2^20. The archive and the
# source stay in the page cache for all (warm: read once before the first
# round, 24 GB of RAM keep them), so no tool pays a cold read the others do
# not. What a tool writes goes to the page cache too: the timing stops when
# the tool exits, then a sync (not timed) writes it out and the folder goes,
# so that no run inherits the last one's writeback. The tools take turns
# over BENCH_RUNS rounds (default 3), each round starting at the next tool,
# and the tables print medians; build/bench-lab7.tsv keeps them for a
# handout. If autograder/selftest is running, each heavy phase first waits
# for it (20 minutes at most in all, BENCH_WAIT_MAX=1200 seconds, then goes
# on and says so), and the output counts the timed runs it ran beside.
set -euo pipefail
runs=${BENCH_RUNS:-3}
mib=${BENCH_ZIP_MIB:-1024} # the archive's size, about
wait_max=${BENCH_WAIT_MAX:-1200} # seconds of waiting for autograder/selftest, in all
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
cd "$repo"
docker/install-deps.sh --bench >/dev/null
[ "$mib" -ge 8 ] 2>/dev/null || { echo "bench: BENCH_ZIP_MIB must be a number, 8 or more" >&2; exit 2; }
zs=$repo/build/solutions/lab7/zipstream
tsv=build/bench-lab7.tsv
tmp=$(mktemp -d /tmp/bench-lab7.XXXXXX) # /tmp: the same disk as the repository here
src=$tmp/src zip=$tmp/in.zip out=$tmp/out
spid= ppid=
cleanup() {
	[ -z "$ppid" ] || kill "$ppid" 2>/dev/null || true
	[ -z "$spid" ] || kill "$spid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# stats KEY FILE: "median min max" of the KEY=V values in FILE (one run a line).
stats() {
	sed -n "s/.*\<$1=\([0-9.]*\).*/\1/p" "$2" | sort -g |
		awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), v[1], v[NR] }'
}
med() { stats "$2" "$tmp/runs/$1" | cut -d' ' -f1; }

# quiet PHASE: waits while autograder/selftest runs (another suite on this
# shared machine), checking every 30 s, until wait_max seconds in all.
waited=0 busy_note=
quiet() {
	while selftest; do
		if [ "$waited" -ge "$wait_max" ]; then
			busy_note="${busy_note}(autograder/selftest was still running at the $1: it went on beside it)"$'\n'
			return 0
		fi
		[ "$waited" -gt 0 ] || echo "bench: autograder/selftest is running: waiting before the $1" >&2
		sleep 30
		waited=$((waited + 30))
	done
}

# timed KEY CMD...: one run of CMD on core 0, under /usr/bin/time; appends
# wall= (s), cpu= (user + system s) and rss= (peak, MiB) to $tmp/runs/KEY.
# Redirections of the call are CMD's.
# It also counts the runs that had autograder/selftest beside them, at
# their start or end, in busy_runs of nruns.
busy_runs=0 nruns=0
selftest() { pgrep -f autograder/selftest >/dev/null; }
timed() {
	local key=$1 busy=
	shift
	selftest && busy=1
	if ! taskset -c 0 /usr/bin/time -o "$tmp/time" -f '%e %U %S %M' "$@" 2>"$tmp/err"; then
		echo "bench: $key: $* failed: $(tail -3 "$tmp/err")" >&2
		exit 1
	fi
	awk '{ printf "wall=%.2f cpu=%.2f rss=%.2f ", $1, $2 + $3, $4 / 1024 }' "$tmp/time" >>"$tmp/runs/$key"
	selftest && busy=1
	nruns=$((nruns + 1))
	busy_runs=$((busy_runs + ${busy:-0}))
}

# gone DIR: what the tool wrote goes to disk (not timed), then goes.
gone() { sync; rm -rf "$1"; sync; }

echo
echo "lab 7: streaming ZIP, the reference's zipstream against bsdtar, unzip, Python's zipfile"
echo "and Node's unzipper (extraction), zip and Node's archiver (writing); each tool on core 0,"
echo "taking turns over $runs rounds (BENCH_RUNS); medians of the rounds."

make -s build LAB=7 IMPL=solutions >/dev/null
mkdir -p "$tmp/runs" build

# Node's packages, into build/bench-node (not the repository): unzipper and
# archiver, installed once. Without npm or the registry the Node rows go.
node_ok=1
if [ ! -d build/bench-node/node_modules/unzipper ] || [ ! -d build/bench-node/node_modules/archiver ]; then
	npm install --prefix build/bench-node --no-audit --no-fund unzipper@0.12 archiver@7 >"$tmp/npm.log" 2>&1 ||
		{ node_ok=; echo "(npm install unzipper archiver failed: the Node rows are left out; $(tail -1 "$tmp/npm.log"))"; }
fi
export NODE_PATH=$repo/build/bench-node/node_modules
nodever() { sed -n 's/^ *"version": "\(.*\)",$/\1/p' "$NODE_PATH/$1/package.json" | head -1; }
zip_ok=1
command -v zip >/dev/null || { zip_ok=; echo "(zip is not installed, apt-get install zip: its row is left out)"; }

# --- The source folder and the archive ---
# Text-like lines (words of a seeded vocabulary, Zipf-distributed; deflate
# makes about a quarter of them) in files of 4 KiB to 8 MiB, log-uniform,
# and random.bin pieces (incompressible), in the proportions that make the
# archive about BENCH_ZIP_MIB MiB and the whole 2.9 times that: the issue's
# 1 GiB that expands to 2.9 GiB. The text comes from one pool of lines
# (slices at random places: deflate's window is 32 KiB, so a slice deflates
# as the pool does), which keeps the generation to about disk speed.
quiet "generation"
echo "bench: generating the source folder and the archive" >&2
python3 - "$src" "$mib" <<'EOF'
import os, random, sys, zlib
root, mib = sys.argv[1], int(sys.argv[2])
rng = random.Random(7)
letters = "etaoinshrdlcumwfgypbvkjxqz"
freq = [12.7, 9.1, 8.2, 7.5, 7.0, 6.7, 6.3, 6.1, 6.0, 4.3, 4.0, 2.8, 2.8,
        2.4, 2.4, 2.2, 2.0, 2.0, 1.9, 1.5, 1.0, 0.8, 0.2, 0.2, 0.1, 0.1]
vocab = sorted({"".join(rng.choices(letters, freq, k=rng.randint(2, 11)))
                for _ in range(3000)})
rng.shuffle(vocab)
cum, s = [], 0.0
for rank in range(len(vocab)):
    s += 1 / (rank + 1) ** 1.2  # Zipf
    cum.append(s)
words = rng.choices(vocab, cum_weights=cum, k=6_000_000)
lines, i = [], 0
while i < len(words):
    n = rng.randint(4, 16)
    line = " ".join(words[i:i + n])
    lines.append(line[0].upper() + line[1:] + ".")
    i += n
pool = memoryview(("\n".join(lines) + "\n").encode())
# Text bytes T and random bytes R, from the pool's deflate ratio c:
# T + R = k A and T / c + R = A, k a little over 2.9 for what the pool's
# sample does not pay (headers, the start of each file's deflate stream).
c = len(pool[:16 << 20]) / len(zlib.compress(pool[:16 << 20], 6))
A, k = mib << 20, 2.95
T = int((k - 1) * A / (1 - 1 / c))
R = int(k * A) - T
assert R > 0, "the text deflates too little"

def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)

top = min(8 << 20, max(64 << 10, T // 64))
nt = 0
while T > 0:
    size = min(T, int(4096 * (top / 4096) ** rng.random()))
    at = rng.randrange(len(pool) - size)
    write(f"{root}/text/{nt % 40:02d}/file-{nt:05d}.txt", pool[at:at + size])
    T -= size
    nt += 1
nr, piece = 0, min(16 << 20, max(1 << 20, R // 8))
while R > 0:
    size = min(R, rng.randint(piece // 16, piece))
    write(f"{root}/bin/random-{nr:03d}.bin", os.urandom(size))
    R -= size
    nr += 1
print(f"source: {nt} text files (the text deflates {c:.2f}:1), {nr} random.bin pieces")
EOF
taskset -c 0 "$zs" create "$src" >"$zip"
# What the archive holds, from the reference's own listing: entries
# (folders too), files, and the bytes they expand to (%.0f: mawk's %d and
# print stop short of 3 GB).
read -r entries files ubytes < <("$zs" list <"$zip" | awk '{ n++; if ($NF !~ /\/$/) { f++; b += $1 } } END { printf "%d %d %.0f\n", n, f, b }')
zbytes=$(stat -c %s "$zip")
sbytes=$ubytes # the source folder's files, which the archive holds
sync
cat "$zip" >/dev/null # warm
tar -cf - -C "$src" . | cat >/dev/null
awk -v z="$zbytes" -v u="$ubytes" -v e="$entries" -v f="$files" -v m="$mib" 'BEGIN {
	printf "archive: %.0f MiB (%.2f GiB; BENCH_ZIP_MIB=%d), %d entries (%d files), expanding to %.0f MiB (%.2f GiB), %.2f:1;\n",
		z / 2^20, z / 2^30, m, e, f, u / 2^20, u / 2^30, u / z
	print "made by the reference (zipstream create: deflate, streamed with data descriptors);"
	print "all readers get that same file, from a warm page cache."
}'

# --- Extraction ---
# One extraction, KEY being the tool: its numbers appended to $tmp/runs/KEY;
# the folder then checked (files and bytes, not timed) and removed.
xtools=(ref bsdtar unzip unzip-p python)
[ -z "$node_ok" ] || xtools+=(node)
declare -A label=([ref]="zipstream extract (reference)" [bsdtar]="bsdtar -xf" [unzip]="unzip -q -d"
	[unzip-p]="unzip -p > /dev/null" [python]="python3 zipfile.extractall"
	[node]="node unzipper $(nodever unzipper)" [zip]="zip -qr (level 6)"
	[archiver]="node archiver $(nodever archiver) (level 6)" [cref]="zipstream create (reference)")
extract() {
	local key=$1 dir=$out/x got
	case $key in
	ref) timed "$key" "$zs" extract "$dir" <"$zip" ;;
	bsdtar) mkdir -p "$dir" && timed "$key" bsdtar -xf "$zip" -C "$dir" ;;
	unzip) timed "$key" unzip -q "$zip" -d "$dir" ;;
	unzip-p) timed "$key" unzip -p "$zip" >/dev/null ;;
	python) timed "$key" python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$zip" "$dir" ;;
	node) timed "$key" node "$here/node-zip.js" extract "$zip" "$dir" ;;
	esac
	echo >>"$tmp/runs/$key"
	[ "$key" = unzip-p ] && return
	got=$(find "$dir" -type f -printf '%s\n' | awk '{ b += $1 } END { printf "%d %.0f\n", NR, b }')
	[ "$got" = "$files $ubytes" ] ||
		{ echo "bench: $key wrote $got (files bytes), not $files $ubytes" >&2; exit 1; }
	gone "$dir"
}
quiet "extraction"
mkdir -p "$out"
for r in $(seq 0 $((runs - 1))); do
	echo "bench: lab 7 extraction, round $((r + 1)) of $runs" >&2
	for i in "${!xtools[@]}"; do extract "${xtools[(i + r) % ${#xtools[@]}]}"; done
done

# --- Writing ---
ctools=(cref)
[ -z "$zip_ok" ] || ctools+=(zip)
[ -z "$node_ok" ] || ctools+=(archiver)
create() {
	local key=$1 dest=$out/w.zip
	case $key in
	cref) timed "$key" "$zs" create "$src" >"$dest" ;;
	zip) (cd "$src" && timed "$key" zip -qr "$dest" .) ;;
	archiver) timed "$key" node "$here/node-zip.js" create "$src" "$dest" ;;
	esac
	echo "size=$(stat -c %s "$dest")" >>"$tmp/runs/$key"
	unzip -tq "$dest" >"$tmp/check" 2>&1 ||
		{ echo "bench: $key's archive fails unzip -t: $(tail -2 "$tmp/check")" >&2; exit 1; }
	gone "$dest"
}
quiet "writing"
for r in $(seq 0 $((runs - 1))); do
	echo "bench: lab 7 writing, round $((r + 1)) of $runs" >&2
	for i in "${!ctools[@]}"; do create "${ctools[(i + r) % ${#ctools[@]}]}"; done
done

# --- The server: the same archive uploaded, then downloaded ---
# The reference server (build/solutions/lab7/server, 2 workers) with an
# empty --root; curl POSTs the archive (Content-Length, no Expect) and the
# folder comes back as GET /download.zip into /dev/null. Meanwhile a probe
# asks GET / every 50 ms on its own connection. Peak RSS is the server's
# VmHWM after each transfer (the upload's first). Not pinned: the loop,
# the workers and curl need their cores; one round (the numbers are about
# memory, and the latency's spread is its own measure).
srv=$repo/build/solutions/lab7/server
probe() { # probe FILE: GET / every 50 ms until killed, one time (ms) a line
	while :; do
		curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$port/" | awk '{ print $1 * 1000 }' >>"$1"
		sleep 0.05
	done
}
quiet "server"
mkdir -p "$tmp/root"
"$srv" --port 0 --root "$tmp/root" >"$tmp/server.log" 2>&1 &
spid=$!
for _ in $(seq 50); do
	port=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$tmp/server.log")
	[ -n "$port" ] && break
	sleep 0.1
done
[ -n "$port" ] || { echo "bench: the lab 7 server did not start: $(cat "$tmp/server.log")" >&2; exit 1; }
probe "$tmp/probe-up" & ppid=$!
t0=$(date +%s.%N)
# -T streams the file (--data-binary @ would read it all into memory first).
curl -sS -H 'Expect:' -X POST -T "$zip" "http://127.0.0.1:$port/upload?name=up" >"$tmp/up.json"
t1=$(date +%s.%N)
kill $ppid; wait $ppid 2>/dev/null || true
ppid=
up_rss=$(awk '/^VmHWM/ { print $2 }' /proc/$spid/status)
grep -q '"name":"up"' "$tmp/up.json" || { echo "bench: the upload failed: $(cat "$tmp/up.json")" >&2; exit 1; }
got=$(find "$tmp/root/up" -type f -printf '%s\n' | awk '{ b += $1 } END { printf "%d %.0f\n", NR, b }')
[ "$got" = "$files $ubytes" ] || { echo "bench: the server published $got (files bytes), not $files $ubytes" >&2; exit 1; }
probe "$tmp/probe-down" & ppid=$!
t2=$(date +%s.%N)
dbytes=$(curl -sS "http://127.0.0.1:$port/download.zip?dir=up" | wc -c)
t3=$(date +%s.%N)
kill $ppid; wait $ppid 2>/dev/null || true
ppid=
down_rss=$(awk '/^VmHWM/ { print $2 }' /proc/$spid/status)
kill $spid; wait $spid 2>/dev/null || true
spid=
gone "$tmp/root"
# Printed after the tables, and added to the medians file then.
pct() { sort -g "$1" | awk -v p="$2" '{ v[NR] = $1 } END { i = int(NR * p + 0.999); if (i < 1) i = 1; printf "%.1f", v[i] }'; }
awk -v z="$zbytes" -v u="$ubytes" -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" -v r1="$up_rss" -v r2="$down_rss" -v db="$dbytes" \
	-v p50="$(pct "$tmp/probe-up" 0.5)" -v p90="$(pct "$tmp/probe-up" 0.9)" -v pmax="$(pct "$tmp/probe-up" 1)" -v n="$(wc -l <"$tmp/probe-up")" \
	-v q90="$(pct "$tmp/probe-down" 0.9)" -v qmax="$(pct "$tmp/probe-down" 1)" -v tsv="$tmp/server.tsv" 'BEGIN {
	printf "server (2 workers): upload of the %.0f MiB archive, %.0f MiB published, in %.1f s (%.0f MB/s of archive); peak RSS %.1f MiB\n",
		z / 2^20, u / 2^20, b - a, z / (b - a) / 1e6, r1 / 1024
	printf "  GET / meanwhile, every 50 ms: p50 %s ms, p90 %s ms, max %s ms (n=%d)\n", p50, p90, pmax, n
	printf "server: the folder downloaded as a %.0f MiB zip in %.1f s (%.0f MB/s of folder); peak RSS since start %.1f MiB; GET / p90 %s ms, max %s ms\n",
		db / 2^20, d - c, u / (d - c) / 1e6, r2 / 1024, q90, qmax
	printf "target, a 1 GiB-class upload at server RSS < 16 MiB with GET / fast: %s (%.1f MiB, GET / p90 %s ms)\n",
		(r1 < 16384 && p90 < 50 ? "met" : "NOT met"), r1 / 1024, p90
	printf "server\tupload\t%.1f\t%.1f\t%.2f\t\t%.2f\t%.0f\n", z / (b - a) / 1e6, u / (b - a) / 1e6, b - a, r1 / 1024, u >> tsv
	printf "server\tdownload\t%.1f\t%.1f\t%.2f\t\t%.2f\t%.0f\n", u / (d - c) / 1e6, db / (d - c) / 1e6, d - c, r2 / 1024, db >> tsv
}' >"$tmp/server.txt"

# --- The tables, the medians file and the targets ---
# spread KEYS...: how far apart the rounds' wall times were, at worst, in %
# of their median.
spread() {
	local k
	for k in "$@"; do stats wall "$tmp/runs/$k"; done |
		awk '$1 > 0 && ($3 - $2) / $1 > s { s = ($3 - $2) / $1 } END { printf "%.0f", s * 100 }'
}
{
	echo "# lab 7, bench/zip.sh $(date -u +%Y-%m-%dT%H:%MZ): medians of $runs rounds; archive $zbytes bytes, $files files, expanding to $ubytes bytes; MB = 1e6 bytes"
	printf 'op\ttool\tin_MB_s\tout_MB_s\twall_s\tcpu_s\tpeak_rss_MiB\tout_bytes\n'
} >"$tsv"

echo
printf '%-34s %9s %9s %8s %7s %9s\n' "" "MB/s" "MB/s" "" "CPU s" "peak RSS" \
	"extraction, $(awk -v z="$zbytes" 'BEGIN { printf "%.0f", z / 2^20 }') MiB archive" "archive" written "wall s" "" MiB
for k in "${xtools[@]}"; do
	w=$(med "$k" wall)
	awk -v l="${label[$k]}" -v k="$k" -v w="$w" -v c="$(med "$k" cpu)" -v m="$(med "$k" rss)" \
		-v z="$zbytes" -v u="$ubytes" -v tsv="$tsv" 'BEGIN {
		printf "%-34s %9.0f %9.0f %8.2f %7.2f %9.1f\n", l, z / w / 1e6, u / w / 1e6, w, c, m
		printf "extract\t%s\t%.1f\t%.1f\t%.2f\t%.2f\t%.2f\t%.0f\n", k, z / w / 1e6, u / w / 1e6, w, c, m, u >> tsv
	}'
done
echo "(unzip -p writes no file: its row is the inflating alone; the rounds' wall times spread by up to $(spread "${xtools[@]}")%)"

echo
printf '%-34s %9s %8s %7s %9s %9s %7s\n' "" "MB/s" "" "CPU s" "peak RSS" "archive" "" \
	"writing, $(awk -v s="$sbytes" 'BEGIN { printf "%.0f", s / 2^20 }') MiB in $files files" "source" "wall s" "" MiB MiB ratio |
	sed 's/ *$//'
for k in "${ctools[@]}"; do
	w=$(med "$k" wall)
	awk -v l="${label[$k]}" -v k="$k" -v w="$w" -v c="$(med "$k" cpu)" -v m="$(med "$k" rss)" \
		-v z="$(med "$k" size)" -v s="$sbytes" -v tsv="$tsv" 'BEGIN {
		printf "%-34s %9.0f %8.2f %7.2f %9.1f %9.0f %6.2f:1\n", l, s / w / 1e6, w, c, m, z / 2^20, s / z
		printf "create\t%s\t%.1f\t%.1f\t%.2f\t%.2f\t%.2f\t%.0f\n", (k == "cref" ? "ref" : k), s / w / 1e6, z / w / 1e6, w, c, m, z >> tsv
	}'
done
echo "(every archive passed unzip -tq; the rounds' wall times spread by up to $(spread "${ctools[@]}")%)"

echo
[ -z "$busy_note" ] || printf '%s' "$busy_note"
[ "$busy_runs" = 0 ] ||
	echo "(autograder/selftest was running at the start or end of $busy_runs of the $nruns timed runs: those are the noisier)"
# CPU seconds beside the wall time: a busy shared core stretches the wall
# time of whichever tool it lands on, much less the CPU time it needs.
# The reference's buffers, by its headers: the reader's header buffer
# (ZR_HEAD_MAX, 128 KiB), inflate's output (ZR_OUT_SIZE, 64 KiB), the read
# piece (64 KiB), zlib's inflate window and state (32 + 7 KiB), and 40 bytes
# an entry remembered for the central directory (struct zx_seen).
awk -v r="$(med ref wall)" -v b="$(med bsdtar wall)" -v m="$(med ref rss)" -v e="$entries" \
	-v rc="$(med ref cpu)" -v bc="$(med bsdtar cpu)" -v bm="$(med bsdtar rss)" 'BEGIN {
	ratio = b / r # MB/s of the same archive: the inverse of the wall times
	printf "reference vs bsdtar: %.2fx MB/s (medians), %.2fx CPU per byte (%.2f s vs %.2f s), peak RSS %.1f MiB vs %.1f MiB\n",
		ratio, rc / bc, rc, bc, m, bm
	printf "target, extraction >= 0.95x bsdtar'"'"'s throughput: %s\n",
		(ratio >= 0.95 ? "met" : "NOT met") sprintf(" (%.2fx)", ratio)
	buf = (131118 + 65536 + 65536 + 39936 + 40 * e) / 2^20
	printf "target, peak RSS < 4 MiB plus buffers (%.2f MiB for %d entries, so < %.2f MiB): %s (%.1f MiB)\n",
		buf, e, 4 + buf, (m < 4 + buf ? "met" : "NOT met"), m
}'
echo
cat "$tmp/server.txt"
cat "$tmp/server.tsv" >>"$tsv"
echo "medians: $repo/$tsv"
