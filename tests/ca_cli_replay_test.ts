/**
 * Replays every recorded catools run in ../shared/vectors/ca against our commands.
 *
 * A replay server on 127.0.0.1 (a UDP socket for searches, a TCP listener for the
 * circuit) answers our command with the recorded server messages: each recorded reply
 * waits for the client request it answered (matched by command, channel, DBR type and
 * count, in order) and goes out with the client's own IDs patched in. Our command runs
 * in-process with TZ=UTC; its stdout must equal the recorded stdout byte for byte, and
 * its stderr and exit code must match where the recording has them. The test also checks
 * that our command sends the same kinds of requests as the real tool did.
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { LOOPBACK_ENV } from "./_helpers/pvserve.ts";
import { CaRepeater } from "../lib/ca/repeater.ts";
import type { CliIO } from "../cli/_io.ts";
import { main as caget } from "../cli/caget.ts";
import { main as caput } from "../cli/caput.ts";
import { main as cainfo } from "../cli/cainfo.ts";
import { main as camonitor } from "../cli/camonitor.ts";

type Main = (args: string[], io: CliIO) => Promise<number>;
const TOOLS: Record<string, Main | undefined> = { caget, caput, cainfo, camonitor };

const VECTORS = new URL("../../shared/vectors/ca/", import.meta.url);

interface Vector {
  name: string;
  command: string;
  stdout: string;
  stderr: string;
  exit: number;
  messages: Array<{ proto: string; dir: string; hex: string; stream?: number }>;
}

interface Msg {
  cmd: number;
  size: number;
  type: number;
  count: number;
  p1: number;
  p2: number;
  /** Header length (16, or 24 for the extended form). */
  hl: number;
  /** The whole message, header and payload. */
  bytes: Uint8Array;
  truncated: boolean;
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
  return out;
}

