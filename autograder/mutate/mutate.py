#!/usr/bin/env python3
"""autograder/mutate/mutate.py - automatic mutants beside the hand-written ones.

`make mutate LAB=N [SAMPLE=K] [SEED=S] [JOBS=2]` mutates the reference's
student-edited files (solutions/NN-name/<each file of LAB_N_EDITED>) with the
operators of operators.py, draws mutants in a seeded (repeatable) order until
K of them compile to new code, grades each like a hand-written mutant but with
EVERY check (--hidden, --ref 1..N-1, --budget 120), JOBS at a time, and writes
results/labN.md: the mutation score killed / (killed + survived) per file and
per lab, and every survivor as a diff. A grading that has to be killed
("timeout") counts as killed and is listed.

Triage (triage/labN.md), one line per survivor:
  - `FILE:LINE:OP:HASH` equivalent: <why no program can tell it apart>
  - `FILE:LINE:OP:HASH` check: <the check that now catches it>
  - `FILE:LINE:OP:HASH` check: lab K <a check of lab K>  (code this lab
    gives to a later one: graded as lab K, this lab's files the mutant's)
The score after triage leaves equivalent mutants out; a survivor said to be
caught by a check is graded again with --only that check and counts as killed
if it fails, else the triage is reported wrong. An id names its mutant, or
else the only one with its FILE, OP and HASH (the reference moved its line).
`--rescore` applies the triage to the last results/labN.md again, grading
only the survivors triaged "check:".
Exit status: 0 target met and triage sound, 1 otherwise, 2 tool error.
"""
import argparse
import concurrent.futures
import datetime
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the repository
from operators import mutants_of  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
GRADE = os.path.join(REPO, "autograder", "build", "grade")
BUDGET = 120            # each grading's --budget, seconds
WALL = BUDGET + 60      # past this a grading is killed: "timeout"
DEFAULT_SEED = 1        # a fixed seed: a run is repeatable
DEFAULT_SAMPLE = 60
TARGET = 0.90           # of non-equivalent mutants killed, in every lab
# mk/build.mk's flags, without -g and -MMD: identical objects mean identical code.
CFLAGS = ["-O2", "-D_FORTIFY_SOURCE=2", "-std=c11", "-D_GNU_SOURCE", "-Wall",
          "-Wextra", "-Werror=return-type", "-pthread"]
KILLED = ("killed", "timeout")


def lab_info(n):
    """(NN-name, [the files a student edits]) from labs/*/lab.mk."""
    for d in sorted(os.listdir(os.path.join(REPO, "labs"))):
        mk = os.path.join(REPO, "labs", d, "lab.mk")
        if os.path.isfile(mk):
            v = dict(re.findall(r"^(LAB_%d_\w+)\s*:?=\s*(.*)$" % n, open(mk).read(), re.M))
            if "LAB_%d_DIR" % n in v:
                return v["LAB_%d_DIR" % n].strip(), v["LAB_%d_EDITED" % n].split()
    sys.exit("mutate: no labs/*/lab.mk defines lab %d" % n)


def compile_obj(n, folder, fname):
    """The object code of folder/fname, or None if it does not compile. Always
    compiled as ./fname, so that the object names the same file every time."""
    incs = ["-I%s/labs/%s/include" % (REPO, lab_info(k)[0]) for k in range(n, 0, -1)]
    incs.append("-I%s/labs/common" % REPO)
    r = subprocess.run(["cc"] + CFLAGS + incs + ["-c", fname, "-o", fname + ".o"],
                       cwd=folder, capture_output=True)
    if r.returncode:
        return None
    with open(os.path.join(folder, fname + ".o"), "rb") as f:
        return f.read()


