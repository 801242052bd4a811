# Lab 5's build description, read by mk/build.mk.
LAB_5_DIR    := 05-file-streams
# The files a student edits; solutions/05-file-streams holds exactly these.
LAB_5_EDITED := fs.c stream.c files.c
# File operations on the pool and streams, which labs 6-7 use; and the
# file routes, added to lab 3's server through server.h: files.c, the
# buffered way (buffered.c, given) and /stats (stats.c, given). Those are
# lab 5's program only, as orders.c is lab 4's.
LAB_5_LIB    := fs.c stream.c
LAB_5_PROG   := files.c buffered.c stats.c
LAB_5_TESTS  := test_stream
