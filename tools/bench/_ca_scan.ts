/**
 * Counting CA replies without decoding them: the benchmark clients only need to know how
 * many messages of each command arrived, so they walk the headers of the TCP stream and
 * skip the payloads. Pure: no I/O.
 *
 * ```text
 * header (16 bytes): u16 command | u16 payload size | u16 type | u16 count | u32 p1 | u32 p2
 * extended (24 bytes, when the size field is 0xFFFF): ... | u32 payload size | u32 count
 * ```
 * @module
 */

/** Commands are below this; anything larger is counted in the last slot. */
const SLOTS = 64;

/** Walks CA message headers across chunks and counts messages by command. */
export class CaHeaderScanner {
  /** Messages seen, indexed by command (63 collects unknown commands). */
  readonly counts: Float64Array = new Float64Array(SLOTS);
  /** Data count field of the last EVENT_ADD with a payload (a monitor update). */
  lastUpdateCount = -1;
  /** Payload size of the last EVENT_ADD with a payload. */
  lastUpdateSize = -1;
  /** param1 (the ECA status) of the last READ_NOTIFY or EVENT_ADD. */
  lastStatus = -1;
  readonly #head = new Uint8Array(24);
  #headLen = 0;
  /** Payload bytes still to skip. */
  #skip = 0;

  /**
   * Consumes the next bytes of the stream; `counts` and the `last*` fields then include
   * every message whose header the bytes completed.
   * @param chunk bytes received (not kept)
   */
  scan(chunk: Uint8Array): void {
    const n = chunk.length;
    let off = 0;
    if (this.#skip > 0) {
      const take = Math.min(this.#skip, n);
      this.#skip -= take;
      off = take;
    }
    while (off < n) {
      if (this.#headLen > 0 || n - off < 24) {
        off = this.#slow(chunk, off);
        continue;
      }
      let size = (chunk[off + 2] << 8) | chunk[off + 3];
      let hlen = 16;
      let count = (chunk[off + 6] << 8) | chunk[off + 7];
      if (size === 0xffff) {
        size = ((chunk[off + 16] << 24) | (chunk[off + 17] << 16) | (chunk[off + 18] << 8) |
          chunk[off + 19]) >>> 0;
        count = ((chunk[off + 20] << 24) | (chunk[off + 21] << 16) | (chunk[off + 22] << 8) |
          chunk[off + 23]) >>> 0;
        hlen = 24;
      }
      this.#seen(chunk, off, size, count);
      off += hlen;
      const take = Math.min(size, n - off);
      off += take;
      this.#skip = size - take;
    }
  }

  #seen(b: Uint8Array, at: number, size: number, count: number): void {
    const cmd = (b[at] << 8) | b[at + 1];
    this.counts[cmd < SLOTS ? cmd : SLOTS - 1]++;
    if (cmd === 1 || cmd === 15) {
      this.lastStatus = ((b[at + 8] << 24) | (b[at + 9] << 16) | (b[at + 10] << 8) |
        b[at + 11]) >>> 0;
      if (cmd === 1 && size > 0) {
        this.lastUpdateCount = count;
        this.lastUpdateSize = size;
      }
    }
  }

  /** Collects a header split across chunks; returns the new offset. */
  #slow(chunk: Uint8Array, off: number): number {
    const head = this.#head;
    let need = this.#headLen >= 4 && ((head[2] << 8) | head[3]) === 0xffff ? 24 : 16;
    while (this.#headLen < need && off < chunk.length) {
      head[this.#headLen++] = chunk[off++];
      if (this.#headLen === 4 && ((head[2] << 8) | head[3]) === 0xffff) need = 24;
    }
    if (this.#headLen < need) return off;
    let size = (head[2] << 8) | head[3];
    let count = (head[6] << 8) | head[7];
    if (need === 24) {
      size = ((head[16] << 24) | (head[17] << 16) | (head[18] << 8) | head[19]) >>> 0;
      count = ((head[20] << 24) | (head[21] << 16) | (head[22] << 8) | head[23]) >>> 0;
    }
    this.#seen(head, 0, size, count);
    this.#headLen = 0;
    const take = Math.min(size, chunk.length - off);
    this.#skip = size - take;
    return off + take;
  }
}
