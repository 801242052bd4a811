# Lab 4's build description, read by mk/build.mk.
LAB_4_DIR    := 04-thread-pool
# The files a student edits; solutions/04-thread-pool holds exactly these.
LAB_4_EDITED := pool.c server.c
# The pool, which labs 5-7 use, and the kitchen's routes (given).
LAB_4_LIB    := pool.c kitchen.c
LAB_4_PROG   := server.c
LAB_4_TESTS  := test_pool
