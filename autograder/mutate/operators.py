"""autograder/mutate/operators.py - the mutants of one C file (mutate.py runs them).

Operators, applied to code only: comments, string and character literals and
preprocessor lines are never touched.
  cmp    < <= > >= == != replaced: relational ones by their boundary and their
         negation (< becomes <= and >=), == and != by each other
  logic  && and || by each other
  drop   a statement that has its lines to itself, sits in a function body and
         is not a declaration (expressions, return, break, continue, goto); it
         becomes `(void)0;`, so that an unbraced if keeps a body
  const  an integer constant +1 and -1
  swap   two adjacent call statements of the same block
  flag   a flag removed from an | expression (SOCK_NONBLOCK, EPOLLET, O_CLOEXEC,
         ... or any other CAPS_CONSTANT in an |; `x |= F` becomes `x |= 0`)
A mutant's id is file:line:operator:hash, the hash of the changed lines before
and after (whitespace folded), so it survives edits elsewhere in the file.
"""
import difflib
import hashlib
import re

# ------------------------------------------------------------- the source

def mask(text):
    """text with comments, string/char literals and preprocessor lines blanked
    (newlines kept): offsets and line numbers stay those of the source."""
    out, i, n, bol = [], 0, len(text), True
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
        elif text.startswith("//", i) or (bol and c == "#"):
            j = i
            while j < n and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1  # backslash-newline goes on
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            j += 1
        else:
            out.append(c)
            bol = c == "\n" or (bol and c in " \t")
            i += 1
            continue
        j = min(j, n)
        out.append("".join(ch if ch == "\n" else " " for ch in text[i:j]))
        i = j
    return "".join(out)


TOKEN = re.compile(r"""(?P<num>(?:0[xX][0-9a-fA-F]+|\d+)(?:\.\d*)?(?:[eE][+-]?\d+)?[uUlLfF]*)
  | (?P<id>[A-Za-z_]\w*)
  | (?P<op>->|\+\+|--|<<=|>>=|<<|>>|&&|\|\||[-+*/%&|^!=<>]=|\.\.\.|[^\s\w])""", re.X)


class Tok:
    def __init__(self, m):
        self.kind, self.text = m.lastgroup, m.group()
        self.start, self.end = m.start(), m.end()


def tokens(masked):
    return [Tok(m) for m in TOKEN.finditer(masked)]


def match(toks, i):
    """Index of the bracket closing the one at toks[i]."""
    depth = 0
    for j in range(i, len(toks)):
        depth += toks[j].text in "([{"
        depth -= toks[j].text in ")]}"
        if depth == 0:
            return j
    return len(toks) - 1


def statements(toks):
    """Statements inside function bodies, as (first, last, block, ctrl): token
    indexes of their first token and of their ';', the block they are in, and
    whether they are the unbraced body of an if/else/for/while/do."""
    out, stack, frames = [], [], 0
    i, n, ctrl, start, depth = 0, len(toks), False, None, 0
    while i < n:
        t = toks[i].text
        if start is None:  # between statements
            if t in ("if", "while", "for", "switch") and i + 1 < n and toks[i + 1].text == "(":
                i = match(toks, i + 1) + 1
                ctrl = not (t == "while" and i < n and toks[i].text == ";")
                i += not ctrl  # the end of a do ... while (...);
                continue
            if t in ("else", "do"):
                ctrl, i = True, i + 1
                continue
            if t in ("case", "default") or (toks[i].kind == "id" and i + 1 < n and toks[i + 1].text == ":"):
                while i < n and toks[i].text != ":":
                    i += 1
                ctrl, i = False, i + 1
                continue
            if t in "{};":
                if t == "{":
                    frames += 1
                    stack.append(frames)
                elif t == "}" and stack:
                    stack.pop()
                ctrl, i = False, i + 1
                continue
            start, sctrl, ctrl, depth = i, ctrl, False, 0
        if t in "([":
            depth += 1
        elif t in ")]":
            depth -= 1
        elif t == "{":
            if depth == 0 and not stack and i and toks[i - 1].text == ")":
                frames += 1  # a function's body
                stack.append(frames)
                start, i = None, i + 1
                continue
            depth += 1  # an initializer, or a struct's members
        elif t == "}":
            depth -= 1
        elif t == ";" and depth == 0:
            if stack:
                out.append((start, i, stack[-1], sctrl))
            start = None
        i += 1
    return out


TYPES = {"int", "char", "short", "long", "unsigned", "signed", "float", "double",
         "void", "bool", "_Bool", "struct", "union", "enum", "const", "static",
         "volatile", "register", "extern", "typedef", "auto"}
NOT_TYPES = {"return", "goto", "break", "continue", "sizeof", "case", "default"}


def is_declaration(toks):
    a = toks[0].text
    if a in TYPES or (toks[0].kind == "id" and a.endswith("_t")):
        return True
    if toks[0].kind != "id" or a in NOT_TYPES:
        return False
    k = 1
    while k < len(toks) and toks[k].text == "*":  # `conn *c = ...`
        k += 1
    return k < len(toks) and toks[k].kind == "id"


FLAGS = {"SOCK_NONBLOCK", "SOCK_CLOEXEC", "EPOLLET", "EPOLLIN", "EPOLLOUT",
         "O_CLOEXEC", "O_NONBLOCK", "MSG_NOSIGNAL", "SA_RESTART", "EFD_NONBLOCK",
         "EFD_CLOEXEC", "SFD_NONBLOCK", "SFD_CLOEXEC"}
