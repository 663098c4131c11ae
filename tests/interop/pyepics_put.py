"""Writes through pyepics: caput with and without wait, strings, enums by index and by
name, the char waveform as a string, and the temperature alarm sequence."""

import time

import epics
from epics import ca, dbr

from _pyepics_common import GR_OFFSET, PREFIX, STS_OFFSET, connect, emit, raw_get


def timevars(name):
    chid = connect(name)
    md = ca.get_with_metadata(chid, ftype=ca.promote_type(chid, use_time=True), timeout=20)
    return {"value": md["value"], "status": md["status"], "severity": md["severity"],
            "timestamp": md["timestamp"]}


T = PREFIX + "temperature"
out = {"now": time.time()}

# Plain numbers, without and with wait.
out["put_nowait_ret"] = epics.caput(T, 42.5)
# No wait needed: the read goes on the same circuit after the write, and the server
# handles a circuit's requests in order.
out["after_nowait"] = epics.caget(T, timeout=20, use_monitor=False)
out["put_wait_ret"] = epics.caput(T, 43.25, wait=True, timeout=20)
out["after_wait"] = epics.caget(T, timeout=20, use_monitor=False)

# Alarm sequence: each value is put with wait=True, then read back as DBR_TIME_DOUBLE.
alarms = []
for v in (90, 105, -15, -5, 25):
    ret = epics.caput(T, v, wait=True, timeout=20)
    entry = {"put": v, "ret": ret, **timevars(T)}
    # The same alarm through the other families that carry one.
    chid = connect(T)
    sts = raw_get(chid, dbr.DOUBLE + STS_OFFSET)
    gr = raw_get(chid, dbr.DOUBLE + GR_OFFSET)
    ctrl = ca.get_ctrlvars(chid)
    entry["others"] = {
        "sts": [sts["meta"]["status"], sts["meta"]["severity"], sts["value"][0]],
        "gr": [gr["meta"]["status"], gr["meta"]["severity"], gr["value"][0]],
        "ctrl": [ctrl["status"], ctrl["severity"]],
    }
    alarms.append(entry)
out["alarms"] = alarms

# Strings.
M = PREFIX + "message"
out["message_put_ret"] = epics.caput(M, "hello from pyepics", wait=True, timeout=20)
out["message_after"] = epics.caget(M, timeout=20, use_monitor=False)

# Enums by index and by name.
MODE = PREFIX + "mode"
out["mode_put_index_ret"] = epics.caput(MODE, 2, wait=True, timeout=20)
out["mode_after_index"] = epics.caget(MODE, timeout=20, use_monitor=False)
out["mode_after_index_str"] = epics.caget(MODE, as_string=True, timeout=20, use_monitor=False)
out["mode_put_name_ret"] = epics.caput(MODE, "On", wait=True, timeout=20)
out["mode_after_name"] = epics.caget(MODE, timeout=20, use_monitor=False)
out["mode_after_name_str"] = epics.caget(MODE, as_string=True, timeout=20, use_monitor=False)

# The char waveform, read and written as a string (longer than the initial one).
TEXT = PREFIX + "text"
out["text_before"] = epics.caget(TEXT, as_string=True, timeout=20, use_monitor=False)
long_text = "Written by pyepics: " + "x" * 150 + " end"
out["text_long"] = long_text
out["text_put_ret"] = epics.caput(TEXT, long_text, wait=True, timeout=20)
out["text_after"] = epics.caget(TEXT, as_string=True, timeout=20, use_monitor=False)
out["text_put_short_ret"] = epics.caput(TEXT, "short", wait=True, timeout=20)
out["text_after_short"] = epics.caget(TEXT, as_string=True, timeout=20, use_monitor=False)

emit(out)
