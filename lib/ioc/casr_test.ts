import assert from "node:assert/strict";
import { casrText } from "./casr.ts";

const REPORT = {
  clients: [{
    peer: "127.0.0.1:34468",
    user: "root",
    host: "vm",
    minorVersion: 13,
    priority: 0,
    channels: [
      { name: "b:ai", read: true, write: true, subscriptions: 1 },
      { name: "b:ro", read: true, write: false, subscriptions: 1 },
    ],
    unprocessedBytes: 0,
    undeliveredBytes: 16,
    sinceSend: 0.004,
    sinceReceive: 1.036,
  }],
  servers: [{
    tcp: "127.0.0.1:25070",
    udp: "127.0.0.1:25070",
    lastSearch: { from: "127.0.0.1:38942", minor: 13 },
  }],
  beacons: ["127.0.0.1:25071"],
};

Deno.test({
  name: "casr: levels 0 to 4 in RSRV's wording (recorded from base 7.0.8.1's softIoc)",
  permissions: "none",
  fn() {
    assert.equal(casrText(REPORT, 0), "Channel Access Server V4.13\n1 client connected.\n");
    const head = [
      "Channel Access Server V4.13",
      "1 client connected:",
      "    TCP client at 127.0.0.1:34468 'vm':",
      "\tUser 'root', V4.13, Priority = 0, 2 Channels",
    ];
    const tail = (search: boolean) => [
      "CAS-TCP server on 127.0.0.1:25070 with",
      "    CAS-UDP unicast name server on 127.0.0.1:25070",
      ...(search
        ? [
          "\tLast name requested by 127.0.0.1:38942:",
          "\tUser '', V4.13, Priority = 0, 0 Channels",
        ]
        : []),
      "Sending CAS-beacons to 1 address:",
      "    127.0.0.1:25071",
      "",
    ];
    assert.equal(casrText(REPORT, 1), [...head, ...tail(false)].join("\n"));
    assert.equal(
      casrText(REPORT, 2),
      [...head, "        Channel: 'b:ai'", "        Channel: 'b:ro'", ...tail(true)].join("\n"),
    );
    const types = () => ({ dbf: "DBF_DOUBLE", size: 8, dbr: "DBF_DOUBLE", elements: 1 });
    assert.equal(
      casrText(REPORT, 3, types),
      [
        ...head,
        "        Channel: 'b:ai'",
        "            field_type=DBF_DOUBLE (8 bytes), dbr_type=DBF_DOUBLE, 1 element, no filters",
        "            # on eventq=1, access=rw",
        "        Channel: 'b:ro'",
        "            field_type=DBF_DOUBLE (8 bytes), dbr_type=DBF_DOUBLE, 1 element, no filters",
        "            # on eventq=1, access=r-",
        ...tail(true),
      ].join("\n"),
    );
    // Level 4 (recorded from softIoc, its Task Id / Socket FD line and its free-list and
    // resource-table statistics left out: see casr.ts).
    assert.equal(
      casrText(REPORT, 4, types),
      [
        ...head,
        "\t0.00 secs since last send, 1.04 secs since last receive",
        "\tUnprocessed request bytes = 0, Undelivered response bytes = 16",
        "\tState = up",
        "        Channel: 'b:ai'",
        "            field_type=DBF_DOUBLE (8 bytes), dbr_type=DBF_DOUBLE, 1 element, no filters",
        "            # on eventq=1, access=rw",
        "        Channel: 'b:ro'",
        "            field_type=DBF_DOUBLE (8 bytes), dbr_type=DBF_DOUBLE, 1 element, no filters",
        "            # on eventq=1, access=r-",
        ...tail(true),
      ].join("\n"),
    );
    const none = { clients: [], servers: REPORT.servers, beacons: ["a:1", "b:2"] };
    assert.equal(
      casrText(none, 1),
      "Channel Access Server V4.13\nNo clients connected.\nCAS-TCP server on 127.0.0.1:25070 with\n" +
        "    CAS-UDP unicast name server on 127.0.0.1:25070\nSending CAS-beacons to 2 addresses:\n" +
        "    a:1\n    b:2\n",
    );
    // A socket on every interface takes broadcasts too: RSRV's plain "name server" line.
    const any = {
      ...none,
      servers: [{ ...REPORT.servers[0], tcp: "0.0.0.0:5064", udp: "0.0.0.0:5064" }],
    };
    assert.match(casrText(any, 1), /\n {4}CAS-UDP name server on 0\.0\.0\.0:5064\n/);
  },
});
