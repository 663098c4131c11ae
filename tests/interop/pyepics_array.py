"""The 1000-element sine waveform: full reads, count-limited reads, numpy and list forms."""

import numpy

import epics
from epics import ca, dbr

from _pyepics_common import PREFIX, connect, emit, raw_get

W = PREFIX + "waveform"
out = {}
chid = connect(W)
out["element_count"] = ca.element_count(chid)
full = epics.caget(W, timeout=20, use_monitor=False)
out["full_type"] = type(full).__name__
out["full"] = full
out["count10"] = epics.caget(W, count=10, timeout=20, use_monitor=False)
out["count10_list"] = epics.caget(W, count=10, as_numpy=False, timeout=20, use_monitor=False)
out["ca_get_count3"] = ca.get(chid, count=3, timeout=20)
out["ca_get_time_count5"] = ca.get_with_metadata(chid, ftype=dbr.TIME_DOUBLE, count=5,
                                                 timeout=20)
out["raw_gr_count7"] = raw_get(chid, dbr.DOUBLE + 21, count=7)
# Float conversion done by the server.
out["as_float"] = ca.get(chid, ftype=dbr.FLOAT, count=1000, timeout=20)
pv = epics.PV(W, auto_monitor=False)
pv.wait_for_connection(timeout=20)
out["pv_nelm"] = pv.nelm
out["numpy_version"] = numpy.__version__
emit(out)
