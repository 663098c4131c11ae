"""Shared bits of the pyepics interop scripts.

Each script talks to a pvserve started by tests/interop/pyepics_test.ts (which sets
EPICS_CA_SERVER_PORT and the loopback variables), collects what it saw into a dict and
prints it as one line "RESULT <json>" on stdout; the Deno test makes the assertions.
"""

import ctypes
import json
import math
import sys
import time

import epics
from epics import ca, dbr

PREFIX = sys.argv[1] if len(sys.argv) > 1 else "demo:"
DEMO_NAMES = ["temperature", "count", "message", "mode", "waveform", "text", "readonly"]


def jsonable(x):
    """Turns numpy, ctypes and bytes values into plain JSON values (NaN becomes "NaN")."""
    if x is None or isinstance(x, (bool, int, str)):
        return x
    if isinstance(x, float):
        if math.isnan(x):
            return "NaN"
        if math.isinf(x):
            return "Infinity" if x > 0 else "-Infinity"
        return x
    if isinstance(x, bytes):
        return x.decode("latin-1")
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if hasattr(x, "tolist"):  # numpy arrays and scalars
        return jsonable(x.tolist())
    if isinstance(x, ctypes.Array):
        return [jsonable(v) for v in x]
    if hasattr(x, "value"):  # ctypes scalars
        return jsonable(x.value)
    return repr(x)


def emit(result):
    """Prints the result line the Deno side parses."""
    sys.stdout.write("RESULT " + json.dumps(jsonable(result)) + "\n")
    sys.stdout.flush()


def connect(name, timeout=20.0):
    """Creates a channel and waits for it to connect; returns the chid or None."""
    chid = ca.create_channel(name, connect=False)
    if not ca.connect_channel(chid, timeout=timeout):
        return None
    return chid


# --- Raw reads for the DBR families pyepics does not unpack (STS and GR) --------------
# Layouts of db_access.h, declared here so libca's host-order structs can be read field
# by field. ctypes' natural alignment matches the C structs.

_SCALAR = {
    dbr.STRING: ctypes.c_char * 40,
    dbr.SHORT: ctypes.c_int16,
    dbr.FLOAT: ctypes.c_float,
    dbr.ENUM: ctypes.c_uint16,
    dbr.CHAR: ctypes.c_uint8,
    dbr.LONG: ctypes.c_int32,
    dbr.DOUBLE: ctypes.c_double,
}
_STS = [("status", ctypes.c_int16), ("severity", ctypes.c_int16)]
_LIMITS = [
    "upper_disp_limit",
    "lower_disp_limit",
    "upper_alarm_limit",
    "upper_warning_limit",
    "lower_warning_limit",
    "lower_alarm_limit",
]


def _struct(name, fields):
    return type(name, (ctypes.Structure,), {"_fields_": fields})


def _sts_fields(t):
    v = _SCALAR[t]
    if t == dbr.CHAR:
        return _STS + [("pad", ctypes.c_uint8), ("value", v)]
    if t == dbr.DOUBLE:
        return _STS + [("pad", ctypes.c_int32), ("value", v)]
    return _STS + [("value", v)]


def _gr_fields(t):
    v = _SCALAR[t]
    units = [("units", ctypes.c_char * 8)]
    lims = [(n, v) for n in _LIMITS]
    if t == dbr.STRING:
        return _sts_fields(t)
    if t == dbr.ENUM:
        return _STS + [("no_str", ctypes.c_int16), ("strs", (ctypes.c_char * 26) * 16),
                       ("value", v)]
    if t in (dbr.FLOAT, dbr.DOUBLE):
        return (_STS + [("precision", ctypes.c_int16), ("pad0", ctypes.c_int16)] + units
                + lims + [("value", v)])
    if t == dbr.CHAR:
        return _STS + units + lims + [("pad", ctypes.c_uint8), ("value", v)]
    return _STS + units + lims + [("value", v)]


