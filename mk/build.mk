# mk/build.mk - builds one lab: its server and its test programs.
#
# Inputs (all have defaults, see the top Makefile):
#   LAB       the lab number N
#   IMPL      labs | solutions: where the student-edited files come from
#   REF       comma-separated earlier labs taken from solutions/ (REF=1,2)
#   SRC_ROOT  the tree holding labs/ and solutions/ (the grader points it at
#             a scratch copy of a submission)
#   HIDDEN    a folder with hidden tests (autograder/hidden), or empty
#   HIDDEN_OBJS  a folder with hidden tests already compiled (NAME.o each),
#             or empty: the grader compiles them where student code cannot
#             read their sources (target hidden-objs), and links them here
#   OUT       where objects and programs go
#   COVERAGE  1: lab N's edited files compiled for gcov (--coverage -O0) and
#             every program linked with libgcov, in $(OUT)/labN-coverage so
#             that the ordinary build's objects are never mixed in; each
#             program that exits writes .gcda files next to the objects
#   COVERAGE_FLUSH  with COVERAGE, a C file linked into every program that
#             wraps write(), send(), close(), _exit()... to write the counters
#             early (the grader's: autograder/src/coverage.c says why)
#
# Lab N links labs/common, the LIB modules of labs 1..N-1, and lab N's LIB and
# PROG files. Student-edited files come from IMPL (or solutions/ for labs in
# REF); given files always come from labs/.

CC      ?= cc
# _FORTIFY_SOURCE: glibc then aborts on FD_SET(fd >= FD_SETSIZE) instead of
# silently writing past the fd_set (lab 2).
CFLAGS  ?= -O2 -g -D_FORTIFY_SOURCE=2
# override: `make CFLAGS=-O0` must not drop the course's required flags.
# -Werror=return-type: a function that can end without its return value
# hands the caller whatever a register held; it is always a bug, so the
# build says so rather than a check failing now and then.
override CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror=return-type \
                   -pthread -MMD -MP
LDLIBS  += -pthread
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell pkg-config --libs check 2>/dev/null)

include $(wildcard $(SRC_ROOT)/labs/[0-9][0-9]-*/lab.mk)

comma := ,
# The earlier labs whose LIB files lab N links: all of them, unless its
# lab.mk says LAB_N_BUILDS_ON (the labs listed, or none: a lab that needs
# no earlier one builds less, and a broken earlier lab cannot break it).
LABS_BEFORE := $(if $(filter undefined,$(origin LAB_$(LAB)_BUILDS_ON)), \
                 $(filter-out $(LAB),$(shell seq 1 $(LAB))),$(LAB_$(LAB)_BUILDS_ON))
REF_LIST    := $(subst $(comma), ,$(REF))
ifeq ($(LAB_$(LAB)_DIR),)
$(error LAB=$(LAB): no labs/NN-*/lab.mk defines LAB_$(LAB)_DIR)
endif

# $(call src_of,K,FILE): the path of FILE of lab K.
# $(call obj_of,K,FILE): its object, in a folder named for where it came
# from, so that switching REF on or off never reuses the other's objects.
impl_of = $(if $(filter $(1),$(REF_LIST)),solutions,$(IMPL))
tree_of = $(if $(filter $(2),$(LAB_$(1)_EDITED)),$(call impl_of,$(1)),labs)
src_of  = $(SRC_ROOT)/$(call tree_of,$(1),$(2))/$(LAB_$(1)_DIR)/$(2)
obj_of  = $(LABDIR)/obj/$(1)-$(call tree_of,$(1),$(2))/$(basename $(2)).o

LABDIR  := $(OUT)/lab$(LAB)$(if $(COVERAGE),-coverage)
# Newest lab first: its server.h (say) hides an earlier lab's.
INCS    := $(foreach k,$(LAB) $(shell echo $(LABS_BEFORE) | tr ' ' '\n' | sort -rn),-I$(SRC_ROOT)/labs/$(LAB_$(k)_DIR)/include) \
           -I$(SRC_ROOT)/labs/common