/** Splits bytes into CA messages; the rest (an incomplete message) is returned apart. */
function split(b: Uint8Array, allowTruncated: boolean): { msgs: Msg[]; rest: Uint8Array } {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const msgs: Msg[] = [];
  let at = 0;
  while (at + 16 <= b.length) {
    let size = dv.getUint16(at + 2);
    let count = dv.getUint16(at + 6);
    let hl = 16;
    if (size === 0xffff) {
      if (at + 24 > b.length) break;
      size = dv.getUint32(at + 16);
      count = dv.getUint32(at + 20);
      hl = 24;
    }
    const end = at + hl + size;
    if (end > b.length && !allowTruncated) break;
    msgs.push({
      cmd: dv.getUint16(at),
      size,
      type: dv.getUint16(at + 4),
      count,
      p1: dv.getUint32(at + 8),
      p2: dv.getUint32(at + 12),
      hl,
      bytes: b.slice(at, Math.min(end, b.length)),
      truncated: end > b.length,
    });
    at = end;
  }
  return { msgs, rest: b.slice(Math.min(at, b.length)) };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function tcpMessages(v: Vector, dir: string): Msg[] {
  const parts = v.messages.filter((m) => m.proto === "tcp" && m.dir === dir).map((m) =>
    hexBytes(m.hex)
  );
  return split(concat(parts), true).msgs;
}

function cString(b: Uint8Array): string {
  const end = b.indexOf(0);
  return new TextDecoder().decode(end < 0 ? b : b.subarray(0, end));
}

function withIds(m: Msg, p1: number, p2: number): Uint8Array {
  const b = m.bytes.slice();
  const dv = new DataView(b.buffer);
  dv.setUint32(8, p1 >>> 0);
  dv.setUint32(12, p2 >>> 0);
  return b;
}

/** Key under which a client request is matched with its recorded counterpart. */
function requestKey(m: Msg, name?: string): string | undefined {
  switch (m.cmd) {
    case 18:
      return `create:${name}`;
    case 15:
    case 19:
      return `${m.cmd}:${m.p1}:${m.type}:${m.count}`;
    case 1: {
      const mask = new DataView(m.bytes.buffer, m.bytes.byteOffset).getUint16(m.hl + 12);
      return `1:${m.p1}:${m.type}:${m.count}:${mask}`;
    }
    case 4:
      return `4:${m.p1}:${m.type}:${m.count}`;
    case 12:
      return `12:${m.p1}`;
    case 0:
      return "version";
  }
  return undefined;
}

/** What a recorded server message waits for: the key and occurrence of a client request. */
interface Step {
  msg: Msg;
  /** The recorded request it answers ("" for none). */
  dep: string;
}

class ReplayServer implements AsyncDisposable {
  readonly udp: Deno.DatagramConn;
  readonly tcp: Deno.Listener;
  readonly names = new Set<string>();
  readonly steps: Step[] = [];
  /** Recorded request key -> recorded requests in order (their ids). */
  readonly recReq = new Map<string, Msg[]>();
  readonly mismatches: string[] = [];
  #conns = new Set<Deno.Conn>();
  #tasks: Promise<void>[] = [];
  #closed = false;

  constructor(v: Vector) {
    this.udp = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
    this.tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    // Names the server answered searches for.
    const searched = new Map<number, string>();
    for (const m of v.messages) {
      if (m.proto !== "udp") continue;
      for (const x of split(hexBytes(m.hex), true).msgs) {
        if (x.cmd !== 6) continue;
        if (m.dir === "c2s") searched.set(x.p2, cString(x.bytes.subarray(16)));
        else if (searched.has(x.p2)) this.names.add(searched.get(x.p2)!);
      }
    }
    const c2s = tcpMessages(v, "c2s");
    const cidName = new Map<number, string>();
    const reqByIoid = new Map<string, string>(); // "cmd:id" -> dep key with occurrence
    const count = new Map<string, number>();
    const writes: string[] = [];
    for (const m of c2s) {
      let name: string | undefined;
      if (m.cmd === 18) {
        name = cString(m.bytes.subarray(16));
        cidName.set(m.p1, name);
      }
      const key = requestKey(m, name);
      if (!key) continue;
      const list = this.recReq.get(key) ?? [];
      list.push(m);
      this.recReq.set(key, list);
      const k = `${key}#${(count.get(key) ?? 0)}`;
      count.set(key, (count.get(key) ?? 0) + 1);
      if (m.cmd === 15 || m.cmd === 19 || m.cmd === 1) reqByIoid.set(`${m.cmd}:${m.p2}`, k);
      if (m.cmd === 4) writes.push(k);
      if (m.cmd === 12) reqByIoid.set(`12:${m.p1}`, k);
      if (m.cmd === 18) reqByIoid.set(`18:${m.p1}`, k);
    }
    let writeErrors = 0;
    for (let m of tcpMessages(v, "s2c")) {
      if (m.cmd === 23) continue;
      if (m.truncated) {
        // The recorder kept only the start of very large replies: pad with zeros.
        if (m.cmd !== 15) continue;
        const full = new Uint8Array(m.hl + m.size);
        full.set(m.bytes);
        m = { ...m, bytes: full, truncated: false };
      }
      let dep: string | undefined;
      switch (m.cmd) {
        case 0:
          dep = "version#0";
          break;
        case 22:
        case 18:
        case 26:
          dep = reqByIoid.get(`18:${m.p1}`);
          break;
        case 15:
        case 19:
        case 1:
          dep = reqByIoid.get(`${m.cmd}:${m.p2}`);
          break;
        case 12:
          dep = reqByIoid.get(`12:${m.p1}`);
          break;
        case 11:
          dep = writes[writeErrors++];
          break;
      }
      if (dep === undefined) continue; // e.g. the reply to a cancelled subscription
      this.steps.push({ msg: m, dep });
    }
  }

  get udpPort(): number {
    return (this.udp.addr as Deno.NetAddr).port;
  }

  get tcpPort(): number {
    return (this.tcp.addr as Deno.NetAddr).port;
  }

  start(): void {
    this.#tasks.push(this.#udpLoop(), this.#acceptLoop());
  }

  async #udpLoop(): Promise<void> {
    for (;;) {
      let data: Uint8Array, from: Deno.Addr;
      try {
        [data, from] = await this.udp.receive();
      } catch {
        return;
      }
      const replies: Uint8Array[] = [];
      for (const m of split(data, false).msgs) {
        if (m.cmd !== 6) continue;
        const name = cString(m.bytes.subarray(16));
        if (!this.names.has(name)) continue;
        const r = new Uint8Array(40);
        const dv = new DataView(r.buffer);
        dv.setUint16(4, 1);
        dv.setUint16(6, 13);
        dv.setUint16(16, 6);
        dv.setUint16(18, 8);
        dv.setUint16(20, this.tcpPort);
        dv.setUint32(24, 0xffffffff);
        dv.setUint32(28, m.p2);
        dv.setUint16(32, 13);
        replies.push(r);
      }
      for (const r of replies) await this.udp.send(r, from).catch(() => {});
    }
  }

  async #acceptLoop(): Promise<void> {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await this.tcp.accept();
      } catch {
        return;
      }
      this.#conns.add(conn);
      this.#tasks.push(this.#serve(conn).finally(() => this.#conns.delete(conn)));
    }
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    const arrived = new Set<string>();
    const seen = new Map<string, number>();
    const cidOf = new Map<number, number>(); // recorded cid -> client cid
    const idOf = new Map<string, number>(); // "cmd:recorded id" -> client id
    const writeHeaders: Uint8Array[] = [];
    let next = 0;
    let buf: Uint8Array = new Uint8Array(0);
    const pump = async () => {
      const out: Uint8Array[] = [];
      while (next < this.steps.length && arrived.has(this.steps[next].dep)) {
        const { msg } = this.steps[next++];
        out.push(this.#patch(msg, cidOf, idOf, writeHeaders));
      }
      for (const b of out) await conn.write(b);
    };
    const chunk = new Uint8Array(65536);
    for (;;) {
      let n: number | null;
      try {
        n = await conn.read(chunk);
      } catch {
        break;
      }
      if (n === null) break;
      buf = concat([buf, chunk.subarray(0, n)]);
      const { msgs, rest } = split(buf, false);
      buf = rest;
      for (const m of msgs) {
        if (m.cmd === 23) {
          await conn.write(m.bytes.slice(0, 16));
          continue;
        }
        const name = m.cmd === 18 ? cString(m.bytes.subarray(16)) : undefined;
        const key = requestKey(m, name);
        if (!key) continue;
        const i = seen.get(key) ?? 0;
        seen.set(key, i + 1);
        const rec = this.recReq.get(key)?.[i];
        if (!rec) {
          if (m.cmd !== 12 && m.cmd !== 0) this.mismatches.push(`unexpected request ${key}`);
          continue;
        }
        arrived.add(`${key}#${i}`);
        if (m.cmd === 18) cidOf.set(rec.p1, m.p1);
        if (m.cmd === 15 || m.cmd === 19 || m.cmd === 1) idOf.set(`${m.cmd}:${rec.p2}`, m.p2);
        if (m.cmd === 4) writeHeaders.push(m.bytes.slice(0, 16));
      }
      try {
        await pump();
      } catch {
        break;
      }
    }
    try {
      conn.close();
    } catch {
      // closed by close()
    }
  }

  #patch(
    m: Msg,
    cidOf: Map<number, number>,
    idOf: Map<string, number>,
    writeHeaders: Uint8Array[],
  ): Uint8Array {
    switch (m.cmd) {
      case 22:
      case 18:
      case 26:
        return withIds(m, cidOf.get(m.p1) ?? m.p1, m.p2);
      case 15:
      case 19:
      case 1:
        return withIds(m, m.p1, idOf.get(`${m.cmd}:${m.p2}`) ?? m.p2);
      case 12:
        return withIds(m, m.p1, cidOf.get(m.p2) ?? m.p2);
      case 11: {
        const b = withIds(m, cidOf.get(m.p1) ?? m.p1, m.p2);
        const h = writeHeaders.shift();
        if (h) b.set(h, m.hl);
        return b;
      }
    }
    return m.bytes;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.udp.close();
    this.tcp.close();
    for (const c of this.#conns) {
      try {
        c.close();
      } catch {
        // already closed
      }
    }
    await Promise.allSettled(this.#tasks);
  }
}

