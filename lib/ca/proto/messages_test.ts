import assert from "node:assert/strict";
import { ByteWriter, fromHex, toHex } from "../../core/bytes.ts";
import { RemoteProtocolError } from "../../core/errors.ts";
import { decodeDatagram } from "./framer.ts";
import * as M from "./messages.ts";

const none = { permissions: "none" } as const;

function hexOf(f: (w: ByteWriter) => void): string {
  const w = new ByteWriter();
  f(w);
  return toHex(w.toBytes());
}
const msg = (hex: string) => decodeDatagram(fromHex(hex))[0];

// Golden bytes below are copied from /work/shared/vectors/ca (file named in each test).

Deno.test({
  name: "messages: VERSION, TCP and UDP (caget_T_ai_dbr20)",
  ...none,
  fn() {
    assert.equal(hexOf((w) => M.encodeVersion(w)), "000000000000000d0000000000000000");
    assert.equal(
      hexOf((w) => M.encodeVersion(w, { priority: 1 })),
      "000000000001000d0000000000000000",
    );
    assert.equal(
      hexOf((w) => M.encodeUdpVersion(w, { sequence: 1 })),
      "000000000001000d0000000100000000",
    );
    assert.deepEqual(M.decodeVersion(msg("000000000001000d0000000100000000")), {
      minorVersion: 13,
      priority: 1,
      sequence: 1,
    });
  },
});

Deno.test({
  name: "messages: SEARCH request and replies (caget_T_ai_dbr20)",
  ...none,
  fn() {
    const req = "000600080005000d0000000100000001543a616900000000";
    assert.equal(hexOf((w) => M.encodeSearchRequest(w, { cid: 1, name: "T:ai" })), req);
    assert.equal(M.decodeSearchName(msg(req)), "T:ai");
    assert.deepEqual(M.decodeSearchRequest(msg(req)), {
      cid: 1,
      name: "T:ai",
      replyFlag: 5,
      minorVersion: 13,
    });
    const rep = "0006000813c80000ffffffff00000001000d000000000000";
    assert.equal(hexOf((w) => M.encodeSearchReply(w, { port: 5064, cid: 1 })), rep);
    assert.deepEqual(M.decodeSearchReply(msg(rep)), {
      port: 5064,
      cid: 1,
      serverIp: 0xffffffff,
      minorVersion: 13,
    });
    // TCP form: no payload (spec-derived).
    assert.equal(
      hexOf((w) => M.encodeTcpSearchReply(w, { port: 5064, cid: 1 })),
      "0006000013c80000ffffffff00000001",
    );
    assert.equal(
      M.decodeSearchReply(msg("0006000013c80000ffffffff00000007")).minorVersion,
      undefined,
    );
    // NOT_FOUND: type DO_REPLY, count minor, p1 = p2 = cid (spec-derived).
    assert.equal(hexOf((w) => M.encodeNotFound(w, { cid: 7 })), "000e0000000a000d0000000700000007");
  },
});

Deno.test({
  name: "messages: circuit set-up (caget_T_ai_dbr20)",
  ...none,
  fn() {
    assert.equal(
      hexOf((w) => M.encodeClientName(w, "root")),
      "00140008000000000000000000000000726f6f7400000000",
    );
    assert.equal(
      hexOf((w) => M.encodeHostName(w, "vm")),
      "00150008000000000000000000000000766d000000000000",
    );
    const cc = "0012000800000000000000010000000d543a616900000000";
    assert.equal(hexOf((w) => M.encodeCreateChanRequest(w, { cid: 1, name: "T:ai" })), cc);
    assert.deepEqual(M.decodeCreateChanRequest(msg(cc)), {
      cid: 1,
      name: "T:ai",
      minorVersion: 13,
    });
    assert.equal(
      hexOf((w) => M.encodeAccessRights(w, { cid: 1, rights: 3 })),
      "00160000000000000000000100000003",
    );
    assert.deepEqual(M.decodeAccessRights(msg("00160000000000000000000100000003")), {
      cid: 1,
      rights: 3,
    });
    const rep = "00120000000600010000000100000026";
    assert.equal(
      hexOf((w) => M.encodeCreateChan(w, { cid: 1, sid: 0x26, dataType: 6, count: 1 })),
      rep,
    );
    assert.deepEqual(M.decodeCreateChan(msg(rep)), { cid: 1, sid: 0x26, dataType: 6, count: 1 });
    assert.equal(
      hexOf((w) => M.encodeClearChannel(w, { sid: 0x26, cid: 1 })),
      "000c0000000000000000002600000001",
    );
    // Spec-derived: CREATE_CH_FAIL, SERVER_DISCONN, ECHO, EVENTS_OFF/ON, READ_SYNC.
    assert.equal(
      hexOf((w) => M.encodeCreateChFail(w, { cid: 5 })),
      "001a0000000000000000000500000000",
    );
    assert.equal(
      hexOf((w) => M.encodeServerDisconn(w, { cid: 5 })),
      "001b0000000000000000000500000000",
    );
    assert.equal(hexOf((w) => M.encodeEcho(w)), "00170000000000000000000000000000");
    assert.equal(hexOf((w) => M.encodeEventsOff(w)), "00080000000000000000000000000000");
    assert.equal(hexOf((w) => M.encodeEventsOn(w)), "00090000000000000000000000000000");
    assert.equal(hexOf((w) => M.encodeReadSync(w)), "000a0000000000000000000000000000");
    // A big native count takes the extended header.
    assert.equal(
      hexOf((w) => M.encodeCreateChan(w, { cid: 1, sid: 2, dataType: 6, count: 100000 })),
      "0012ffff00060000000000010000000200000000000186a0",
    );
  },
});

