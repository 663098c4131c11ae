"""Reads every demo PV in every DBR family through pyepics and libca.

Per PV: channel facts (native type, element count, access rights), the value through
epics.caget and epics.PV forms, the plain/TIME/CTRL types through epics.ca.get with an
explicit ftype plus get_timevars/get_ctrlvars, the STS/GR types through raw libca reads,
and a DBR_STRING / DBR_DOUBLE conversion read.
"""

import time

import epics
from epics import ca, dbr

from _pyepics_common import (DEMO_NAMES, GR_OFFSET, PREFIX, STS_OFFSET, connect, emit,
                             raw_get)

out = {"now": time.time(), "pvs": {}}
for short in DEMO_NAMES:
    name = PREFIX + short
    chid = connect(name)
    if chid is None:
        out["pvs"][short] = {"connected": False}
        continue
    native = ca.field_type(chid)
    r = {
        "connected": True,
        "field_type": native,
        "element_count": ca.element_count(chid),
        "read_access": ca.read_access(chid),
        "write_access": ca.write_access(chid),
        "host": ca.host_name(chid),
    }
    # High-level API.
    r["caget"] = epics.caget(name, timeout=20)
    r["caget_as_string"] = epics.caget(name, as_string=True, timeout=20)
    forms = {}
    for form in ("native", "time", "ctrl"):
        pv = epics.PV(name, form=form, auto_monitor=False)
        pv.wait_for_connection(timeout=20)
        md = pv.get_with_metadata(form=form, use_monitor=False, timeout=20)
        # No pv.disconnect(): pyepics shares one channel per name, and clearing it here
        # would also clear the chid used below.
        forms[form] = {"ftype": pv.ftype, "md": md}
    r["forms"] = forms
    # Low-level API with explicit DBR types.
    time_t = ca.promote_type(chid, use_time=True)
    ctrl_t = ca.promote_type(chid, use_ctrl=True)
    r["plain"] = ca.get(chid, ftype=native, timeout=20)
    r["time_md"] = ca.get_with_metadata(chid, ftype=time_t, timeout=20)
    r["ctrl_md"] = ca.get_with_metadata(chid, ftype=ctrl_t, timeout=20)
    r["timevars"] = ca.get_timevars(chid)
    r["ctrlvars"] = ca.get_ctrlvars(chid)
    r["sts"] = raw_get(chid, native + STS_OFFSET)
    r["gr"] = raw_get(chid, native + GR_OFFSET)
    if native == dbr.STRING:
        r["ctrl_raw"] = raw_get(chid, dbr.CTRL_STRING)
    r["as_dbr_string"] = ca.get(chid, ftype=dbr.STRING, count=1, timeout=20)
    if native != dbr.STRING:
        r["as_dbr_double"] = ca.get(chid, ftype=dbr.DOUBLE, timeout=20)
    out["pvs"][short] = r

# The client's clock once every read is done: no timestamp read can be later.
out["now_end"] = time.time()
emit(out)