FLAG_LIKE = re.compile(r"^[A-Z][A-Z0-9]*_[A-Z0-9_]+$|^EPOLL[A-Z]+$")
SOCK_TYPES = {"SOCK_STREAM", "SOCK_DGRAM", "SOCK_SEQPACKET", "SOCK_RAW"}  # not flags
REPLACE = {"<": ["<=", ">="], "<=": ["<", ">"], ">": [">=", "<="], ">=": [">", "<"],
           "==": ["!="], "!=": ["=="], "&&": ["||"], "||": ["&&"]}

# ------------------------------------------------------------- the mutants


class Mutant:
    def __init__(self, fname, text, start, end, new, op, what):
        self.file, self.op, self.what = fname, op, what
        self.text = text[:start] + new + text[end:]
        self.line = text.count("\n", 0, start) + 1
        # The lines that change, before and after: the id's hash.
        ls = text.rfind("\n", 0, start) + 1
        le = text.find("\n", max(end - 1, start))  # a drop ends after a newline
        le = len(text) if le < 0 else le
        old, mut = text[ls:le], self.text[ls:le + len(new) - (end - start)]
        norm = lambda s: " ".join(s.split())
        h = hashlib.sha1((norm(old) + "\0" + norm(mut)).encode()).hexdigest()[:8]
        self.hash = h
        self.id = "%s:%d:%s:%s" % (fname, self.line, op, h)
        self.diff = "".join(difflib.unified_diff(
            text.splitlines(True), self.text.splitlines(True),
            "a/" + fname, "b/" + fname, n=2))
        self.status, self.failed, self.secs, self.triage, self.note = "", [], 0, None, ""


def line_span(text, masked, a, b):
    """[start of a's line, end of b's line incl. newline), if the code a..b
    has its lines to itself (nothing but blanks and comments around it)."""
    ls = text.rfind("\n", 0, a) + 1
    le = text.find("\n", b)
    le = len(text) if le < 0 else le + 1
    if masked[ls:a].strip() or masked[b:le].strip():
        return None
    return ls, le


def mutants_of(fname, text):
    masked = mask(text)
    toks = tokens(masked)
    out = []
    add = lambda *a: out.append(Mutant(fname, text, *a))
    for k, t in enumerate(toks):
        if t.text in REPLACE:
            for new in REPLACE[t.text]:
                op = "logic" if t.text in ("&&", "||") else "cmp"
                add(t.start, t.end, new, op, "%s -> %s" % (t.text, new))
        elif t.kind == "num" and re.fullmatch(r"(0[xX][0-9a-fA-F]+|\d+)[uUlL]*", t.text):
            digits = re.match(r"0[xX][0-9a-fA-F]+|\d+", t.text).group()
            suffix = t.text[len(digits):]
            base = 16 if digits[:2].lower() == "0x" else 8 if len(digits) > 1 and digits[0] == "0" else 10
            v = int(digits, base)
            fmt = {16: "0x%x", 8: "0%o", 10: "%d"}[base]
            for d in (1, -1):
                if v + d < 0:
                    if "u" in suffix.lower():
                        continue
                    new = "(-1%s)" % suffix
                else:
                    new = (fmt % (v + d)) + suffix
                add(t.start, t.end, new, "const", "%s -> %s" % (t.text, new))
        elif t.kind == "id" and (t.text in FLAGS or FLAG_LIKE.match(t.text)) and t.text not in SOCK_TYPES:
            prev = toks[k - 1].text if k else ""
            nxt = toks[k + 1].text if k + 1 < len(toks) else ""
            if prev == "|" and k >= 2:  # A | FLAG -> A
                add(toks[k - 2].end, t.end, "", "flag", "| %s removed" % t.text)
            elif nxt == "|" and k + 2 < len(toks):  # FLAG | B -> B
                add(t.start, toks[k + 2].start, "", "flag", "%s | removed" % t.text)
            elif prev == "|=":  # x |= FLAG -> x |= 0
                add(t.start, t.end, "0", "flag", "|= %s removed" % t.text)
    stmts = statements(toks)
    for a, b, block, ctrl in stmts:
        span = line_span(text, masked, toks[a].start, toks[b].end)
        if span and not is_declaration(toks[a:b + 1]):
            indent = re.match(r"[ \t]*", text[span[0]:]).group()
            first = text[toks[a].start:span[1]].split("\n")[0].strip()
            add(span[0], span[1], indent + "(void)0;\n", "drop", "dropped: " + first)

    def is_call(a, b):
        s = toks[a:b + 1]
        return (not is_declaration(s) and s[0].text not in NOT_TYPES and
                any(x.kind == "id" and y.text == "(" for x, y in zip(s, s[1:])))
    for (a1, b1, k1, c1), (a2, b2, k2, c2) in zip(stmts, stmts[1:]):
        if k1 != k2 or c1 or c2 or b1 + 1 != a2 or not (is_call(a1, b1) and is_call(a2, b2)):
            continue
        s1 = line_span(text, masked, toks[a1].start, toks[b1].end)
        s2 = line_span(text, masked, toks[a2].start, toks[b2].end)
        if s1 and s2:
            seg1, mid, seg2 = text[s1[0]:s1[1]], text[s1[1]:s2[0]], text[s2[0]:s2[1]]
            add(s1[0], s2[1], seg2 + mid + seg1, "swap",
                "swapped with the next: " + seg1.strip().split("\n")[0])
    return out

