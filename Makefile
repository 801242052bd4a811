# The course's one entry point. `make help` lists the targets.
#
#   make grade LAB=1                  grade your lab 1 (labs/01-*)
#   make grade LAB=1 IMPL=solutions   grade the reference solution
#   make grade LAB=2 REF=1            lab 2 on top of the reference lab 1
#   make hint LAB=1                   the next hint for the first failing check
#   make build LAB=1                  just build (server and tests in build/)
#   make trace LAB=4                  your server traced in a short scene: a timeline page
#   make test                         the course tests itself (CI runs this)
#   make release LABS=1-3 REFS=1      the students' copy of the course
#
# A student's copy (what `make release` writes) has no autograder/selftest:
# there `make test` builds every lab and runs its public unit tests, and the
# instructor's targets below do not exist.

LAB  ?= 1
IMPL ?= labs
REF  ?=
COURSE := $(wildcard autograder/selftest)

.DEFAULT_GOAL := help
.PHONY: help deps build grade test unit quiz watch hint trace bench slides clean format grader

help:
	@echo "make grade LAB=N [IMPL=labs|solutions] [REF=1,2]  grade lab N (report + score)"
	@echo "make build LAB=N [IMPL=...]                       build lab N's server and tests into build/"
	@echo "make watch LAB=N                                  rebuild and rerun lab N's public tests at every save, printing what changed"
	@echo "make quiz LAB=N                                   predict, then measure: lab N's questions, your answers in answers.txt"
	@echo "make hint LAB=N [CHECK=name]                      stuck? the next hint (nudge, mechanism, sketch) for the first check your last grading failed"
	@echo "make trace LAB=N [IMPL=...] [REF=...]             lab N's server traced in a short scene (N >= 3): build/trace-labN.json and a timeline page, build/trace-labN.html"
ifneq ($(COURSE),)
	@echo "make test                                         self-test: references, starters, mutants, grader, the student release"
	@echo "make unit [IMPL=...]                              build every lab, run its public unit tests"
	@echo "make release [LABS=1-3] [REFS=1,2] [OUT=DIR]      the students' copy: released labs and references, no hidden tests (build/release/)"
	@echo "make coverage LAB=N                               the lines of lab N's reference no check runs (autograder/coverage/)"
	@echo "make mutate LAB=N [SAMPLE=K] [SEED=S] [JOBS=2]    automatic mutants of lab N's reference: mutation score (long)"
	@echo "make gradescope LAB=N                             the Gradescope autograder zip for lab N (build/)"
	@echo "make batch LAB=N SUBMISSIONS=DIR [JOBS=J] [OUT=DIR]  grade a class: gradebook.csv, summary.csv (autograder/batch.md)"
	@echo "make figures LAB=N                                measure again the figures lab N's handout and slides quote: labs/NN-*/figures.tsv (long)"
else
	@echo "make test                                         build every lab and run its public unit tests (make grade scores)"
endif
	@echo "make bench LAB=N                                  reference, Node, a bare epoll limit (and yours): req/s, CPU/request; lab 4+: pool vs libuv; lab 5+: a 1 GiB file, MB/s and peak RSS; lab 6+: ports and workers vs Node; lab 7: zipstream vs bsdtar, unzip, Python, Node (extract), zip, archiver (create)"
	@echo "make slides                                       render slides/*.md to HTML (needs node/npm)"
	@echo "make deps                                         install the Debian packages the course needs"
	@echo "make clean                                        remove build/ and rendered slides"
	@echo "autograder/grade --help                           every grader option (JSON output, submissions, ...)"

# Installs missing Debian packages (as root, via sudo, or prints the command).
deps:
	@docker/install-deps.sh --check 2>/dev/null || docker/install-deps.sh

build: deps
	@$(MAKE) --no-print-directory -f mk/build.mk LAB=$(LAB) IMPL=$(IMPL) REF=$(REF) \
		SRC_ROOT=. OUT=build/$(IMPL) lab
	@echo "built: build/$(IMPL)/lab$(LAB)/ (the server or tools, and the tests)"

grader: deps
	@$(MAKE) --no-print-directory -C autograder

