# Lab 4's build description, read by mk/build.mk.
LAB_4_DIR    := 04-thread-pool
# The files a student edits; solutions/04-thread-pool holds exactly these (and
# answers.txt, the quiz, which is not compiled).
LAB_4_EDITED := pool.c orders.c
# The pool and the kitchen's dishes (given), which labs 5-7 link; and the
# kitchen's routes, added to lab 3's server through server.h (orders.c).
# The live dashboard (dashboard.c, given) is every later server's too.
LAB_4_LIB    := pool.c kitchen.c dashboard.c
LAB_4_PROG   := orders.c
LAB_4_TESTS  := test_pool
# The dashboard learns of the lab's pool as it opens and closes, whoever's
# file opens it: the linker sends calls to tp_init and tp_close through
# its __wrap_ functions (dashboard.c), which call the real ones.
LAB_4_LDLIBS := -Wl,--wrap=tp_init -Wl,--wrap=tp_close