/** Splits a shell command line (single quotes only), drops `timeout N` and any pipe. */
function shellWords(cmd: string): string[] {
  const words: string[] = [];
  let pipe = -1;
  for (const m of cmd.matchAll(/'([^']*)'|(\S+)/g)) {
    if (m[2] === "|" && pipe < 0) pipe = words.length;
    words.push(m[1] ?? m[2]);
  }
  const w = pipe >= 0 ? words.slice(0, pipe) : words;
  return w[0] === "timeout" ? w.slice(2) : w;
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  mismatches: string[];
}

async function replay(v: Vector, tool: Main, args: string[]): Promise<RunResult> {
  await using srv = new ReplayServer(v);
  srv.start();
  // A repeater in this process: camonitor registers with it instead of starting one.
  await using rep = CaRepeater.start(0, { hostname: "127.0.0.1" });
  let stdout = "";
  let stderr = "";
  const ac = new AbortController();
  const io: CliIO = {
    stdout: (t) => stdout += t,
    stderr: (t) => stderr += t,
    env: {
      ...LOOPBACK_ENV,
      EPICS_CA_ADDR_LIST: `127.0.0.1:${srv.udpPort}`,
      EPICS_CA_REPEATER_PORT: String(rep.port),
      TZ: "UTC",
      USER: "root",
    },
    signal: ac.signal,
  };
  const monitor = v.exit === 124;
  const run = tool(args, io);
  if (monitor) {
    // camonitor runs until stopped: stop it once the recorded updates are printed.
    const want = v.stdout.split("\n").length - 1;
    const until = Date.now() + 20_000;
    while (Date.now() < until && stdout.split("\n").length - 1 < want) {
      await new Promise((r) => setTimeout(r, 10));
    }
    // A short grace for lines the recording does not have (they would show as a diff).
    await new Promise((r) => setTimeout(r, 50));
    ac.abort();
  }
  const code = await run;
  return { code, stdout, stderr, mismatches: srv.mismatches };
}

