/**
 * A small line editor for interactive prompts on a terminal: left/right, Home/End,
 * backspace/delete, up/down through the history, Ctrl-A/E/K/U, Ctrl-C and Ctrl-D.
 * @module
 */

const enc = new TextEncoder();
const dec = new TextDecoder();

/** What a read gives: the line, or why there is none. */
export type LineResult = { line: string } | { eof: true } | { interrupt: true };

/** Reads lines from a raw-mode terminal with history. */
export class LineEditor {
  #history: string[] = [];
  #pending: number[] = [];

  /** Creates the editor (history kept in memory, newest last). */
  constructor(readonly maxHistory = 500) {}

  #write(s: string): void {
    Deno.stdout.writeSync(enc.encode(s));
  }

  async #byte(signal: AbortSignal): Promise<number | undefined> {
    if (this.#pending.length) return this.#pending.shift();
    const buf = new Uint8Array(64);
    const n = await Promise.race([
      Deno.stdin.read(buf),
      new Promise<null>((r) => signal.addEventListener("abort", () => r(null), { once: true })),
    ]);
    if (n === null || n === 0) return undefined;
    this.#pending.push(...buf.subarray(0, n));
    return this.#pending.shift();
  }

  /**
   * Shows the prompt and reads one line.
   * @param prompt the prompt text
   * @param signal stops the read (returns eof)
   */
  async read(prompt: string, signal: AbortSignal): Promise<LineResult> {
    Deno.stdin.setRaw(true);
    let line: number[] = [];
    let cur = 0;
    let hist = this.#history.length;
    let saved: number[] = [];
    const redraw = () => {
      const text = dec.decode(Uint8Array.from(line));
      const back = dec.decode(Uint8Array.from(line.slice(cur))).length;
      this.#write(`\r\x1b[K${prompt}${text}` + (back ? `\x1b[${back}D` : ""));
    };
    this.#write(prompt);
    try {
      while (true) {
        const b = await this.#byte(signal);
        if (b === undefined) return { eof: true };
        if (b === 13 || b === 10) {
          this.#write("\r\n");
          const text = dec.decode(Uint8Array.from(line));
          if (text.trim() !== "" && this.#history.at(-1) !== text) {
            this.#history.push(text);
            if (this.#history.length > this.maxHistory) this.#history.shift();
          }
          return { line: text };
        }
        if (b === 3) {
          this.#write("^C\r\n");
          return { interrupt: true };
        }
        if (b === 4) {
          if (line.length === 0) {
            this.#write("\r\n");
            return { eof: true };
          }
          if (cur < line.length) line.splice(cur, 1);
        } else if (b === 127 || b === 8) {
          if (cur > 0) line.splice(--cur, 1);
        } else if (b === 1) cur = 0;
        else if (b === 5) cur = line.length;
        else if (b === 11) line = line.slice(0, cur);
        else if (b === 21) {
          line = line.slice(cur);
          cur = 0;
        } else if (b === 27) {
          const b1 = await this.#byte(signal);
          const b2 = await this.#byte(signal);
          if (b1 !== 91 && b1 !== 79) continue;
          if (b2 === 65 || b2 === 66) {
            // Up / down through the history.
            if (hist === this.#history.length) saved = line;
            hist = Math.max(0, Math.min(this.#history.length, hist + (b2 === 65 ? -1 : 1)));
            line = hist === this.#history.length ? saved : [...enc.encode(this.#history[hist])];
            cur = line.length;
          } else if (b2 === 67) cur = Math.min(line.length, cur + 1);
          else if (b2 === 68) cur = Math.max(0, cur - 1);
          else if (b2 === 72) cur = 0;
          else if (b2 === 70) cur = line.length;
          else if (b2 === 51) {
            await this.#byte(signal);
            if (cur < line.length) line.splice(cur, 1);
          }
        } else if (b >= 32) {
          line.splice(cur++, 0, b);
        }
        redraw();
      }
    } finally {
      Deno.stdin.setRaw(false);
    }
  }
}
