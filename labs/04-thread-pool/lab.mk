# Lab 4's build description, read by mk/build.mk.
LAB_4_DIR    := 04-thread-pool
# The files a student edits; solutions/04-thread-pool holds exactly these (and
# answers.txt, the quiz, which is not compiled).
LAB_4_EDITED := pool.c orders.c
# The pool and the kitchen's dishes (given), which labs 5-7 link; and the
# kitchen's routes, added to lab 3's server through server.h (orders.c).
LAB_4_LIB    := pool.c kitchen.c
LAB_4_PROG   := orders.c
LAB_4_TESTS  := test_pool
