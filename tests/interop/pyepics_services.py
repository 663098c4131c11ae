"""pvserve's services seen through pyepics (real libca): the iocStats helper PVs' native
types, a put that the put log records with libca's CLIENT_NAME and HOST_NAME, and a
refused put."""

import os
import pwd
import socket
import time

import epics
from epics import ca

from _pyepics_common import PREFIX, connect, emit

out = {"user": pwd.getpwuid(os.geteuid()).pw_name, "host": socket.gethostname()}
types = {}
for name in ("HEARTBEAT", "UPTIME", "TOD", "PROCESS_ID", "IOC_CPU_LOAD", "MEM_USED",
             "CA_CLNT_CNT", "APP_DIR", "server", "sleep", "cycle"):
    chid = connect(PREFIX + name)
    types[name] = [ca.field_type(chid), ca.element_count(chid)] if chid else None
out["types"] = types
hb1 = epics.caget(PREFIX + "HEARTBEAT", timeout=5, use_monitor=False)
time.sleep(2.2)
out["heartbeat"] = [hb1, epics.caget(PREFIX + "HEARTBEAT", timeout=5, use_monitor=False)]
out["uptime"] = epics.caget(PREFIX + "UPTIME", timeout=5, use_monitor=False)
out["pid"] = epics.caget(PREFIX + "PROCESS_ID", timeout=5, use_monitor=False)
out["app_dir"] = epics.caget(PREFIX + "APP_DIR", as_string=True, timeout=5, use_monitor=False)
out["server"] = epics.caget(PREFIX + "server", as_string=True, timeout=5, use_monitor=False)
out["put_ok"] = epics.caput(PREFIX + "temperature", 31.5, wait=True, timeout=5)
out["put_refused"] = epics.caput(PREFIX + "temperature", 500, wait=True, timeout=5)
emit(out)
