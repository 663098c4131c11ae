import assert from "node:assert/strict";
import { arrayBytes, memHash } from "./_mem_hash.ts";

Deno.test(
  { permissions: "none", name: "memHash is epicsMemHash, bytes signed as x86's char" },
  () => {
    // softIoc 7.0.8.1's HASH of a DOUBLE waveform holding 1.5 2 -7, and of a CHAR waveform
    // written "héllo" by caput -S (NORD 7: UTF-8 bytes 0xc3 0xa9 mix in as negative chars,
    // then the NUL).
    assert.equal(memHash(arrayBytes(new Float64Array([1.5, 2, -7, 0]), 3)), 1707702713);
    const chars = new Int8Array(8);
    chars.set(new TextEncoder().encode("héllo"));
    assert.equal(memHash(arrayBytes(chars, 7)), 1836433043);
    assert.equal(memHash(new Uint8Array(0)), 0);
  },
);
