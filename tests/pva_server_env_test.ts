/** The PV Access server's part of the EPICS environment (lib/core/env.ts pvas), as pvxs reads it. */
import assert from "node:assert/strict";
import { epicsConfigFrom } from "../lib/core/env.ts";

Deno.test({
  name: "pvas env: beacon entries without a port use EPICS_PVAS_BROADCAST_PORT",
  permissions: "none",
  fn() {
    const c = epicsConfigFrom({
      EPICS_PVA_BROADCAST_PORT: "5076",
      EPICS_PVAS_BROADCAST_PORT: "25076",
      EPICS_PVAS_BEACON_ADDR_LIST: "127.0.0.1 10.0.0.255:6000",
    });
    assert.equal(c.pvas.broadcastPort, 25076);
    assert.deepEqual(c.pvas.beaconAddrList, [
      { host: "127.0.0.1", port: 25076 },
      { host: "10.0.0.255", port: 6000 },
    ]);
    // The client side keeps EPICS_PVA_BROADCAST_PORT.
    assert.equal(c.pva.broadcastPort, 5076);
    // Without EPICS_PVAS_BROADCAST_PORT the server falls back to EPICS_PVA_BROADCAST_PORT.
    const d = epicsConfigFrom({
      EPICS_PVA_BROADCAST_PORT: "15076",
      EPICS_PVAS_BEACON_ADDR_LIST: "127.0.0.1",
    });
    assert.deepEqual(d.pvas.beaconAddrList, [{ host: "127.0.0.1", port: 15076 }]);
  },
});

Deno.test({
  name: "pvas env: without EPICS_PVAS_BEACON_ADDR_LIST beacons go to EPICS_PVA_ADDR_LIST",
  permissions: "none",
  fn() {
    const c = epicsConfigFrom({
      EPICS_PVA_ADDR_LIST: "127.0.0.1 127.0.0.2:7000",
      EPICS_PVAS_BROADCAST_PORT: "25076",
    });
    assert.deepEqual(c.pvas.beaconAddrList, [
      { host: "127.0.0.1", port: 25076 },
      { host: "127.0.0.2", port: 7000 },
    ]);
    // An empty server list counts as unset; a set one wins.
    const e = epicsConfigFrom({
      EPICS_PVA_ADDR_LIST: "127.0.0.1",
      EPICS_PVAS_BEACON_ADDR_LIST: " ",
    });
    assert.deepEqual(e.pvas.beaconAddrList, [{ host: "127.0.0.1", port: 5076 }]);
    const f = epicsConfigFrom({
      EPICS_PVA_ADDR_LIST: "127.0.0.1",
      EPICS_PVAS_BEACON_ADDR_LIST: "127.0.0.3",
    });
    assert.deepEqual(f.pvas.beaconAddrList, [{ host: "127.0.0.3", port: 5076 }]);
    assert.deepEqual(epicsConfigFrom({}).pvas.beaconAddrList, []);
  },
});

Deno.test({
  name: "pvas env: EPICS_PVA_CONN_TMO sets the server's inactivity timeout (default 30 s)",
  permissions: "none",
  fn() {
    assert.equal(epicsConfigFrom({}).pvas.connTimeout, 30);
    assert.equal(epicsConfigFrom({ EPICS_PVA_CONN_TMO: "5" }).pvas.connTimeout, 5);
    assert.equal(epicsConfigFrom({ EPICS_PVA_CONN_TMO: "junk" }).pvas.connTimeout, 30);
  },
});
