"""traceio.py - reads an EV_TRACE file for autograder/trace/validate and
autograder/trace/timeline.

The file is Chrome trace-event JSON, {"traceEvents":[...]}, written by the
loop and the pool as events complete, from several threads, so it is not
sorted. A server that died (or was killed) never wrote the closing "]}",
and its last event may be cut in half: load() repairs that rather than
refuse the one trace that would show why the server died.
"""
import json

# Names that give a thread its lane; the rest are shown after them.
LOOP = "loop"


class TraceError(Exception):
    """A trace that cannot be read, with a sentence a student understands."""


def _closer(text):
    return "]}" if text.lstrip().startswith("{") else "]"


def _repair(text):
    """The trace's document, cutting back to its last complete event and
    closing the list: (document, what was dropped) or raises TraceError."""
    body = text.rstrip()
    for _ in range(64):  # each try cuts back one '}'
        cut = body.rstrip().rstrip(",").rstrip()
        try:
            return json.loads(cut + _closer(text)), len(text.rstrip()) - len(cut)
        except json.JSONDecodeError:
            pass
        end = body.rfind("}", 0, len(body) - 1 if body.endswith("}") else len(body))
        if end < 0:
            break
        body = body[:end + 1]
    raise TraceError("the file is not trace-event JSON, even after closing its list "
                     "(was it written by the given loop.c, with EV_TRACE set?)")


def load(path):
    """(events, notes): the trace's events as dicts, and sentences on what
    had to be repaired. Raises TraceError when there is nothing to read."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError as e:
        raise TraceError(f"cannot read {path}: {e.strerror}") from None
    if not text.strip():
        raise TraceError("the file is empty: this server wrote no trace")
    notes = []
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        doc, dropped = _repair(text)
        what = "closed its unfinished list"
        if dropped > 2:
            what += f" (dropping {dropped} bytes of a half-written last event)"
        notes.append(f"the trace did not end with ']}}': {what}; "
                     "the server was stopped before it finished writing")
    events = doc.get("traceEvents") if isinstance(doc, dict) else doc
    if not isinstance(events, list):
        raise TraceError('no "traceEvents" list in the file')
    return events, notes


def is_meta(ev):
    return isinstance(ev, dict) and ev.get("ph") == "M"


def all_thread_names(events):
    """{(pid, tid): [name, ...]}: every thread_name a thread was given, in
    file order (a thread should have one; validate says when not)."""
    names = {}
    for ev in events:
        if is_meta(ev) and ev.get("name") == "thread_name":
            name = (ev.get("args") or {}).get("name")
            if isinstance(name, str):
                names.setdefault((ev.get("pid"), ev.get("tid")), []).append(name)
    return names


def thread_names(events):
    """{(pid, tid): name}: each thread's first name (a later one comes from
    code that named the thread it ran on, not the thread it started)."""
    return {key: names[0] for key, names in all_thread_names(events).items()}


def process_name(events):
    for ev in events:
        if is_meta(ev) and ev.get("name") == "process_name":
            name = (ev.get("args") or {}).get("name")
            if isinstance(name, str):
                return name
    return "server"


def lane_order(name):
    """Sort key of a lane: the loop, the cooks and workers by number, the rest."""
    parts = name.rsplit(" ", 1)
    if name == LOOP:
        return (0, "", 0)
    if len(parts) == 2 and parts[1].isdigit() and parts[0] in ("cook", "worker"):
        return (1 if parts[0] == "cook" else 2, parts[0], int(parts[1]))
    return (3, name, 0)


def slices(events):
    """Every slice as (pid, tid, start_us, end_us, event): the X events, and
    B/E pairs matched per thread (a B without its E is left out: validate
    reports it)."""
    out = []
    open_b = {}
    timed = sorted((ev for ev in events if isinstance(ev, dict) and ev.get("ph") in ("X", "B", "E")
                    and isinstance(ev.get("ts"), (int, float))),
                   key=lambda ev: ev["ts"])
    for ev in timed:
        key = (ev.get("pid"), ev.get("tid"))
        if ev["ph"] == "X":
            dur = ev.get("dur") if isinstance(ev.get("dur"), (int, float)) else 0
            out.append((key[0], key[1], ev["ts"], ev["ts"] + max(dur, 0), ev))
        elif ev["ph"] == "B":
            open_b.setdefault(key, []).append(ev)
        elif open_b.get(key):
            b = open_b[key].pop()
            out.append((key[0], key[1], b["ts"], ev["ts"], b))
    return out


def jobs(events):
    """The pool's jobs (cat "job"), as slices sorted by their start."""
    return sorted((s for s in slices(events) if s[4].get("cat") == "job"), key=lambda s: s[2])
