import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { ByteWriter } from "../../lib/core/bytes.ts";
import { CaCommand, Dbr, Eca } from "../../lib/ca/proto/constants.ts";
import {
  encodeEcho,
  encodeEventAddReply,
  encodeReadNotifyReply,
} from "../../lib/ca/proto/messages.ts";
import { CaHeaderScanner } from "./_ca_scan.ts";

/** A stream of 3 ECHOs, 2 READ_NOTIFY replies and 2 updates, one with an extended header. */
function stream(): Uint8Array {
  const w = new ByteWriter();
  const meta = { status: 0, severity: 0, stamp: { secPastEpoch: 1, nsec: 2 } };
  encodeEcho(w);
  encodeReadNotifyReply(w, {
    ioid: 9,
    eca: Eca.NORMAL,
    dataType: Dbr.TIME_DOUBLE,
    count: 1,
    data: { value: new Float64Array([1.5]), meta },
  });
  encodeEcho(w);
  encodeEventAddReply(w, {
    subid: 3,
    eca: Eca.NORMAL,
    dataType: Dbr.TIME_DOUBLE,
    count: 2,
    data: { value: new Float64Array([1, 2]), meta },
  });
  encodeReadNotifyReply(w, {
    ioid: 10,
    eca: Eca.NORMAL,
    dataType: Dbr.TIME_DOUBLE,
    count: 1,
    data: { value: new Float64Array([2.5]), meta },
  });
  // 9000 doubles: 72,016 bytes of payload, past 0xFFFF, so the 24-byte header.
  encodeEventAddReply(w, {
    subid: 3,
    eca: Eca.NORMAL,
    dataType: Dbr.TIME_DOUBLE,
    count: 9000,
    data: { value: new Float64Array(9000), meta },
  });
  encodeEcho(w);
  return w.toBytes();
}

function summary(s: CaHeaderScanner) {
  return {
    echo: s.counts[CaCommand.ECHO],
    reads: s.counts[CaCommand.READ_NOTIFY],
    updates: s.counts[CaCommand.EVENT_ADD],
    lastCount: s.lastUpdateCount,
    lastSize: s.lastUpdateSize,
    lastStatus: s.lastStatus,
  };
}

const WANT = {
  echo: 3,
  reads: 2,
  updates: 2,
  lastCount: 9000,
  lastSize: 72016,
  lastStatus: Eca.NORMAL,
};

Deno.test({
  name: "header scanner counts messages fed whole",
  permissions: "none",
  fn() {
    const s = new CaHeaderScanner();
    s.scan(stream());
    assertEquals(summary(s), WANT);
  },
});

Deno.test({
  name: "header scanner counts the same fed one byte at a time",
  permissions: "none",
  fn() {
    const bytes = stream();
    const s = new CaHeaderScanner();
    for (let i = 0; i < bytes.length; i++) s.scan(bytes.subarray(i, i + 1));
    assertEquals(summary(s), WANT);
  },
});

Deno.test({
  name: "header scanner counts the same over every two-chunk split near the headers",
  permissions: "none",
  fn() {
    const bytes = stream();
    for (let cut = 0; cut < 200; cut++) {
      const s = new CaHeaderScanner();
      s.scan(bytes.subarray(0, cut));
      s.scan(bytes.subarray(cut));
      assertEquals(summary(s), WANT, `cut at ${cut}`);
    }
  },
});
