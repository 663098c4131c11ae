"""A beamline scientist's script against softioc_pyepics.db (served by our softioc, or by
EPICS base's softIoc for comparison): caget/caput/camonitor through epics.PV with callbacks
and put(wait=True), over the real libca.

Usage: pyepics_softioc.py PREFIX [SECTION...]. Each section runs on its own (an exception
is recorded as its "error" and the next section runs); the result is one line
"RESULT {section: {...}}" that softioc_pyepics_test.ts checks. Waits poll for a condition
with a deadline, never a fixed sleep.
"""

import sys
import time
import traceback

import numpy

import epics
from epics import ca

from _pyepics_common import emit

PREFIX = sys.argv[1]
TIMEOUT = 20.0


def until(what, cond, timeout=TIMEOUT):
    """Polls cond (letting libca deliver callbacks) until it holds; raises naming what."""
    deadline = time.time() + timeout
    while not cond():
        if time.time() > deadline:
            raise TimeoutError("timed out waiting for " + what)
        ca.poll(evt=0.01)


def pv(name, **kw):
    """An epics.PV, connected."""
    p = epics.PV(PREFIX + name, **kw)
    if not p.wait_for_connection(timeout=TIMEOUT):
        raise TimeoutError("no connection to " + PREFIX + name)
    return p


def watched(name, **kw):
    """An epics.PV with a callback given at creation, recording every update as (value,
    severity, status), connected and with its first update seen; returns (pv, updates)."""
    seen = []
    p = pv(name, callback=lambda value=None, severity=None, status=None, **_:
           seen.append((value, severity, status)), **kw)
    until("the first update of " + name, lambda: len(seen) >= 1)
    return p, seen


def section_ai():
    t, updates = watched("temp", form="ctrl")
    out = {"value": t.get(), "as_string": t.get(as_string=True), "units": t.units,
           "precision": t.precision, "type": t.type, "nelm": t.nelm, "first_update": updates[0]}
    out["ctrlvars"] = {k: v for k, v in t.get_ctrlvars().items() if k != "value"}
    steps = []
    for v in (90, 105, -15, -5, 25):
        n = len(updates)
        ret = t.put(v, wait=True, timeout=TIMEOUT)
        until("the monitor after %s" % v, lambda: len(updates) > n)
        steps.append({"put": v, "ret": ret, "value": t.value, "severity": t.severity,
                      "status": t.status, "update": updates[-1]})
    out["steps"] = steps
    # The functional API: caget, and a DBR_TIME read with its alarm.
    out["caget"] = epics.caget(PREFIX + "temp", timeout=TIMEOUT)
    out["caget_as_string"] = epics.caget(PREFIX + "temp", as_string=True, timeout=TIMEOUT)
    out["caget_time"] = {k: v for k, v in ca.get_with_metadata(
        t.chid, ftype=ca.promote_type(t.chid, use_time=True), timeout=TIMEOUT).items()
        if k in ("value", "status", "severity")}
    return out


def section_mbbo():
    s, updates = watched("shutter", form="ctrl")
    out = {"enum_strs": list(s.enum_strs), "type": s.type, "before": s.get(),
           "before_str": s.get(as_string=True)}
    out["put_name_ret"] = s.put("Open", wait=True, timeout=TIMEOUT)
    until("Open", lambda: updates[-1][0] == 1)
    out["after_name"] = [s.get(use_monitor=False), s.char_value]
    out["put_index_ret"] = s.put(3, wait=True, timeout=TIMEOUT)
    until("Fault", lambda: updates[-1][0] == 3)
    out["after_index"] = [s.get(use_monitor=False), s.get(as_string=True, use_monitor=False),
                          s.severity, s.status]
    out["rval"] = epics.caget(PREFIX + "shutter.RVAL", timeout=TIMEOUT)
    s.put(0, wait=True, timeout=TIMEOUT)
    return out


