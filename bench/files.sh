#!/usr/bin/env bash
# bench/files.sh - lab 5's part of `make bench LAB=5` (bench/run calls it
# last; `BENCH_RUNS=3 bench/files.sh` runs it alone): a 1 GiB file streamed
# to a local client by the reference, against
#   - cat FILE > /dev/null: reading alone, from a warm page cache (the ceiling);
#   - bench/sendloop.c: a blocking C loop, read() 64 KiB then write() it to
#     the socket and nothing else: the ceiling, which the reference is to
#     reach 0.9x of;
#   - Node (bench/node-files.js): createReadStream().pipe(res) and readFile();
#   - the reference's own /files-buffered/ (the readFile way);
# with each server's peak RSS, and that peak against the file's size (16 MiB
# to 1 GiB) drawn in build/bench-lab5-rss.svg.
#
# Servers run on core 0 and curl on core 1, over loopback. Every download
# gets a fresh server: a readFile server keeps its last file until its GC
# runs, which would count against the next download. Its high-water mark
# (VmHWM) is reset just before the download (clear_refs 5), so the peak is
# the download's, not the start-up's; the growth is that peak minus the
# idle RSS just before. Besides MB/s it reports the server's CPU seconds per
# GB (from /proc/PID/stat): if the client set the pace, MB/s alone would
# flatter the slower server. The downloads take turns over BENCH_RUNS
# rounds and the tables print medians. MB and GB are 10^6 and 10^9 bytes,
# MiB 2^20.
set -euo pipefail
runs=${BENCH_RUNS:-5}
limit_s=120 # curl -m: no download may hang the bench
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
cd "$repo"
docker/install-deps.sh --bench >/dev/null
tick=$(getconf CLK_TCK)
svg=build/bench-lab5-rss.svg
sizes=(16 64 256 1024) # MiB; the last is the table's
big=${sizes[-1]}
tmp=$(mktemp -d)
www=$tmp/www
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
TIMEFORMAT='%3R %3U %3S' # `time`: wall, user and system seconds

# start NAME CMD...: runs CMD on core 0; sets $pid and $port (as bench/run).
start() {
	local name=$1; shift
	taskset -c 0 "$@" >"$tmp/$name.log" 2>&1 &
	pid=$!
	pids+=("$pid")
	for _ in $(seq 100); do
		port=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$tmp/$name.log")
		[ -n "$port" ] && return 0
		sleep 0.05
	done
	echo "bench: $name did not start: $(tail -3 "$tmp/$name.log")" >&2
	return 1
}

# stop: the one server running goes (waited for, so that its PID is not
# killed again by cleanup once reused).
stop() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pids=(); }

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

# stats KEY FILE: "median min max" of the KEY=V values in FILE (one run a line).
stats() {
	sed -n "s/.*\<$1=\([0-9.]*\).*/\1/p" "$2" | sort -g |
		awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), v[1], v[NR] }'
}
med() { stats "$2" "$tmp/runs/$1" | cut -d' ' -f1; }

# Resetting the high-water mark needs CONFIG_PROC_PAGE_MONITOR (Linux 4.0
# on). Without it, the peak is the one since the server started.
peak_note=
reset_peak() { echo 5 2>/dev/null >"/proc/$1/clear_refs" || peak_note="(VmHWM could not be reset: peaks include each server's start-up)"; }

