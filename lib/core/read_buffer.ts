/**
 * The buffer a server reads one connection's bytes into. A busy connection (a client
 * streaming array puts) is read in fewer, larger reads: each read that fills the buffer
 * doubles it, up to `max`. A connection that has calmed down (a run of reads that each
 * used at most an eighth of it) goes back to `min`, so a server with many quiet
 * clients holds `min` bytes per connection, not `max`.
 *
 * Each read must be handled before {@link ReadBuffer.filled} is called: the next read
 * may then go to a new buffer, and the old one is left to the garbage collector (its
 * contents stay valid for whoever still holds a view of them).
 * @example
 * ```ts
 * import { ReadBuffer } from "./read_buffer.ts";
 * const rb = new ReadBuffer(4, 16);
 * rb.filled(4);                      // a read filled all 4 bytes
 * if (rb.bytes.length !== 8) throw new Error("should have doubled");
 * ```
 * @module
 */

/** Consecutive small reads after which a grown buffer shrinks back. */
export const SHRINK_AFTER = 64;

/** A read buffer that grows while reads fill it; see the module notes. */
export class ReadBuffer {
  #buf: Uint8Array;
  #smallReads = 0;

  /**
   * @param min the starting (and resting) size in bytes
   * @param max the largest size in bytes
   */
  constructor(readonly min = 64 * 1024, readonly max = 256 * 1024) {
    if (!(min > 0 && max >= min)) throw new RangeError(`bad read buffer sizes ${min}, ${max}`);
    this.#buf = new Uint8Array(min);
  }

  /** The buffer for the next read. */
  get bytes(): Uint8Array {
    return this.#buf;
  }

  /**
   * Records how many bytes the last read brought (after they were handled) and picks
   * the buffer for the next read.
   * @param n bytes of the last read
   */
  filled(n: number): void {
    const size = this.#buf.length;
    if (n >= size) {
      this.#smallReads = 0;
      if (size < this.max) this.#buf = new Uint8Array(Math.min(this.max, size * 2));
    } else if (size > this.min && n <= size / 8) {
      if (++this.#smallReads >= SHRINK_AFTER) {
        this.#smallReads = 0;
        this.#buf = new Uint8Array(this.min);
      }
    } else {
      this.#smallReads = 0;
    }
  }
}
