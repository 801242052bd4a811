#!/usr/bin/env bash
# Gradescope runs this once when it builds the autograder image (as root, on
# Ubuntu): the course's one dependency script, then the grader itself.
set -euo pipefail
cd /autograder/source
docker/install-deps.sh
make -s -C autograder