# fetch PID URL BYTES N: N downloads of URL at once, from core 1; prints
# code= (the first status that is not 200, else 200) and, for 200, mbps=
# (all bytes over the longest download), cpu= (the server's CPU s per GB),
# peak= and grow= (MiB: its VmHWM, and that less its idle VmRSS).
fetch() {
	local pid=$1 url=$2 bytes=$3 n=$4 idle before after out
	reset_peak "$pid"
	idle=$(kib "$pid" VmRSS)
	before=$(cpu_ticks "$pid")
	# A curl that fails or times out still prints its line; checked below.
	out=$(seq "$n" | xargs -P"$n" -I{} taskset -c 1 curl -s -o /dev/null -m "$limit_s" \
		-w '%{http_code} %{size_download} %{time_total}\n' "$url") || true
	after=$(cpu_ticks "$pid")
	awk -v n="$n" -v bytes="$bytes" -v t="$((after - before))" -v hz="$tick" \
		-v idle="$idle" -v hwm="$(kib "$pid" VmHWM)" -v url="$url" '
		$1 != 200 && !code { code = $1 }
		$1 == 200 && $2 == bytes { got++; if ($3 > wall) wall = $3 }
		END {
			if (code && code != "000") { printf "code=%d\n", code; exit }
			if (got != n) { printf "bench: %s: %d of %d downloads complete\n", url, got, n > "/dev/stderr"; exit 1 }
			printf "code=200 mbps=%.1f cpu=%.3f peak=%.2f grow=%.2f\n", n * bytes / wall / 1e6,
				t / hz / (n * bytes / 1e9), hwm / 1024, (hwm - idle) / 1024
		}' <<<"$out"
}

# job NAME: one measurement, appended to $tmp/runs/NAME. NAME is
# SERVER.ROUTE.MIB[.xN]: cat.read.1024, cloop.files.1024, ref.files.64,
# node.files-buffered.16, ref.files.1024.x8 (8 downloads at once).
job() {
	local server route mib n file
	IFS=. read -r server route mib n <<<"$1"
	n=${n#x}
	file=$www/f$mib.bin
	case $server in
	cat)
		local t
		t=$({ time taskset -c 0 cat "$file" >/dev/null; } 2>&1)
		awk -v b="$((mib << 20))" '{ printf "code=200 mbps=%.1f cpu=%.3f\n", b / $1 / 1e6, ($2 + $3) / (b / 1e9) }' <<<"$t"
		;;
	cloop) start cloop "$tmp/sendloop" --root "$www" ;;
	ref) start ref "build/solutions/lab5/server" --root "$www" --idle-timeout 60000 ;;
	node) start node node "$here/node-files.js" --root "$www" ;;
	esac >>"$tmp/runs/$1"
	[ "$server" = cat ] && return
	fetch "$pid" "http://127.0.0.1:$port/$route/f$mib.bin" "$((mib << 20))" "${n:-1}" >>"$tmp/runs/$1"
	stop
}

echo
echo "lab 5: one file streamed over loopback, server on core 0, curl on core 1;"
echo "a fresh server for every download, taking turns over $runs rounds (BENCH_RUNS); medians."

make -s build LAB=5 IMPL=solutions >/dev/null
cc -O2 -std=c11 -D_GNU_SOURCE -o "$tmp/sendloop" "$here/sendloop.c"
mkdir -p "$www" "$tmp/runs" build
# Random bytes (not zeros, not sparse: every page is read for real); the
# smaller files are prefixes of the big one. Synced, so that no writeback
# runs during the downloads; they stay in the page cache (warm).
head -c "${big}M" /dev/urandom >"$www/f$big.bin"
for mib in "${sizes[@]}"; do
	[ "$mib" = "$big" ] || head -c "${mib}M" "$www/f$big.bin" >"$www/f$mib.bin"