STS_OFFSET = 7
GR_OFFSET = 21
_LAYOUTS = {}
for _t in _SCALAR:
    _LAYOUTS[_t + STS_OFFSET] = (_t, _struct("sts_%d" % _t, _sts_fields(_t)))
    _LAYOUTS[_t + GR_OFFSET] = (_t, _struct("gr_%d" % _t, _gr_fields(_t)))
# DBR_CTRL_STRING has the STS layout.
_LAYOUTS[dbr.CTRL_STRING] = (dbr.STRING, _struct("ctrl_string", _sts_fields(dbr.STRING)))

_raw_results = {}
_keepalive = []


def _on_raw_get(args):
    key = args.usr
    entry = {"status": args.status, "type": args.type, "count": args.count}
    if args.status == dbr.ECA_NORMAL:
        base_t, layout = _LAYOUTS[args.type]
        head = ctypes.cast(args.raw_dbr, ctypes.POINTER(layout)).contents
        meta = {}
        for fname, _ in layout._fields_:
            if fname in ("value",) or fname.startswith("pad"):
                continue
            val = getattr(head, fname)
            if fname == "strs":
                val = [val[i].value.decode("latin-1") for i in range(head.no_str)]
            elif fname == "units":
                val = val.decode("latin-1")
            meta[fname] = val
        off = getattr(layout, "value").offset
        vtype = _SCALAR[base_t]
        arr = ctypes.cast(args.raw_dbr + off, ctypes.POINTER(vtype * args.count)).contents
        if base_t == dbr.STRING:
            values = [arr[i].value.decode("latin-1") for i in range(args.count)]
        else:
            values = list(arr)
        entry["meta"] = meta
        entry["value"] = values
    _raw_results[key] = entry


_RAW_CB = dbr.make_callback(_on_raw_get, dbr.event_handler_args)


def raw_get(chid, ftype, count=0, timeout=20.0):
    """ca_array_get_callback with a DBR type pyepics does not decode; returns a dict with
    status, type, count, meta (struct fields) and value (a list)."""
    key = len(_keepalive)
    usr = ctypes.py_object(key)
    _keepalive.append(usr)
    ret = ca.libca.ca_array_get_callback(ftype, count, chid, _RAW_CB, usr)
    if ret != dbr.ECA_NORMAL:
        return {"error": ca.message(ret)}
    ca.flush_io()
    deadline = time.time() + timeout
    while key not in _raw_results and time.time() < deadline:
        ca.pend_event(0.01)
    return _raw_results.pop(key, None)


# --- Put with a completion callback that keeps libca's status ------------------------
# pyepics' own put(wait=True) ignores the status its completion callback receives, so a
# refused put looks the same as a good one; this one reports the status.

_put_results = {}


def _on_put_done(args):
    _put_results[args.usr] = args.status


_PUT_CB = dbr.make_callback(_on_put_done, dbr.event_handler_args)


def put_with_status(chid, ftype, values, timeout=20.0):
    """ca_array_put_callback; returns {"ret": request status, "status": callback status}."""
    key = len(_keepalive)
    usr = ctypes.py_object(key)
    _keepalive.append(usr)
    ctype = _SCALAR[ftype]
    data = (ctype * len(values))()
    for i, v in enumerate(values):
        data[i] = v.encode("latin-1") if ftype == dbr.STRING else v
    ret = ca.libca.ca_array_put_callback(ftype, len(values), chid, data, _PUT_CB, usr)
    out = {"ret": ret, "ret_message": ca.message(ret)}
    if ret != dbr.ECA_NORMAL:
        return out
    ca.flush_io()
    deadline = time.time() + timeout
    while key not in _put_results and time.time() < deadline:
        ca.pend_event(0.01)
    status = _put_results.pop(key, None)
    out["status"] = status
    out["status_message"] = None if status is None else ca.message(status)
    return out