Deno.test({
  name: "messages: READ_NOTIFY request and reply (caget_T_ai_dbr20)",
  ...none,
  fn() {
    assert.equal(
      hexOf((w) => M.encodeReadNotify(w, { sid: 0x26, ioid: 1, dataType: 20, count: 1 })),
      "000f0000001400010000002600000001",
    );
    assert.deepEqual(M.decodeReadRequest(msg("000f0000001400010000002600000001")), {
      sid: 0x26,
      ioid: 1,
      dataType: 20,
      count: 1,
    });
    assert.equal(
      hexOf((w) => M.encodeRead(w, { sid: 0x26, ioid: 1, dataType: 20, count: 1 })),
      "00030000001400010000002600000001",
    );
    // The recorded reply has 0x26 in the RISC pad; ours is zero.
    assert.equal(
      hexOf((w) =>
        M.encodeReadNotifyReply(w, {
          ioid: 1,
          eca: 1,
          dataType: 20,
          count: 1,
          data: {
            value: new Float64Array([3.14159]),
            meta: { status: 0, severity: 0, stamp: { secPastEpoch: 0x4562e42e, nsec: 0x3579d215 } },
          },
        })
      ),
      "000f0018001400010000000100000001000000004562e42e3579d21500000000400921f9f01b866e",
    );
    // Failed read: zeroed body, error status (caget_T_str_dbr06: ECA_GETFAIL).
    assert.equal(
      hexOf((w) => M.encodeReadNotifyReply(w, { ioid: 1, eca: 152, dataType: 6, count: 1 })),
      "000f0008000600010000009800000001" + "0000000000000000",
    );
  },
});

Deno.test({
  name: "messages: WRITE, WRITE_NOTIFY (caput_bad_value, caput_callback, pyepics_put_wait)",
  ...none,
  fn() {
    const meta = { status: 0, severity: 0 };
    assert.equal(
      hexOf((w) =>
        M.encodeWrite(w, {
          sid: 0x1ae,
          cid: 1,
          dataType: 0,
          count: 1,
          data: { value: ["abc"], meta },
        })
      ),
      "0004000800000001000001ae000000016162630000000000",
    );
    assert.equal(
      hexOf((w) =>
        M.encodeWriteNotify(w, {
          sid: 422,
          ioid: 2,
          dataType: 0,
          count: 1,
          data: { value: ["2.5"], meta },
        })
      ),
      "0013000800000001000001a600000002322e350000000000",
    );
    assert.equal(
      hexOf((w) =>
        M.encodeWriteNotify(w, {
          sid: 441,
          ioid: 2,
          dataType: 6,
          count: 1,
          data: { value: new Float64Array([4.25]), meta },
        })
      ),
      "0013000800060001000001b9000000024011000000000000",
    );
    assert.equal(
      hexOf((w) => M.encodeWriteNotifyReply(w, { ioid: 2, eca: 1, dataType: 6, count: 1 })),
      "00130000000600010000000100000002",
    );
    // caput_chars: a long string into a CHAR waveform.
    const text = new TextEncoder().encode("long string value\0");
    assert.equal(
      hexOf((w) =>
        M.encodeWrite(w, { sid: 425, cid: 1, dataType: 4, count: 18, data: { value: text, meta } })
      ),
      "0004001800040012000001a900000001" +
        "6c6f6e6720737472696e672076616c756500000000000000",
    );
  },
});

