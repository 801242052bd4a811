# Lab 1's build description, read by mk/build.mk. Every lab has one.
LAB_1_DIR    := 01-blocking-server
# The files a student edits; solutions/01-blocking-server holds exactly these (and
# answers.txt, the quiz, which is not compiled).
LAB_1_EDITED := http.c io.c server.c
# Modules that later labs link too (edited or given).
LAB_1_LIB    := http.c io.c app.c
# This lab's own server (later labs bring their own server.c); the
# program's main() is labs/common/main.c.
LAB_1_PROG   := server.c
# Check test programs in tests/ (tests/NAME.c each).
LAB_1_TESTS  := test_http test_io