# common/main.c starts the server; the tests have their own main().
COMMON_SRCS := $(filter-out %/main.c,$(wildcard $(SRC_ROOT)/labs/common/*.c))
COMMON_OBJS := $(patsubst $(SRC_ROOT)/labs/common/%.c,$(LABDIR)/obj/common/%.o,$(COMMON_SRCS))

# One compile rule per (lab, file): files of different labs may share names.
define compile_rule
$(call obj_of,$(1),$(2)): $(call src_of,$(1),$(2))
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS) $$(INCS) -c $$< -o $$@
endef
$(foreach k,$(LABS_BEFORE),$(foreach f,$(LAB_$(k)_LIB),$(eval $(call compile_rule,$(k),$(f)))))
$(foreach f,$(sort $(LAB_$(LAB)_LIB) $(LAB_$(LAB)_PROG) $(addsuffix .c,$(LAB_$(LAB)_TOOLS))),$(eval $(call compile_rule,$(LAB),$(f))))
# Libraries a lab's code needs (LAB_N_LDLIBS: lab 7's -lz), for it and
# every later lab that links its LIB files.
LDLIBS += $(foreach k,$(LABS_BEFORE) $(LAB),$(LAB_$(k)_LDLIBS))

LIB_OBJS  := $(foreach k,$(LABS_BEFORE),$(foreach f,$(LAB_$(k)_LIB),$(call obj_of,$(k),$(f)))) \
             $(foreach f,$(LAB_$(LAB)_LIB),$(call obj_of,$(LAB),$(f)))
PROG_OBJS := $(foreach f,$(filter-out $(LAB_$(LAB)_LIB),$(LAB_$(LAB)_PROG)),$(call obj_of,$(LAB),$(f)))
MAIN_OBJ  := $(LABDIR)/obj/common/main.o
# Tests link everything but main(): the server's functions are testable too.
TEST_LINK := $(COMMON_OBJS) $(LIB_OBJS) $(PROG_OBJS)

TEST_DIR    := $(SRC_ROOT)/labs/$(LAB_$(LAB)_DIR)/tests
HIDDEN_DIR  := $(if $(HIDDEN),$(HIDDEN)/$(LAB_$(LAB)_DIR))
HIDDEN_SRCS := $(if $(HIDDEN_DIR),$(wildcard $(HIDDEN_DIR)/*.c))
HIDDEN_ODIR := $(if $(HIDDEN_OBJS),$(HIDDEN_OBJS),$(LABDIR)/obj/hidden)
HIDDEN_O    := $(if $(HIDDEN_OBJS),$(wildcard $(HIDDEN_OBJS)/*.o), \
                 $(patsubst $(HIDDEN_DIR)/%.c,$(HIDDEN_ODIR)/%.o,$(HIDDEN_SRCS)))
TESTS       := $(foreach t,$(LAB_$(LAB)_TESTS),$(LABDIR)/$(t)) \
               $(patsubst $(HIDDEN_ODIR)/%.o,$(LABDIR)/hidden_%,$(HIDDEN_O))

.PHONY: lab lab-server lab-tests lab-tools hidden-objs
lab: lab-server lab-tests lab-tools
# LAB_N_SERVER := no: a lab with no server of its own (lab 7's first
# part); every other lab links one.
lab-server: $(if $(filter no,$(LAB_$(LAB)_SERVER)),,$(LABDIR)/server)
lab-tests: $(TESTS)
# Command-line tools (LAB_N_TOOLS: lab 7's zipstream): each is TOOL.c, a
# given file with its own main(), linked with the labs' libraries.
TOOLS := $(foreach t,$(LAB_$(LAB)_TOOLS),$(LABDIR)/$(t))
lab-tools: $(TOOLS)
# Only the hidden tests' objects: what the grader compiles outside the
# sandbox (they include given headers only, never a student's file).
hidden-objs: $(HIDDEN_O)

# Which objects make up the lab changes with REF: record the list, so that
# switching relinks even when every object is older than the program.
OBJ_LIST := $(LABDIR)/objects.txt
$(OBJ_LIST): FORCE
	@mkdir -p $(@D)
	@echo '$(COMMON_OBJS) $(LIB_OBJS) $(PROG_OBJS)' | cmp -s - $@ || \
		echo '$(COMMON_OBJS) $(LIB_OBJS) $(PROG_OBJS)' >$@
.PHONY: FORCE
FORCE:

ifneq ($(COVERAGE),)
# Only the student's files of this lab: what the coverage report is about.
# -O0 (and so no _FORTIFY_SOURCE, which needs optimisation): a line of
# source is a line of code and each condition a branch of its own.
COVERAGE_OBJS := $(foreach f,$(LAB_$(LAB)_EDITED),$(call obj_of,$(LAB),$(f)))
$(COVERAGE_OBJS): override CFLAGS += --coverage -O0 -U_FORTIFY_SOURCE
# libgcov at link time, not --coverage in CFLAGS: that would also
# instrument the test programs' own code.
LDLIBS += -lgcov
ifneq ($(COVERAGE_FLUSH),)
FLUSH_OBJ := $(LABDIR)/obj/coverage-flush.o
$(FLUSH_OBJ): $(COVERAGE_FLUSH)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@
$(LABDIR)/server $(TESTS) $(TOOLS): $(FLUSH_OBJ)
LDLIBS += $(foreach f,write writev send sendto sendmsg sendfile shutdown \
	close _exit,-Wl,--wrap=$(f))
endif
endif

$(LABDIR)/server: $(COMMON_OBJS) $(LIB_OBJS) $(PROG_OBJS) $(MAIN_OBJ) $(OBJ_LIST)
	$(CC) $(CFLAGS) -o $@ $(filter %.o,$^) $(LDLIBS)

$(foreach t,$(LAB_$(LAB)_TOOLS),$(eval $(LABDIR)/$(t): $(call obj_of,$(LAB),$(t).c) $(COMMON_OBJS) $(LIB_OBJS) $(OBJ_LIST)))
$(TOOLS):
	$(CC) $(CFLAGS) -o $@ $(filter %.o,$^) $(LDLIBS)

$(LABDIR)/obj/common/%.o: $(SRC_ROOT)/labs/common/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(INCS) -c $< -o $@

# Compiled, then linked: a compiler cache (ccache) can keep a compile but
# never a compile-and-link, and the test programs were most of the
# compiler's time in a grading that changes one file of the lab.
$(LABDIR)/obj/tests/%.o: $(TEST_DIR)/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(INCS) $(CHECK_CFLAGS) -c $< -o $@

# Kept (not an intermediate file make deletes): the next build reuses it.
.SECONDARY: $(foreach t,$(LAB_$(LAB)_TESTS),$(LABDIR)/obj/tests/$(t).o)
$(LABDIR)/test_%: $(LABDIR)/obj/tests/test_%.o $(TEST_LINK) $(OBJ_LIST)
	$(CC) $(CFLAGS) -o $@ $(filter %.o,$^) $(CHECK_LIBS) $(LDLIBS)

$(LABDIR)/obj/hidden/%.o: $(HIDDEN_DIR)/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(INCS) $(CHECK_CFLAGS) -c $< -o $@

$(LABDIR)/hidden_%: $(HIDDEN_ODIR)/%.o $(TEST_LINK) $(OBJ_LIST)
	$(CC) $(CFLAGS) -o $@ $(filter %.o,$^) $(CHECK_LIBS) $(LDLIBS)

-include $(shell find $(LABDIR) -name '*.d' 2>/dev/null)
