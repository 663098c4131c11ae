"""Connect-and-read timing of EPICS base's libca, through pyepics' `epics.ca` module,
for tools/bench/ca_client.ts.

Usage: python3 ca_client_libca.py --prefix BENCH:pv --rounds 3 1000 10000

Each count N is measured two ways, each round in a fresh CA context, reading the
names <prefix>0 .. <prefix>N-1 as DBR_TIME_DOUBLE:

"pyepics": the documented low-level functions:
  1. ca.create_channel() for every name, without waiting;
  2. ca.connect_channel() on each (the first waits, the rest are mostly connected);
  3. ca.get(wait=False) on each, which issues every read request at once;
  4. ca.get_complete() on each, which polls libca until its reply is in.
  Python work per channel (locks, caches, unpacking) is a large part of this time.

"libca": the same C calls with the Python layer kept out of the loop, through the
  ctypes handle pyepics opened (ca.libca): ca_create_channel() without a connection
  callback for every name, one ca_pend_io() for all connections, ca_array_get() into
  one preallocated array of structs for every channel, one ca_pend_io() for all
  replies. This is what a C client such as caget does, minus the process start.

The time from creating the first channel to having every value is measured; the
context is destroyed after, outside the timing. Prints one JSON object:
{"libca_version": "...", "pyepics": {"1000": ms, ...}, "libca": {"1000": ms, ...}}
with the best of the rounds. The CA environment (address list, repeater port) comes
from the caller.
"""

import argparse
import ctypes
import json
import sys
import time

from epics import ca, dbr


ECA_NORMAL = 1


def libca_round(names, timeout):
    lib = ca.libca
    encoded = [n.encode() for n in names]
    ca.create_context()
    try:
        chids = (dbr.chid_t * len(names))()
        values = (dbr.time_double * len(names))()
        chid_size = ctypes.sizeof(dbr.chid_t)
        size = ctypes.sizeof(dbr.time_double)
        t0 = time.perf_counter()
        for i, n in enumerate(encoded):
            lib.ca_create_channel(n, None, None, 0, ctypes.byref(chids, i * chid_size))
        if lib.ca_pend_io(timeout) != ECA_NORMAL:
            raise RuntimeError("not every channel connected")
        for i in range(len(names)):
            lib.ca_array_get(
                dbr.TIME_DOUBLE, 1, ctypes.c_void_p(chids[i]), ctypes.byref(values, i * size)
            )
        if lib.ca_pend_io(timeout) != ECA_NORMAL:
            raise RuntimeError("not every read completed")
        elapsed = (time.perf_counter() - t0) * 1000.0
        if values[len(names) - 1].value != len(names) - 1:
            raise RuntimeError("unexpected value %r" % values[len(names) - 1].value)
        for i in range(len(names)):
            lib.ca_clear_channel(ctypes.c_void_p(chids[i]))
        return elapsed
    finally:
        ca.context_destroy()


def pyepics_round(names, timeout):
    ca.create_context()
    try:
        t0 = time.perf_counter()
        chids = [ca.create_channel(n, connect=False, auto_cb=False) for n in names]
        for c in chids:
            if not ca.connect_channel(c, timeout=timeout):
                raise RuntimeError("%s did not connect" % ca.name(c))
        for c in chids:
            ca.get(c, ftype=dbr.TIME_DOUBLE, wait=False)
        for c in chids:
            if ca.get_complete(c, ftype=dbr.TIME_DOUBLE, timeout=timeout) is None:
                raise RuntimeError("%s was not read" % ca.name(c))
        elapsed = (time.perf_counter() - t0) * 1000.0
        for c in chids:
            ca.clear_channel(c)
        return elapsed
    finally:
        # Forget pyepics' per-name cache so the next round creates channels again.
        ca._cache.clear()
        ca._chid_cache.clear()
        ca.context_destroy()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--prefix", default="BENCH:pv")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--timeout", type=float, default=30.0)
    p.add_argument("counts", type=int, nargs="+")
    a = p.parse_args()
    ca.initialize_libca()
    out = {"libca_version": ca.version(), "pyepics": {}, "libca": {}}
    for n in a.counts:
        names = ["%s%d" % (a.prefix, i) for i in range(n)]
        out["libca"][str(n)] = min(libca_round(names, a.timeout) for _ in range(a.rounds))
        out["pyepics"][str(n)] = min(pyepics_round(names, a.timeout) for _ in range(a.rounds))
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
