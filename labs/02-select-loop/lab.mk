# Lab 2's build description, read by mk/build.mk.
LAB_2_DIR    := 02-select-loop
# The files a student edits; solutions/02-select-loop holds exactly these (and
# answers.txt, the quiz, which is not compiled).
LAB_2_EDITED := conn.c server.c
# Modules later labs link too: the connection state machine and its buffer.
LAB_2_LIB    := buf.c conn.c
# This lab's own server program: the select() loop.
LAB_2_PROG   := server.c
LAB_2_TESTS  := test_buf test_conn