class Run:
    """One `make mutate` run: a lab, its mutants, a scratch folder."""

    def __init__(self, args):
        self.args, self.n = args, args.lab
        self.lab_dir, self.files = lab_info(self.n)
        self.work = tempfile.mkdtemp(prefix="mutate-lab%d-" % self.n)
        self.pool = concurrent.futures.ThreadPoolExecutor(max(1, args.jobs))
        self.problems, self.stale = [], []
        self.date, self.wall, self.old = None, 0, None  # of the graded run, when rescoring
        self.started = now()
        self.regraded = ""  # --rescore --ids: which mutants were graded again

    def source(self, f):
        return os.path.join(REPO, "solutions", self.lab_dir, f)

    def draw(self):
        """Every mutant in a fixed order, shuffled by the seed; the first
        SAMPLE that compile to code other than the reference's are graded."""
        self.every, original = [], {}
        for f in self.files:
            self.every += mutants_of(f, open(self.source(f)).read())
        if self.old is not None:  # --rescore: the sample of the results file
            ids = {m.id: m for m in self.every}
            for i in self.old:
                if i not in ids:
                    sys.exit("mutate: %s of results/lab%d.md is no mutant of the reference: "
                             "it has changed since, run again" % (i, self.n))
                ids[i].status, ids[i].failed, ids[i].secs = self.old[i]
            self.sample = [ids[i] for i in self.old]
            return
        for f in self.files:
            d = os.path.join(self.work, "ref-" + f)
            os.makedirs(d)
            shutil.copy(self.source(f), d)
            original[f] = compile_obj(self.n, d, f)
            if original[f] is None:
                sys.exit("mutate: the reference %s/%s does not compile" % (self.lab_dir, f))
        order = list(range(len(self.every)))
        random.Random(self.args.seed).shuffle(order)
        if self.args.ids:
            want = {self.find(i).id for i in self.args.ids.split(",") if self.find(i)}
            order = [i for i in order if self.every[i].id in want]

        def build(i):
            m = self.every[i]
            d = os.path.join(self.work, "cc-%d" % i)
            os.makedirs(d)
            with open(os.path.join(d, m.file), "w") as f:
                f.write(m.text)
            return m, compile_obj(self.n, d, m.file)
        self.stillborn, self.same, self.sample = [], [], []
        pos, k = 0, self.args.sample
        while len(self.sample) < k and pos < len(order):
            batch = order[pos:pos + max(k - len(self.sample), self.args.jobs)]
            pos += len(batch)
            for m, obj in self.pool.map(build, batch):
                if len(self.sample) == k:
                    break
                if obj is None:
                    self.stillborn.append(m)  # does not compile: not counted
                elif obj == original[m.file]:
                    self.same.append(m)  # the very same machine code: equivalent
                else:
                    self.sample.append(m)

    def find(self, ident):
        """The mutant FILE:LINE:OP:HASH names: that very one, or else the
        only one with that FILE, OP and HASH (the reference has moved it)."""
        same = [m for m in self.every if m.id == ident]
        if not same:
            f, _, op, h = (ident.split(":") + ["", "", "", ""])[:4]
            same = [m for m in self.every if (m.file, m.op, m.hash) == (f, op, h)]
        return same[0] if len(same) == 1 else None

    def grade(self, name, mutant=None, only=None, lab=None):
        """Grades the reference with MUTANT in it: (status, failed checks, s).
        LAB (a later lab than this one): grades that lab instead, with the
        mutant in this lab's files and every lab between from the reference,
        for code this lab gives to later ones (lab 2's conn_stream_*)."""
        lab = lab or self.n
        sub = os.path.join(self.work, "sub-" + name)
        for k in range(self.n, lab + 1):
            d, files = lab_info(k)
            os.makedirs(os.path.join(sub, d))
            for f in files:
                shutil.copy(os.path.join(REPO, "solutions", d, f), os.path.join(sub, d, f))
        if mutant:
            with open(os.path.join(sub, self.lab_dir, mutant.file), "w") as f:
                f.write(mutant.text)
        tsv, log = os.path.join(self.work, name + ".tsv"), os.path.join(self.work, name + ".out")
        cmd = ["timeout", "-k", "10", str(WALL), GRADE, "--repo", REPO, "--lab", str(lab),
               "--submission", sub, "--hidden", "--tsv", tsv, "--budget", str(BUDGET), "--no-colour"]
        if self.n > 1:
            cmd += ["--ref", ",".join(str(k) for k in range(1, self.n))]
        if only:
            cmd += ["--only", only]
        t0 = time.time()
        with open(log, "wb") as out:
            rc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT).returncode
        secs = time.time() - t0
        failed = []
        if os.path.exists(tsv):
            failed = [l.split("\t")[0] for l in open(tsv) if l.split("\t")[1:2] == ["failed"]]
        if rc in (124, 137):
            return "timeout", failed, secs  # the grading was killed
        if rc == 0:
            return "survived", failed, secs
        if failed:  # exit 1 (or 2, a grader error, but a check failed)
            return "killed", failed, secs
        return "error", failed, secs  # exit 2 and nothing failed: not counted

    def grade_sample(self, which=None):
        which = self.sample if which is None else which
        done = [0]

        def one(k):
            m = which[k]
            m.status, m.failed, m.secs = self.grade("m%d" % k, m)
            done[0] += 1
            print("[%d/%d] %-8s %s  %s" % (done[0], len(which), m.status, m.id, m.what), flush=True)
        list(self.pool.map(one, range(len(which))))

    def triage(self):
        """Matches survivors (and any mutant) with triage/labN.md."""
        line = re.compile(r"^\s*[-*]\s+`?([\w.\-]+):(\d+):(\w+):([0-9a-f]{8})`?\s*[:\u2014-]?\s*"
                          r"(equivalent|check)\s*:\s*(.*?)\s*$")
        entries, stale = {}, []
        path = os.path.join(HERE, "triage", "lab%d.md" % self.n)
        for l in open(path, encoding="utf-8") if os.path.exists(path) else []:
            e = line.match(l)
            m = e and self.find(":".join(e.group(1, 2, 3, 4)))
            if m:
                entries[m.id] = (e.group(1, 2, 3, 4), e.group(5), e.group(6))
            elif e:
                stale.append(":".join(e.group(1, 2, 3, 4)))
        for m in self.sample:
            if m.id not in entries:
                continue
            _, kind, why = m.triage = entries.pop(m.id)
            if kind == "equivalent" and m.status in KILLED:
                self.problems.append("%s is triaged equivalent but was killed (%s)"
                                     % (m.id, ", ".join(m.failed[:3]) or m.status))
            elif kind == "check" and m.status in KILLED and why not in m.failed:
                m.note = "killed, but not by %s" % why
            elif kind == "check" and m.status == "survived":
                later = re.match(r"lab (\d+) (\S+)$", why)
                lab, check = (int(later.group(1)), later.group(2)) if later else (None, why)
                if lab is not None and lab <= self.n:
                    self.problems.append("%s: `lab %d` is not a later lab" % (m.id, lab))
                    continue
                st, failed, _ = self.grade("t-" + m.hash, m, only=check, lab=lab)
                if check in failed:
                    m.note = "re-graded: %s catches it" % why
                else:
                    self.problems.append("triage is wrong: %s does not catch %s (%s)" % (why, m.id, st))
        # Entries for no mutant (or several), or for one not in this sample.
        self.stale = sorted(stale + [":".join(v[0]) for v in entries.values()])


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def rescore(run):
    """Takes over the last results/labN.md: its seed, sample, counts and
    every graded mutant's result, {id: (status, failed, secs)} in run.old."""
    path = os.path.join(HERE, "results", "lab%d.md" % run.n)
    text = open(path, encoding="utf-8").read()
    m = re.search(r"SAMPLE=(\d+) SEED=(\d+) JOBS=(\d+)` on ([^;]+); wall time (\d+) s", text)
    run.args.sample, run.args.seed, run.args.jobs = int(m.group(1)), int(m.group(2)), int(m.group(3))
    run.date, run.wall = m.group(4), float(m.group(5))
    m = re.search(r"(\d+) stillborn .* and (\d+) compiled to the reference's", text)
    run.stillborn, run.same = [None] * int(m.group(1)), [None] * int(m.group(2))
    run.old = old = {}
    for r in re.finditer(r"^\| `([^`]+)` \| .* \| (\w+) \| (.*) \| (\d+) \|$", text, re.M):
        more = re.search(r" \(\+(\d+)\)$", r.group(3))  # the checks not shown: unnamed
        failed = [c for c in r.group(3)[:more.start() if more else None].split(", ") if c]
        failed += ["?"] * (int(more.group(1)) if more else 0)
        old[r.group(1)] = (r.group(2), failed, float(r.group(4)))


