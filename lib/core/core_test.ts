import assert from "node:assert/strict";
import {
  ByteReader,
  ByteWriter,
  charsToText,
  cutUtf8,
  epicsConfigFrom,
  epicsTimeFromMillis,
  epicsTimeToMillis,
  fromHex,
  parseAddrList,
  RemoteProtocolError,
  severityName,
  statusName,
  textToChars,
  toHex,
} from "./mod.ts";
import { broadcastAddresses, broadcastOf, ipv4ToU32, u32ToIpv4 } from "./net.ts";

Deno.test({
  name: "EPICS epoch: 1990-01-01 is second zero",
  permissions: "none",
  fn() {
    const ms = Date.UTC(1990, 0, 1, 0, 0, 1, 500);
    assert.deepEqual(epicsTimeFromMillis(ms), { secPastEpoch: 1, nsec: 500_000_000 });
    assert.equal(epicsTimeToMillis({ secPastEpoch: 1, nsec: 500_000_000 }), ms);
    // From a recorded caget: 0x4562e42e seconds is 2026-11-21 11:34:06 UTC.
    const t = new Date(epicsTimeToMillis({ secPastEpoch: 0x4562e42e, nsec: 0 }));
    assert.equal(t.toISOString(), "2026-11-21T11:34:06.000Z");
  },
});

Deno.test({
  name: "byte writer and reader round-trip big-endian numbers and fixed strings",
  permissions: "none",
  fn() {
    const w = new ByteWriter(16);
    w.u16(0x0102).i16(-2).u32(0xdeadbeef).f64(3.14159).fixedString("abc", 8).padTo(8);
    assert.equal(toHex(w.view().subarray(0, 8)), "0102fffedeadbeef");
    const r = new ByteReader(w.view());
    assert.equal(r.u16(), 0x0102);
    assert.equal(r.i16(), -2);
    assert.equal(r.u32(), 0xdeadbeef);
    assert.equal(r.f64(), 3.14159);
    assert.equal(r.fixedString(8), "abc");
    assert.throws(() => r.u8(), RemoteProtocolError);
    assert.deepEqual(fromHex("00ff 10"), new Uint8Array([0, 255, 16]));
  },
});

Deno.test({
  name: "fixed strings are cut to keep a terminating NUL",
  permissions: "none",
  fn() {
    const w = new ByteWriter();
    w.fixedString("x".repeat(50), 40);
    assert.equal(w.length, 40);
    assert.equal(w.view()[39], 0);
  },
});

Deno.test({
  name: "config: defaults, address lists and fallbacks",
  permissions: "none",
  fn() {
    const d = epicsConfigFrom({});
    assert.equal(d.ca.serverPort, 5064);
    assert.equal(d.ca.autoAddrList, true);
    assert.equal(d.cas.beaconPort, 5065);
    assert.equal(d.pva.broadcastPort, 5076);
    const c = epicsConfigFrom({
      EPICS_CA_AUTO_ADDR_LIST: "NO",
      EPICS_CA_ADDR_LIST: "127.0.0.1 10.1.2.255:6000",
      EPICS_CA_SERVER_PORT: "7064",
      EPICS_CAS_INTF_ADDR_LIST: "127.0.0.1",
      EPICS_CAS_BEACON_ADDR_LIST: "127.0.0.1",
      EPICS_CA_MAX_ARRAY_BYTES: "100",
    });
    assert.equal(c.ca.autoAddrList, false);
    assert.equal(c.cas.autoBeaconAddrList, false);
    assert.deepEqual(c.ca.addrList, [{ host: "127.0.0.1", port: 7064 }, {
      host: "10.1.2.255",
      port: 6000,
    }]);
    assert.equal(c.cas.serverPort, 7064);
    assert.deepEqual(c.cas.intfAddrList, ["127.0.0.1"]);
    assert.deepEqual(c.cas.beaconAddrList, [{ host: "127.0.0.1", port: 5065 }]);
    assert.equal(c.ca.maxArrayBytes, 16384);
    assert.deepEqual(parseAddrList("", 1), []);
  },
});

Deno.test({
  name: "alarm names",
  permissions: "none",
  fn() {
    assert.equal(severityName(2), "MAJOR");
    assert.equal(statusName(3), "HIHI");
    assert.equal(statusName(21), "WRITE_ACCESS");
    assert.equal(statusName(99), "99");
  },
});

Deno.test({
  name: "net: IPv4 text and numbers, broadcast addresses",
  permissions: "none",
  fn() {
    assert.equal(ipv4ToU32("10.1.2.3"), 0x0a010203);
    assert.equal(ipv4ToU32("300.1.2.3"), 0);
    assert.equal(ipv4ToU32("::1"), 0);
    assert.equal(u32ToIpv4(0xc0a80101), "192.168.1.1");
    assert.equal(broadcastOf("10.1.2.3", "255.255.0.0"), "10.1.255.255");
    assert.deepEqual(broadcastAddresses(), [], "no sys permission: no interfaces");
  },
});

Deno.test({
  name: "char arrays <-> text: up to the NUL, cut on a character boundary",
  permissions: "none",
  fn() {
    const enc = new TextEncoder();
    assert.equal(charsToText(enc.encode("hello chars\0\0junk")), "hello chars");
    assert.equal(charsToText(enc.encode("no nul")), "no nul");
    // Any array of numbers, by its low byte: a waveform of LONGs or of INT64s.
    assert.equal(charsToText([0x168, 0x69, 0, 0x21]), "hi");
    assert.equal(charsToText(new BigInt64Array([104n, 105n])), "hi");
    assert.equal(charsToText(new Uint16Array(enc.encode("\u00b5m"))), "\u00b5m");
    // caput -S: "long string value" becomes its 17 bytes plus a NUL (count 18).
    const c = textToChars("long string value");
    assert.equal(c.length, 18);
    assert.equal(c[17], 0);
    assert.equal(charsToText(c), "long string value");
    assert.deepEqual(Array.from(textToChars("abcdef", 4)), [97, 98, 99, 0]);
    assert.deepEqual(Array.from(textToChars("ab", 40)), [97, 98, 0]);
    // "aµ" is 61 c2 b5: three elements hold "a" and the NUL, never half of the mu.
    assert.deepEqual(Array.from(textToChars("a\u00b5", 3)), [97, 0]);
    assert.deepEqual(Array.from(textToChars("a\u00b5", 4)), [97, 0xc2, 0xb5, 0]);
    // A character of four bytes (an emoji) is dropped whole.
    assert.deepEqual(Array.from(textToChars("\u{1F600}", 4)), [0]);
    assert.deepEqual(Array.from(textToChars("x", 1)), [0]);
    assert.equal(textToChars("x", 0).length, 0);
    // A waveform's NORD: only the elements that hold the value count.
    assert.equal(charsToText([104, 105, 106], 2), "hi");
    assert.equal(charsToText(enc.encode("hij"), 2), "hi");
    // What fits a DBF_STRING (39 bytes): never a U+FFFD where a character was cut.
    assert.equal(cutUtf8("x".repeat(38) + "\u00b5", 39), "x".repeat(38));
    assert.equal(cutUtf8("x".repeat(37) + "\u00b5", 39), "x".repeat(37) + "\u00b5");
    assert.equal(cutUtf8("\u{1F600}\u{1F600}", 7), "\u{1F600}");
    assert.equal(cutUtf8("short", 39), "short");
  },
});
