"""Subscriptions and connections: a PV callback on the 10 Hz counter, epics.camonitor,
connection callbacks, and a name nobody serves."""

import threading
import time

import epics

from _pyepics_common import PREFIX, emit

out = {}

# Connection callback.
conn_events = []
conn_done = threading.Event()


def on_conn(pvname=None, conn=None, **kw):
    conn_events.append({"pvname": pvname, "conn": conn})
    if conn:
        conn_done.set()


pv_t = epics.PV(PREFIX + "temperature", connection_callback=on_conn)
out["conn_wait"] = conn_done.wait(20)
out["conn_events"] = conn_events[:]
# The user callback runs on libca's thread and may fire before the PV object has finished
# its own connection bookkeeping; wait for that before reading .connected.
pv_t.wait_for_connection(timeout=20)
out["conn_connected"] = pv_t.connected

# PV with a value callback on the counter.
updates = []


def on_value(pvname=None, value=None, timestamp=None, status=None, severity=None, **kw):
    updates.append({"value": value, "timestamp": timestamp})


# Collect a fixed number of updates (not a fixed time): a busy machine may deliver them
# late, so the deadline is only a generous backstop.
WANT = 6
DEADLINE = 30.0


def poll_until(cond):
    t0 = time.time()
    while not cond() and time.time() - t0 < DEADLINE:
        epics.poll(evt=0.01, iot=0.01)


pv_c = epics.PV(PREFIX + "count", callback=on_value, auto_monitor=True)
pv_c.wait_for_connection(timeout=20)
poll_until(lambda: len(updates) >= WANT)
pv_c.clear_callbacks()
out["pv_updates"] = updates[:]

# camonitor with a callback.
cam = []


def on_cam(pvname=None, value=None, **kw):
    cam.append(value)


epics.camonitor(PREFIX + "count", callback=on_cam)
poll_until(lambda: len(cam) >= WANT)
epics.camonitor_clear(PREFIX + "count")
out["camonitor_values"] = cam[:]

# A monitor on temperature sees a put made on another PV object.
# The DBR_TIME updates carry the alarm that goes with each value.
seen = []
sevr = []


def on_temperature(value=None, status=None, severity=None, **kw):
    seen.append(value)
    sevr.append([value, status, severity])


pv_m = epics.PV(PREFIX + "temperature", form="time", callback=on_temperature)
pv_m.wait_for_connection(timeout=20)
poll_until(lambda: len(seen) >= 1)
# Wait for each put's update by count: 25 is both the first value and the last put.
for i, v in enumerate((33.5, 90, 25)):
    epics.caput(PREFIX + "temperature", v, wait=True, timeout=20)
    poll_until(lambda: len(seen) >= i + 2)
out["temperature_monitor"] = seen[:]
out["temperature_monitor_alarms"] = sevr[:]

# A PV nobody serves.
missing_events = []
pv_x = epics.PV(PREFIX + "no_such_pv",
                connection_callback=lambda conn=None, **kw: missing_events.append(conn))
t0 = time.time()
out["missing_caget"] = epics.caget(PREFIX + "no_such_pv_either", timeout=1.0)
out["missing_caget_seconds"] = time.time() - t0
out["missing_wait"] = pv_x.wait_for_connection(timeout=1.0)
out["missing_connected"] = pv_x.connected
out["missing_events"] = missing_events[:]

emit(out)