# The JSON report is what `make hint` reads to find the first failed check;
# the .ref beside it, the REF it was graded with, which `make hint` grades
# with again when it must.
grade: grader
	@mkdir -p build/reports
	@autograder/grade --lab $(LAB) --impl $(IMPL) $(if $(REF),--ref $(REF)) $(if $(COVERAGE),--coverage) \
		--json build/reports/lab$(LAB)-$(IMPL).json; \
	rc=$$?; printf '%s\n' '$(REF)' >build/reports/lab$(LAB)-$(IMPL).ref; exit $$rc

ifneq ($(COURSE),)
test: grader
	@autograder/selftest
else
test: unit
endif

unit: deps
	@IMPL=$(IMPL) REF=$(REF) mk/unit-tests

quiz:
	@mk/quiz $(LAB)

watch: deps
	@IMPL=$(IMPL) REF=$(REF) mk/watch $(LAB)

hint:
	@IMPL=$(IMPL) REF=$(REF) mk/hint $(LAB) $(if $(CHECK),--check $(CHECK)) $(if $(LEVEL),--level $(LEVEL))

# In the course and in a student's copy alike (mk/ and autograder/trace/ ship).
trace: deps
	@IMPL=$(IMPL) REF=$(REF) mk/trace $(LAB)

ifneq ($(COURSE),)
# The students' copy: autograder/release/make-release says what goes in.
LABS ?=
REFS ?=
OUT  ?=
.PHONY: release gradescope mutate coverage batch figures
release: grader
	@autograder/release/make-release $(if $(LABS),--labs $(LABS)) $(if $(REFS),--refs $(REFS)) --out $(or $(OUT),build/release)

# Not part of `make test` (it runs the bench): rewrites lab N's table of
# measured figures; autograder/tests/figures then says which quotes disagree
# (--fix rewrites them).
figures: grader
	@bench/figures $(LAB)

# Not part of `make test` (too long): autograder/mutate/, autograder/README.md.
mutate: grader
	@python3 autograder/mutate/mutate.py --lab $(LAB) $(if $(SAMPLE),--sample $(SAMPLE)) \
		$(if $(SEED),--seed $(SEED)) $(if $(JOBS),--jobs $(JOBS))

# Not part of `make test`: the reference graded, then graded again on a
# --coverage build; its summary and never-run lines are kept in the repository.
.PHONY: coverage
coverage: grader
	@mkdir -p build autograder/coverage
	@autograder/grade --lab $(LAB) --impl solutions --coverage-dir build --no-colour \
		--output build/coverage-lab$(LAB).report; rc=$$?; \
	if [ $$rc -gt 1 ] || [ ! -f build/coverage-lab$(LAB)/coverage.txt ]; then \
		echo "make coverage: no coverage (see build/coverage-lab$(LAB).report)"; exit 2; fi; \
	[ $$rc -eq 0 ] || echo "note: the reference failed a check (build/coverage-lab$(LAB).report)"; \
	cp build/coverage-lab$(LAB)/coverage.txt autograder/coverage/lab$(LAB).txt; \
	sed -n '/^  file /,/^$$/p' build/coverage-lab$(LAB)/coverage.txt; \
	grep -E '^([0-9]+ line\(s\) |every line ran)' build/coverage-lab$(LAB)/coverage.txt; \
	echo "never-run lines: autograder/coverage/lab$(LAB).txt; line by line: build/coverage-lab$(LAB)/index.html"

gradescope:
	@autograder/gradescope/package $(LAB)

# A class's submissions (folders, git repositories, zips), graded in parallel.
batch:
	@autograder/batch --lab $(LAB) $(SUBMISSIONS) $(if $(JOBS),--jobs $(JOBS)) \
		$(if $(OUT),--out $(OUT)) $(if $(REV),--rev $(REV)) $(if $(REF),--ref $(REF))
endif

bench: deps
	@bench/run $(LAB)

slides:
	@$(MAKE) --no-print-directory -C slides

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build
	@$(MAKE) --no-print-directory -C autograder clean
	@$(MAKE) --no-print-directory -C slides clean 2>/dev/null || true