def is_equivalent(m):
    return m.status == "survived" and m.triage and m.triage[1] == "equivalent"


def score(ms, after_triage=False):
    """(killed, survived, "NN%"): timeouts count as killed, errors not at all."""
    if after_triage:
        ms = [m for m in ms if not is_equivalent(m)]
    k = sum(m.status in KILLED or (after_triage and m.note.startswith("re-graded")) for m in ms)
    s = sum(m.status in KILLED + ("survived",) for m in ms) - k
    return k, s, ("%.0f%%" % (100.0 * k / (k + s)) if k + s else "-")


def write_results(run, wall):
    a, n = run.args, run.n
    ops = {}
    for m in run.every:
        ops[m.op] = ops.get(m.op, 0) + 1
    ref = ", `--ref %s`" % ",".join(str(k) for k in range(1, n)) if n > 1 else ""
    L = ["# Automatic mutants: lab %d (%s)" % (n, run.lab_dir), "",
         "`make mutate LAB=%d SAMPLE=%d SEED=%d JOBS=%d` on %s; wall time %.0f s." % (
             n, a.sample, a.seed, a.jobs, run.date or run.started, wall) +
         (" Triage re-applied on %s (`--rescore`)%s." % (now(), run.regraded) if run.date else ""), "",
         "%d mutants (%s), drawn in the seed's order until %d compiled to new code: %d "
         "stillborn (did not compile) and %d compiled to the reference's very object code "
         "(equivalent) were skipped. Each was graded with every check, `--hidden`, "
         "`--budget %d`%s. Target: at least %.0f%% of non-equivalent mutants killed." % (
             len(run.every), ", ".join("%s %d" % kv for kv in sorted(ops.items())), a.sample,
             len(run.stillborn), len(run.same), BUDGET, ref, 100 * TARGET), "",
         "## Score", "",
         "| file | graded | killed | timeout | survived | error | score | after triage |",
         "|---|---|---|---|---|---|---|---|"]
    for f in run.files + [None]:
        ms = [m for m in run.sample if f is None or m.file == f]
        k, s, pc = score(ms)
        c = lambda st: sum(m.status == st for m in ms)
        L.append("| %s | %d | %d | %d | %d | %d | %s | %s |" % (
            "`%s`" % f if f else "**lab %d**" % n, len(ms), c("killed"), c("timeout"), s,
            c("error"), pc, score(ms, True)[2]))
    L += ["", "score = killed / (killed + survived); timeouts count as killed; errors (the grader "
          "exited 2, no check failed) are left out. After triage: minus the mutants triaged equivalent."]
    if run.problems or run.stale:
        L += ["", "## Triage problems", ""] + ["- " + p for p in run.problems]
        L += ["- `%s` (triage) is not in this run's sample" % t for t in run.stale]
    surv = [m for m in run.sample if m.status == "survived"]
    L += ["", "## Survivors (%d)" % len(surv), ""] + ([] if surv else ["None."])
    for m in surv:
        tri = "%s: %s" % m.triage[1:] if m.triage else "untriaged"
        L += ["### `%s`" % m.id, "", "%s at %s:%d (%s): **%s**%s" % (
            m.op, m.file, m.line, m.what, tri, " (%s)" % m.note if m.note else ""), "",
              "```diff", m.diff.rstrip("\n"), "```", ""]
    timeouts = [m for m in run.sample if m.status in ("timeout", "error")]
    if timeouts:
        L += ["## Timeouts and errors", ""] + ["- `%s` %s: %s" % (m.id, m.status, m.what) for m in timeouts] + [""]
    L += ["## Every graded mutant", "", "| id | mutation | result | failed checks | s |",
          "|---|---|---|---|---|"]
    for m in sorted(run.sample, key=lambda m: (run.files.index(m.file), m.line, m.op, m.hash)):
        more = " (+%d)" % (len(m.failed) - 3) if len(m.failed) > 3 else ""
        L.append("| `%s` | %s | %s | %s | %.0f |" % (
            m.id, m.what.replace("|", "\\|"), m.status, ", ".join(m.failed[:3]) + more, m.secs))
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "lab%d.md" % n), "w", encoding="utf-8") as f:
        f.write("\n".join(L) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lab", type=int, required=True)
    ap.add_argument("--sample", type=int, default=DEFAULT_SAMPLE, help="mutants to grade (%(default)s)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help="(default %(default)s)")
    ap.add_argument("--jobs", type=int, default=2, help="gradings at once (default 2: NOTES.md, 2 per 2 cores)")
    ap.add_argument("--list", action="store_true", help="list the sample's mutants, grade nothing")
    ap.add_argument("--ids", help="grade only these ids (comma-separated), write no results; "
                    "with --rescore: grade them again in the results")
    ap.add_argument("--rescore", action="store_true", help="re-apply the triage to results/labN.md: "
                    "grades only survivors triaged `check:`")
    args = ap.parse_args()
    t0 = time.time()
    run = Run(args)
    try:
        if args.rescore:
            rescore(run)
        run.draw()
        if args.list:
            for m in run.sample:
                print(m.id, m.what)
            return 0
        print("lab %d: %d mutants; %s %d (skipped: %d stillborn, %d with the reference's "
              "object code), %d at a time" % (run.n, len(run.every),
              "rescoring" if args.rescore else "grading", len(run.sample),
                                             len(run.stillborn), len(run.same), args.jobs), flush=True)
        if not args.rescore:  # --rescore grades only survivors triaged "check:"
            # The reference first: a check that it fails would "kill" every mutant.
            st, failed, secs = run.grade("reference")
            if st != "survived":
                sys.stderr.write("mutate: the reference fails %s (%s): is the machine "
                                 "overloaded?\n" % (" ".join(failed) or "its grading", st))
                return 2
            print("reference: every check passed (%.0f s)" % secs, flush=True)
            run.grade_sample()
        if args.rescore and args.ids:  # grade these again, in the results
            again = [m for m in map(run.find, args.ids.split(",")) if m in run.sample]
            run.grade_sample(again)
            run.regraded = "; graded again then: " + ", ".join("`%s`" % m.id for m in again)
        run.triage()
        wall = run.wall if args.rescore else time.time() - t0
        if args.rescore or not args.ids:
            write_results(run, wall)
        print("\nlab %d, killed / (killed + survived):        before triage   after" % run.n)
        for f in run.files + [None]:
            ms = [m for m in run.sample if f is None or m.file == f]
            k, s, pc = score(ms)
            print("  %-10s %3d killed %3d survived  %6s  %6s" % (f or "lab %d" % run.n, k, s, pc,
                                                                  score(ms, True)[2]))
        for m in run.sample:
            if m.status == "survived" and not m.triage:
                print("  untriaged: %s  %s" % (m.id, m.what))
            elif m.status in ("timeout", "error"):
                print("  %s: %s  %s" % (m.status, m.id, m.what))
        for p in run.problems:
            print("  TRIAGE: " + p)
        k, s, _ = score(run.sample, True)
        met = k >= TARGET * (k + s)
        print("target (>= %.0f%% of non-equivalent mutants killed): %s; wall time %.0f s; %s" % (
            100 * TARGET, "met" if met else "NOT met", wall,
            "no results file (--ids)" if args.ids else "results in autograder/mutate/results/lab%d.md" % run.n))
        return 0 if met and not run.problems else 1
    finally:
        run.pool.shutdown()
        shutil.rmtree(run.work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