done
sync "$www"/*.bin

# The table's downloads, the file of every size on both routes of both
# servers for the picture, and 8 streams at once for the per-connection cost.
table=("cat.read.$big" "cloop.files.$big" "ref.files.$big" "ref.files-buffered.$big" "node.files.$big" "node.files-buffered.$big")
rest=("ref.files.$big.x8" "node.files.$big.x8")
for mib in "${sizes[@]}"; do
	[ "$mib" = "$big" ] && continue
	for s in ref.files ref.files-buffered node.files node.files-buffered; do rest+=("$s.$mib"); done
done
# Round r starts the table at its r-th row, so that none always follows the same one.
for r in $(seq 0 $((runs - 1))); do
	echo "bench: lab 5, round $((r + 1)) of $runs" >&2
	for i in "${!table[@]}"; do job "${table[(i + r) % ${#table[@]}]}"; done
	for j in "${rest[@]}"; do job "$j"; done
done

# The rows' names, by SERVER.ROUTE.
declare -A label=([cat.read]="cat > /dev/null (read only)" [cloop.files]="C loop, read+write 64 KiB"
	[ref.files]="reference /files" [ref.files-buffered]="reference /files-buffered"
	[node.files]="node createReadStream().pipe" [node.files-buffered]="node readFile(), res.end(buf)")
# row JOB: a line of the table, or the status the server answered.
row() {
	local code best
	code=$(med "$1" code)
	best=$(stats mbps "$tmp/runs/$1" | cut -d' ' -f3)
	if [ "$code" != 200 ]; then
		printf '%-30s HTTP %s\n' "${label[${1%.*}]}" "$code"
	elif [ "${1%%.*}" = cat ]; then
		printf '%-30s %8.0f %8.0f %9.2f %8s %10s\n' "${label[${1%.*}]}" "$(med "$1" mbps)" "$best" "$(med "$1" cpu)" - -
	else
		printf '%-30s %8.0f %8.0f %9.2f %8.1f %10.1f\n' "${label[${1%.*}]}" "$(med "$1" mbps)" "$best" "$(med "$1" cpu)" \
			"$(med "$1" peak)" "$(med "$1" grow)"
	fi
}
echo
printf '%-30s %8s %8s %9s %8s %10s\n' "" median best "CPU s/GB" "peak RSS" "growth" \
	"one download, $big MiB file" MB/s MB/s "(server)" MiB MiB
for j in "${table[@]}"; do row "$j"; done
for j in "${table[@]}"; do stats mbps "$tmp/runs/$j"; done |
	awk 'NF == 3 && $1 > 0 && ($3 - $2) / $1 > s { s = ($3 - $2) / $1 }
		END { printf "(growth: the peak less the RSS just before; the rounds of a row spread by up to %.0f%%)\n", s * 100 }'
[ -z "$peak_note" ] || echo "$peak_note"
[ "$(med "ref.files-buffered.$big" code)" = 200 ] ||
	echo "(/files-buffered/ refuses files over lab 1's APP_MAX_FILE, 256 MiB; its RSS up to that size is below)"

echo
# Throughput against the C loop, by medians, and against its best round.
# CPU per GB and how busy the server's core was tell whether the server or
# the client (or TCP's pacing between the two cores) set the pace.
awk -v rm="$(med "ref.files.$big" mbps)" -v cm="$(med "cloop.files.$big" mbps)" \
	-v rb="$(stats mbps "$tmp/runs/ref.files.$big" | cut -d' ' -f3)" \
	-v cb="$(stats mbps "$tmp/runs/cloop.files.$big" | cut -d' ' -f3)" \
	-v rc="$(med "ref.files.$big" cpu)" -v cc="$(med "cloop.files.$big" cpu)" 'BEGIN {
	printf "reference /files vs C loop: %.2fx MB/s (best rounds: %.2fx), %.2fx CPU per GB;\n", rm / cm, rb / cb, rc / cc
	printf "core 0 busy during the download: %.0f%% for the reference, %.0f%% for the C loop (MB/s x CPU s/GB)\n",
		rm * rc / 10, cm * cc / 10
	printf "target, the reference >= 0.90x the C loop in MB/s (medians): %s\n",
		(rm / cm >= 0.9 ? sprintf("met (%.2fx)", rm / cm) : sprintf("NOT met (%.2fx)", rm / cm))
}'

# The per-connection constant: what 7 more streams at once cost.
echo
echo "8 downloads of the $big MiB file at once: aggregate MB/s, peak RSS"
for s in ref.files node.files; do
	awk -v l="${label[$s]}" -v m8="$(med "$s.$big.x8" mbps)" -v p8="$(med "$s.$big.x8" peak)" \
		-v p1="$(med "$s.$big" peak)" 'BEGIN {
		printf "%-30s %8.0f MB/s, peak %.1f MiB: %.2f MiB per connection ((peak8 - peak1) / 7)\n",
			l, m8, p8, (p8 - p1) / 7 }'
done

# Peak RSS by size: "SERVER.ROUTE MIB PEAK", or "SERVER.ROUTE MIB - STATUS"
# for a file refused; printed, then drawn.
for s in ref.files ref.files-buffered node.files node.files-buffered; do
	for mib in "${sizes[@]}"; do
		code=$(med "$s.$mib" code)
		if [ "$code" = 200 ]; then echo "$s $mib $(med "$s.$mib" peak)"; else echo "$s $mib - $code"; fi
	done
done >"$tmp/curve"
echo
printf '%-30s' "peak RSS MiB, by file size"
printf '%9s' "${sizes[@]/%/ MiB}"
echo
for s in ref.files ref.files-buffered node.files node.files-buffered; do
	printf '%-30s' "${label[$s]}"
	awk -v s="$s" '$1 == s { printf($3 == "-" ? "%9s" : "%9.1f", $3 == "-" ? "HTTP " $4 : $3) } END { print "" }' "$tmp/curve"
done

awk -v big="$big" -v p1="$(med "ref.files.$big" peak)" -v p8="$(med "ref.files.$big.x8" peak)" '
	$1 == "ref.files" && !small { small = $2; at = $3 }
	END {
		c = (p8 - p1) / 7
		# Independent of the size: from the smallest file to the biggest the
		# peak grows by less than one more connection costs, or than 0.5 MiB
		# (runs of one size vary by about 0.2 MiB: malloc, the kernel).
		tol = c > 0.5 ? c : 0.5
		printf "target, streamed RSS independent of the file size: %.1f MiB at %d MiB, %.1f MiB at %d MiB: %s\n",
			at, small, p1, big, (p1 - at < tol ? "met" : "NOT met")
		printf "target, < 4 MiB + a per-connection constant (%.2f MiB, from 8 at once): %.1f MiB < %.2f: %s\n",
			c, p1, 4 + c, (p1 < 4 + c ? "met" : "NOT met")
	}' "$tmp/curve"

# The picture: peak RSS against file size, both axes log2, one line a route.
awk -v runs="$runs" '
function lg(v) { return log(v) / log(2) }
function X(mib) { return x0 + (lg(mib) - xa) / (xb - xa) * (x1 - x0) }
function Y(mib) { return y0 - (lg(mib) - ya) / (yb - ya) * (y0 - y1) }
function fmt(v) { return v < 10 ? sprintf("%.1f", v) : sprintf("%.0f", v) }
BEGIN {
	x0 = 90; x1 = 770; y0 = 350; y1 = 60
	split("ref.files ref.files-buffered node.files node.files-buffered", key)
	label["ref.files"] = "reference /files (streamed)"
	label["ref.files-buffered"] = "reference /files-buffered"
	label["node.files"] = "node createReadStream().pipe(res)"
	label["node.files-buffered"] = "node readFile(), res.end(buf)"
	colour["ref.files"] = "#1f5fa8"; colour["ref.files-buffered"] = "#c0392b"
	colour["node.files"] = "#2a9d8f"; colour["node.files-buffered"] = "#e67e22"
	dash["node.files"] = dash["node.files-buffered"] = " stroke-dasharray=\"7 5\""
}
{ n[$1]++; sz[$1, n[$1]] = $2; v[$1, n[$1]] = $3; code[$1, n[$1]] = $4
  if (!smin || $2 < smin) smin = $2; if ($2 > smax) smax = $2
  if ($3 != "-") { if (!vmin || $3 < vmin) vmin = $3; if ($3 > vmax) vmax = $3 } }
END {
	xa = lg(smin) - 0.6; xb = lg(smax) + 0.6
	# Even powers of 2 around the values: 1, 4, 16, ... MiB.
	ya = int(lg(vmin)); if (ya > lg(vmin)) ya--; if (ya % 2) ya--
	yb = int(lg(vmax) + 0.3) + 1
	printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"800\" height=\"450\" viewBox=\"0 0 800 450\" font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"13\">\n"
	print "<rect width=\"800\" height=\"450\" fill=\"white\"/>"
	print "<text x=\"400\" y=\"26\" text-anchor=\"middle\" font-size=\"17\" font-weight=\"bold\">Peak RSS of one download against the file size (lab 5)</text>"
	printf "<text x=\"400\" y=\"46\" text-anchor=\"middle\" fill=\"#555\">a fresh server per download, median of %d round%s; both axes logarithmic</text>\n", runs, (runs > 1 ? "s" : "")
	for (e = ya; e <= yb; e++) {
		y = Y(2 ^ e)
		printf "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#%s\"/>\n", x0, y, x1, y, e % 2 ? "f0f0f0" : "dddddd"
		if (e % 2 == 0)
			printf "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", x0 - 8, y + 4, 2 ^ e < 1 ? 2 ^ e : sprintf("%d", 2 ^ e)
	}
	for (i = 1; i <= n[key[1]]; i++) {
		x = X(sz[key[1], i])
		printf "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#dddddd\"/>\n", x, y1, x, y0
		printf "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", x, y0 + 18, sz[key[1], i]
	}
	printf "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#333\"/>\n", x0, y1, x1 - x0, y0 - y1
	printf "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">file size (MiB)</text>\n", (x0 + x1) / 2, y0 + 38
	printf "<text transform=\"translate(28 %d) rotate(-90)\" text-anchor=\"middle\">peak RSS of the server (MiB)</text>\n", (y0 + y1) / 2
	for (k = 1; k <= 4; k++) {
		s = key[k]; pts = ""; gone = ""
		for (i = 1; i <= n[s]; i++) {
			if (v[s, i] == "-") { gone = gone sprintf(", %s MiB: HTTP %s", sz[s, i], code[s, i]); continue }
			pts = pts sprintf(" %.1f,%.1f", X(sz[s, i]), Y(v[s, i]))
			printf "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/>\n", X(sz[s, i]), Y(v[s, i]), colour[s]
		}
		printf "<polyline points=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2.5\"%s/>\n", pts, colour[s], dash[s]
		# The legend, under the plot where no line goes: the reference on the
		# left, Node on the right.
		lx = k <= 2 ? x0 : 450; ly = y0 + 65 + (k - 1) % 2 * 21
		printf "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2.5\"%s/>\n", lx, ly - 4, lx + 36, ly - 4, colour[s], dash[s]
		printf "<text x=\"%d\" y=\"%d\">%s%s</text>\n", lx + 44, ly, label[s], gone ? " (" substr(gone, 3) ")" : ""
	}
	# The values, right of their points: top to bottom at each size, at
	# least a line apart, so that close points do not print over each other.
	for (i = 1; i <= n[key[1]]; i++) {
		m = 0
		for (k = 1; k <= 4; k++) if (v[key[k], i] != "-") {
			y = Y(v[key[k], i]); s = key[k]
			for (j = ++m; j > 1 && ly_[j - 1] > y; j--) { ly_[j] = ly_[j - 1]; ls[j] = ls[j - 1] }
			ly_[j] = y; ls[j] = s
		}
		for (j = 1; j <= m; j++) {
			y = ly_[j] - 6
			if (j > 1 && y < prev + 14) y = prev + 14
			prev = y
			printf "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" fill=\"%s\" stroke=\"white\" stroke-width=\"3\" paint-order=\"stroke\">%s</text>\n",
				X(sz[key[1], i]) + 9, y, colour[ls[j]], fmt(v[ls[j], i])
		}
	}
	print "</svg>"
}' "$tmp/curve" >"$svg"
echo
echo "picture, peak RSS against file size: $repo/$svg"
