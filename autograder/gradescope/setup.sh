#!/usr/bin/env bash
# Gradescope runs this once when it builds the autograder image (as root, on
# Ubuntu): the course's one dependency script, then the grader itself.
# AUTOGRADER_ROOT (default /autograder): where Gradescope unpacked the zip
# (ROOT/source); autograder/tests/gradescope-sim points it at a scratch copy.
set -euo pipefail
cd "${AUTOGRADER_ROOT:-/autograder}/source"
docker/install-deps.sh
make -s -C autograder
