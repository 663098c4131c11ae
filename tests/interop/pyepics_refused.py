"""Puts the server must refuse: temperature outside its control limits and the
read-only PVs, through epics.caput and through a raw put-callback that keeps libca's
completion status."""


import epics
from epics import ca, dbr

from _pyepics_common import PREFIX, connect, emit, put_with_status


def attempt(fn):
    try:
        return {"ret": fn()}
    except Exception as e:  # noqa: BLE001 - the kind of failure is the result
        return {"exception": type(e).__name__, "message": str(e)}


T = PREFIX + "temperature"
R = PREFIX + "readonly"
C = PREFIX + "count"
out = {}

t_chid = connect(T)
r_chid = connect(R)
out["temperature_write_access"] = ca.write_access(t_chid)
out["readonly_write_access"] = ca.write_access(r_chid)

out["temperature_before"] = epics.caget(T, timeout=20, use_monitor=False)
out["caput_500_nowait"] = attempt(lambda: epics.caput(T, 500))
# The read below follows the write on the same circuit: the server has handled it.
out["temperature_after_nowait"] = epics.caget(T, timeout=20, use_monitor=False)
out["caput_500_wait"] = attempt(lambda: epics.caput(T, 500, wait=True, timeout=20))
out["temperature_after_wait"] = epics.caget(T, timeout=20, use_monitor=False)
out["raw_put_500"] = put_with_status(t_chid, dbr.DOUBLE, [500.0])
out["raw_put_minus_30"] = put_with_status(t_chid, dbr.DOUBLE, [-30.0])
out["temperature_after_raw"] = epics.caget(T, timeout=20, use_monitor=False)
# A good put on the same channel still works afterwards.
out["raw_put_good"] = put_with_status(t_chid, dbr.DOUBLE, [30.0])
out["temperature_after_good"] = epics.caget(T, timeout=20, use_monitor=False)

out["readonly_before"] = epics.caget(R, timeout=20, use_monitor=False)
out["caput_readonly_nowait"] = attempt(lambda: epics.caput(R, 7))
out["caput_readonly_wait"] = attempt(lambda: epics.caput(R, 7, wait=True, timeout=20))
out["raw_put_readonly"] = put_with_status(r_chid, dbr.DOUBLE, [7.0])
out["readonly_after"] = epics.caget(R, timeout=20, use_monitor=False)
out["caput_count"] = attempt(lambda: epics.caput(C, -1, wait=True, timeout=20))

emit(out)