def section_waveform():
    updates = []
    w = pv("spectrum", callback=lambda value=None, count=None, **kw: updates.append(
        (list(value) if numpy.ndim(value) else value, count)))
    until("the first update", lambda: len(updates) >= 1)
    out = {"nelm": w.nelm, "type": w.type, "before": w.get(use_monitor=False),
           "first_update": updates[0]}
    data = numpy.array([1.5, 2.5, 3.5, 4.5, 5.5])
    out["put_ret"] = w.put(data, wait=True, timeout=TIMEOUT)
    until("the 5-element monitor", lambda: updates[-1][1] == 5)
    got = w.get(use_monitor=False)
    out["got"] = got
    out["got_type"] = type(got).__name__
    out["got_dtype"] = str(got.dtype)
    out["nord"] = epics.caget(PREFIX + "spectrum.NORD", timeout=TIMEOUT)
    out["count_after"] = w.count
    out["monitor_last"] = updates[-1]
    out["caget_count3"] = epics.caget(PREFIX + "spectrum", count=3, timeout=TIMEOUT,
                                      use_monitor=False)
    out["as_string"] = epics.caget(PREFIX + "spectrum", as_string=True, timeout=TIMEOUT,
                                   use_monitor=False)
    return out


def section_calcout():
    m = pv("move.A")
    outs = []
    # camonitor adds its callback once connected: the first update (the current value, 0)
    # may come before or after that, the outputs written from now on always come.
    epics.camonitor(PREFIX + "move:out", callback=lambda value=None, **kw: outs.append(value))
    t0 = time.time()
    ret = m.put(21, wait=True, timeout=TIMEOUT)
    elapsed = time.time() - t0
    out = {"ret": ret, "elapsed": elapsed, "odly": epics.caget(PREFIX + "move.ODLY"),
           "out_after": epics.caget(PREFIX + "move:out"), "val": epics.caget(PREFIX + "move"),
           "dlya_after": epics.caget(PREFIX + "move.DLYA")}
    # With a completion callback instead: put returns at once, the callback comes after
    # the delay, when the output has been written.
    done = []
    t0 = time.time()
    m.put(5, callback=lambda **kw: done.append(time.time() - t0))
    out["callback_put_returned"] = time.time() - t0
    until("the put's completion", lambda: len(done) == 1)
    out["completion"] = done[0]
    out["out_at_completion"] = epics.caget(PREFIX + "move:out")
    # The monitor's update can come just before or just after the completion.
    until("move:out = 10", lambda: outs and outs[-1] == 10)
    out["outs"] = outs
    epics.camonitor_clear(PREFIX + "move:out")
    return out


def section_histogram():
    h = pv("hist")
    out = {"nelm": h.nelm, "before": h.get(use_monitor=False)}
    sig = pv("signal")
    for v in (0.5, 1.0, 3.0, 9.9, 5.0, 5.5, 2.1):
        sig.put(v, wait=True, timeout=TIMEOUT)
    out["after"] = h.get(use_monitor=False)
    out["wdth"] = epics.caget(PREFIX + "hist.WDTH", timeout=TIMEOUT)
    out["type"] = h.type
    return out


def section_asub():
    s, updates = watched("scaled.VALA")
    epics.caput(PREFIX + "spectrum", [1.0, 2.0, 3.0, 4.0], wait=True, timeout=TIMEOUT)
    n = len(updates)
    ret = epics.caput(PREFIX + "scale", 2.5, wait=True, timeout=TIMEOUT)
    until("the aSub's VALA update", lambda: len(updates) > n)
    return {
        "ret": ret,
        "vala": s.get(use_monitor=False),
        "vala_monitor": updates[-1][0],
        "valb": epics.caget(PREFIX + "scaled.VALB", use_monitor=False),
        "valc": epics.caget(PREFIX + "scaled.VALC", use_monitor=False),
        "val": epics.caget(PREFIX + "scaled", use_monitor=False),
        "snam": epics.caget(PREFIX + "scaled.SNAM", use_monitor=False),
        "nea": epics.caget(PREFIX + "scaled.NEA", use_monitor=False),
        "neva": epics.caget(PREFIX + "scaled.NEVA", use_monitor=False),
    }


