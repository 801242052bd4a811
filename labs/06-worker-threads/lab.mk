# Lab 6's build description, read by mk/build.mk.
LAB_6_DIR    := 06-worker-threads
# The files a student edits; solutions/06-worker-threads holds exactly these.
LAB_6_EDITED := port.c worker.c compute.c
# Message ports and workers, which lab 7 uses.
LAB_6_LIB    := port.c worker.c
LAB_6_PROG   := compute.c compute_req.c
LAB_6_TESTS  := test_port test_worker