Deno.test({
  name: "messages: EVENT_ADD, updates and EVENT_CANCEL (pyepics_put_wait)",
  ...none,
  fn() {
    const add = "0001001000140000000001b90000000100000000000000000000000000050000";
    assert.equal(
      hexOf((w) => M.encodeEventAdd(w, { sid: 441, subid: 1, dataType: 20, count: 0, mask: 5 })),
      add,
    );
    assert.equal(M.decodeEventAddMask(msg(add)), 5);
    assert.deepEqual(M.decodeEventAdd(msg(add)), {
      sid: 441,
      subid: 1,
      dataType: 20,
      count: 0,
      mask: 5,
    });
    assert.equal(
      hexOf((w) => M.encodeEventCancel(w, { sid: 441, subid: 1, dataType: 20, count: 0 })),
      "0002000000140000000001b900000001",
    );
    assert.equal(
      hexOf((w) => M.encodeEventCancelReply(w, { sid: 441, subid: 1, dataType: 20, count: 0 })),
      "0001000000140000000001b900000001",
    );
    const upd = hexOf((w) =>
      M.encodeEventAddReply(w, {
        subid: 1,
        eca: 1,
        dataType: 20,
        count: 1,
        data: {
          value: new Float64Array([4.25]),
          meta: { status: 0, severity: 0, stamp: { secPastEpoch: 0x4562e60c, nsec: 0x27e9d87d } },
        },
      })
    );
    assert.equal(
      upd,
      "00010018001400010000000100000001000000004562e60c27e9d87d000000004011000000000000",
    );
  },
});

Deno.test({
  name: "messages: ERROR carries the request header and text (caput_bad_value)",
  ...none,
  fn() {
    const request = msg("0004000800000001000001ae000000016162630000000000");
    const hex = "000b00180000000000000001000000a00004000800000001000001ae00000001543a616f00000000";
    assert.equal(hexOf((w) => M.encodeError(w, { cid: 1, eca: 160, request, text: "T:ao" })), hex);
    const e = M.decodeError(msg(hex));
    assert.equal(e.cid, 1);
    assert.equal(e.eca, 160);
    assert.equal(e.text, "T:ao");
    assert.deepEqual([
      e.request.command,
      e.request.dataType,
      e.request.dataCount,
      e.request.param1,
      e.request.param2,
    ], [
      4,
      0,
      1,
      0x1ae,
      1,
    ]);
    assert.equal(e.request.payloadSize, 8);
    // An extended request header is copied as 24 bytes.
    const big = {
      command: 4,
      dataType: 6,
      dataCount: 100000,
      param1: 1,
      param2: 2,
      payload: new Uint8Array(800000),
    };
    const ext = M.decodeError(
      msg(hexOf((w) => M.encodeError(w, { cid: 1, eca: 72, request: big, text: "too big" }))),
    );
    assert.equal(ext.request.dataCount, 100000);
    assert.equal(ext.request.payloadSize, 800000);
    assert.equal(ext.text, "too big");
    assert.throws(
      () => M.decodeError(msg("000b0008000000000000000100000001" + "0000000000000000")),
      RemoteProtocolError,
    );
  },
});

Deno.test({
  name: "messages: beacons (ca_beacons_startup) and the repeater",
  ...none,
  fn() {
    const b = "000d0000000d13c80000000300000000";
    assert.equal(hexOf((w) => M.encodeBeacon(w, { port: 5064, beaconId: 3 })), b);
    assert.deepEqual(M.decodeBeacon(msg(b)), {
      minorVersion: 13,
      port: 5064,
      beaconId: 3,
      serverIp: 0,
    });
    // Spec-derived: REGISTER p2 = client address, CONFIRM p2 = the address it came from.
    const lo = M.ipv4FromString("127.0.0.1")!;
    assert.equal(lo, 0x7f000001);
    assert.equal(M.ipv4ToString(lo), "127.0.0.1");
    assert.equal(
      hexOf((w) => M.encodeRepeaterRegister(w, { clientIp: lo })),
      "001800000000000000000000" + "7f000001",
    );
    assert.equal(
      hexOf((w) => M.encodeRepeaterConfirm(w, { repeaterIp: lo })),
      "001100000000000000000000" + "7f000001",
    );
    assert.equal(M.decodeRepeaterAddress(msg("0011000000000000000000007f000001")), lo);
    assert.equal(M.ipv4FromString("1.2.3.256"), undefined);
  },
});

Deno.test({
  name: "messages: stringPayload is NUL-terminated and padded",
  ...none,
  fn() {
    assert.equal(toHex(M.stringPayload("T:ai")), "543a616900000000");
    assert.equal(M.stringPayload("12345678").length, 16);
    assert.equal(M.stringPayload("").length, 8);
  },
});