async function loadVectors(): Promise<Vector[] | undefined> {
  try {
    const out: Vector[] = [];
    for await (const e of Deno.readDir(VECTORS)) {
      if (!/^(caget|camonitor|caput|cainfo)_.*\.json$/.test(e.name)) continue;
      out.push(JSON.parse(await Deno.readTextFile(new URL(e.name, VECTORS))));
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** stderr of the real tools we do not reproduce byte for byte, and why. */
const STDERR_DIFFERS: Record<string, string> = {};

const vectors = await loadVectors();

for (const tool of ["caget", "caput", "cainfo", "camonitor"]) {
  const main = TOOLS[tool];
  const mine = (vectors ?? []).filter((v) => shellWords(v.command)[0] === tool);
  Deno.test({
    name: vectors
      ? `${tool} replays every recorded run byte for byte`
      : `${tool} replays every recorded run: ../shared/vectors/ca is absent, skipped`,
    ignore: !vectors || !main || mine.length === 0,
    async fn() {
      const failures: string[] = [];
      for (const v of mine) {
        const words = shellWords(v.command);
        const r = await replay(v, main!, words.slice(1));
        const head = /\| head -c (\d+)/.exec(v.command);
        let out = head ? r.stdout.slice(0, Number(head[1])) : r.stdout;
        if (tool === "cainfo") out = out.replace(/(Host: +localhost):\d+/g, "$1:5064");
        const problems: string[] = [];
        if (out !== v.stdout) {
          problems.push(
            `stdout\n    want ${JSON.stringify(v.stdout)}\n    got  ${JSON.stringify(out)}`,
          );
        }
        if (v.exit !== 124 && r.code !== v.exit) problems.push(`exit ${r.code}, want ${v.exit}`);
        const noTimes = (s: string) => s.replace(/^ {4}(Source File|Current Time): .*\n/gm, "");
        if (
          v.exit !== 124 && !(v.name in STDERR_DIFFERS) && noTimes(r.stderr) !== noTimes(v.stderr)
        ) {
          problems.push(`stderr ${JSON.stringify(r.stderr)}, want ${JSON.stringify(v.stderr)}`);
        }
        if (r.mismatches.length) problems.push(`requests: ${r.mismatches.join(", ")}`);
        if (problems.length) failures.push(`${v.name}: ${problems.join("; ")}`);
      }
      deepStrictEqual(failures, []);
      strictEqual(mine.length > 0, true);
    },
  });
}