def section_filters():
    epics.caput(PREFIX + "spectrum", [10.0, 11.0, 12.0, 13.0, 14.0, 15.0], wait=True,
                timeout=TIMEOUT)
    r = pv("spectrum.[1:3]")
    out = {"range": r.get(use_monitor=False), "range_nelm": r.nelm,
           "stride": epics.caget(PREFIX + "spectrum.[0:2:5]", use_monitor=False,
                                 timeout=TIMEOUT),
           "last2": epics.caget(PREFIX + "spectrum.[-2:]", use_monitor=False,
                                timeout=TIMEOUT)}
    c, full_seen = watched("count")
    dec, dec_seen = watched('count.{"dec":{"n":2}}')
    for v in range(1, 9):
        c.put(v, wait=True, timeout=TIMEOUT)
    until("all 8 plain updates", lambda: full_seen[-1][0] == 8)
    # The decimated channel passes every 2nd update: 8 is the last one it gets.
    until("the decimated update of 8", lambda: dec_seen[-1][0] == 8)
    out["plain"] = [u[0] for u in full_seen]
    out["dec"] = [u[0] for u in dec_seen]
    out["dec_nelm"] = dec.nelm
    return out


def section_long_string():
    updates = []
    note = pv("note.VAL$", callback=lambda char_value=None, **kw: updates.append(char_value))
    until("the first update", lambda: len(updates) >= 1)
    text = "Sample 42: " + "long note " * 12 + "(end)"
    out = {"nelm": note.nelm, "type": note.type, "text": text, "first_update": updates[0]}
    out["put_ret"] = note.put(text, wait=True, timeout=TIMEOUT)
    until("the monitor of the note", lambda: updates[-1] == text)
    out["get"] = note.get(as_string=True, use_monitor=False)
    out["get_chars_len"] = len(note.get(as_string=False, use_monitor=False))
    out["plain_val"] = epics.caget(PREFIX + "note", use_monitor=False, timeout=TIMEOUT)
    out["desc"] = epics.caget(PREFIX + "temp.DESC$", as_string=True, use_monitor=False,
                              timeout=TIMEOUT)
    out["link"] = epics.caget(PREFIX + "move.OUT$", as_string=True, use_monitor=False,
                              timeout=TIMEOUT)
    out["link_chars"] = epics.caget(PREFIX + "move.OUT$", use_monitor=False, timeout=TIMEOUT)
    return out


def section_access():
    events = []
    g = epics.PV(PREFIX + "gated",
                 access_callback=lambda read, write, pv=None: events.append((read, write)))
    if not g.wait_for_connection(timeout=TIMEOUT):
        raise TimeoutError("no connection to gated")
    until("the first access rights", lambda: len(events) >= 1)
    out = {"initial": [g.read_access, g.write_access], "put_ok": g.put(7, wait=True,
                                                                         timeout=TIMEOUT)}
    en = pv("enable")
    en.put(0, wait=True, timeout=TIMEOUT)
    until("write access withdrawn", lambda: events[-1] == (True, False))
    out["after_disable"] = [g.read_access, g.write_access]
    try:
        g.put(8, wait=True, timeout=5)
        out["refused_put"] = "accepted"
    except Exception as e:  # pyepics refuses a put without write access itself
        out["refused_put"] = type(e).__name__
    out["value_after_refused"] = g.get(use_monitor=False)
    en.put(1, wait=True, timeout=TIMEOUT)
    until("write access back", lambda: events[-1] == (True, True))
    out["events"] = events
    out["after_enable"] = [g.read_access, g.write_access]
    out["put_again"] = g.put(9, wait=True, timeout=TIMEOUT)
    out["value_after"] = g.get(use_monitor=False)
    return out


SECTIONS = {
    "ai": section_ai,
    "mbbo": section_mbbo,
    "waveform": section_waveform,
    "calcout": section_calcout,
    "histogram": section_histogram,
    "asub": section_asub,
    "filters": section_filters,
    "long_string": section_long_string,
    "access": section_access,
}

result = {}
for name in sys.argv[2:] or list(SECTIONS):
    t0 = time.time()
    try:
        result[name] = SECTIONS[name]()
    except Exception:
        result[name] = {"error": traceback.format_exc()}
    result[name]["seconds"] = time.time() - t0
emit(result)
