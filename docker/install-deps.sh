#!/bin/sh
# The one place that installs what the course needs. The Dockerfile, the
# devcontainer, CI (.ci/run) and `make grade`/`make test` on a fresh machine all
# call this script, so they can never drift apart.
#
#   docker/install-deps.sh           install what is missing (as root, or via sudo)
#   docker/install-deps.sh --check   exit 0 if everything is present, 1 otherwise
#   docker/install-deps.sh --bench   also what `make bench` needs (wrk, node, libuv)
#   docker/install-deps.sh --slides  also what `make slides` and its layout check
#                                    need (node, npm, Chromium, the fonts it measures)
#   docker/install-deps.sh --batch   also GNU parallel (batch grading across hosts)
#   docker/install-deps.sh --selftest  also ccache (make test compiles the course
#                                    for hundreds of gradings: it shares their objects)
set -eu

# bubblewrap is the grader's sandbox for student code (autograder/README.md).
# clang builds the fuzzing harnesses of `make test` (autograder/fuzz).
# zlib1g-dev: lab 7's inflate and deflate. unzip, libarchive-tools (bsdtar)
# and python3 (zipfile): the tools lab 7's writer must satisfy.
# netcat-openbsd (nc) and strace: the handouts talk to servers with nc and
# watch system calls with strace from lab 1 on; inotify-tools: make watch.
# python3-yaml: make test reads the release's GitHub workflow as GitHub would
# (autograder/tests/classroom-sim).
PACKAGES="build-essential make pkg-config check valgrind gcovr zlib1g-dev curl patch procps ca-certificates git bubblewrap clang unzip libarchive-tools python3 netcat-openbsd strace python3-yaml inotify-tools"
# -fsanitize=fuzzer,address,undefined also needs clang's runtime libraries
# (libclang_rt.fuzzer, .asan, ...). Debian 12 and Ubuntu 24.04 ship them
# apart, in libclang-rt-dev, which clang does not even recommend; older
# Ubuntus ship them with clang itself and have no such package. So the
# runtime is asked for only when a fuzzer does not link, and installed by
# that name only where apt knows it.
RUNTIME=libclang-rt-dev
fuzzer_links() {
	printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n)\n{ (void)d; (void)n; return 0; }\n' |
		clang -fsanitize=fuzzer -x c - -o /dev/null 2>/dev/null
}
# Node: Debian's nodejs (and npm), unless they are already on the PATH (a
# nodesource node brings its own npm, which Debian's npm would conflict with).
need_node() {
	command -v node >/dev/null 2>&1 || PACKAGES="$PACKAGES nodejs"
	command -v npm >/dev/null 2>&1 || [ "$1" != npm ] || PACKAGES="$PACKAGES npm"
}
while [ $# -gt 0 ]; do
	case $1 in
	--bench)
		PACKAGES="$PACKAGES wrk python3 util-linux libuv1-dev zip"
		need_node
		;;
	--slides)
		# The layout check measures text: one known font keeps it the
		# same on every machine (DejaVu is wider than most, so a deck
		# that fits here fits elsewhere).
		PACKAGES="$PACKAGES chromium fonts-dejavu-core"
		need_node npm
		;;
	--batch) PACKAGES="$PACKAGES parallel" ;;
	--selftest) PACKAGES="$PACKAGES ccache" ;;
	*) break ;;
	esac
	shift
done

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
fuzzer_links || missing="$missing $RUNTIME"

if [ "${1:-}" = "--check" ]; then
	[ -z "$missing" ] && exit 0
	echo "missing Debian packages:$missing" >&2
	exit 1
fi

if [ -z "$missing" ]; then
	echo "install-deps: all packages present"
	exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-deps: this machine has no apt-get; install these packages by hand:$missing" >&2
	exit 1
fi

if [ "$(id -u)" = 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	SUDO="sudo"
elif command -v sudo >/dev/null 2>&1 && [ -t 0 ]; then
	echo "install-deps: sudo will ask for your password to install:$missing"
	SUDO="sudo"
else
	echo "install-deps: please run, as root:" >&2
	echo "  apt-get update && apt-get install -y --no-install-recommends$missing" >&2
	exit 1
fi

# apt's own output (hundreds of lines of progress) goes to a log that is
# shown only when something fails: a first run prints one line per package.
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp "${TMPDIR:-/tmp}/install-deps.XXXXXX")
apt() {
	$SUDO apt-get "$@" >>"$log" 2>&1 && return 0
	echo "install-deps: apt-get $1 failed; its last lines (all of them: $log):" >&2
	tail -n 20 "$log" >&2
	exit 1
}
echo "install-deps: updating the package lists"
apt update -q
case " $missing " in *" $RUNTIME "*)
	apt-cache show "$RUNTIME" >/dev/null 2>&1 ||
		missing=$(echo "$missing" | sed "s/ $RUNTIME//") ;;
esac
for p in $missing; do
	echo "install-deps: installing $p"
done
# shellcheck disable=SC2086 # word splitting of the package list is intended
apt install -y -q --no-install-recommends $missing
rm -f "$log"
echo "install-deps: done"
