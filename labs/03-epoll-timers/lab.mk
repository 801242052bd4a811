# Lab 3's build description, read by mk/build.mk.
LAB_3_DIR    := 03-epoll-timers
# The files a student edits; solutions/03-epoll-timers holds exactly these (and
# answers.txt, the quiz, which is not compiled).
LAB_3_EDITED := heap.c loop.c server.c
# The loop, and the server on it: library code that labs 4-7 link and add
# to (server.h), never copy. frame.c (given) is how they add.
LAB_3_LIB    := heap.c loop.c server.c frame.c body.c trace.c loop_trace.c
LAB_3_PROG   :=
LAB_3_TESTS  := test_heap test_loop test_timers test_frame
