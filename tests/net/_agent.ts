/**
 * A test agent that runs inside one network namespace (`ip netns exec NS deno run ...`)
 * and does what the test process tells it over stdin: host PVs, run CA and PVA clients,
 * or misbehave as a bad peer. One JSON object per line each way:
 *
 *   -> {"id": 3, "op": "ca.get", "name": "S1:x"}
 *   <- {"id": 3, "ok": true, "result": {"value": 1}}
 *   <- {"ev": "mon", "sub": "m1", "kind": "value", "value": 7}     (unsolicited events)
 *
 * The agent exits when stdin closes, so a test process that dies takes its agents along.
 * It reads the EPICS environment it was started with: inside the namespaces the defaults
 * (`*_AUTO_ADDR_LIST=YES`, broadcast on the test subnet) are what is being tested.
 * @module
 */

import { ByteWriter } from "../../lib/core/bytes.ts";
import { readEpicsConfig } from "../../lib/core/env.ts";
import type { Logger } from "../../lib/core/log.ts";
import { CaContext } from "../../lib/ca/client/context.ts";
import type { CaChannel } from "../../lib/ca/client/channel.ts";
import { CaCommand, Dbe, Dbr } from "../../lib/ca/proto/constants.ts";
import { CaFramer } from "../../lib/ca/proto/framer.ts";
import {
  decodeCreateChan,
  encodeClientName,
  encodeCreateChanRequest,
  encodeEventAdd,
  encodeHostName,
  encodeSearchRequest,
  encodeVersion,
} from "../../lib/ca/proto/messages.ts";
import { PvaClient, type Subscription as PvaSub } from "../../lib/pva/client/client.ts";
import { encodeSearchRequest as encodePvaSearch } from "../../lib/pva/proto/messages.ts";
import { PvaCommand } from "../../lib/pva/proto/mod.ts";
import { TestPvaPeer } from "../../lib/pva/server/_test_peer.ts";
import { serve, type Served } from "../../lib/host/serve.ts";
import { SharedPV } from "../../lib/pv/shared_pv.ts";

type Args = Record<string, unknown>;

const enc = new TextEncoder();
let outChain = Promise.resolve();
function emit(obj: unknown): void {
  const line = enc.encode(JSON.stringify(obj) + "\n");
  outChain = outChain.then(async () => {
    let off = 0;
    while (off < line.length) off += await Deno.stdout.write(line.subarray(off));
  });
}

const logger: Logger = {
  error: (text) => emit({ ev: "log", level: "error", text }),
  warn: (text) => emit({ ev: "log", level: "warn", text }),
  info: () => {},
  debug: () => {},
};

function plain(v: unknown): unknown {
  if (ArrayBuffer.isView(v)) {
    const a = Array.from(v as unknown as ArrayLike<number>);
    return a.length === 1 ? a[0] : a;
  }
  if (Array.isArray(v)) return v.length === 1 ? v[0] : v;
  return v;
}

// ---- server --------------------------------------------------------------------------

let served: Served | undefined;
const pvs = new Map<string, SharedPV>();
const spinners = new Map<string, ReturnType<typeof setInterval>>();

async function opServe(a: Args): Promise<unknown> {
  const list: SharedPV[] = [];
  for (
    const p of (a.pvs as { name: string; type?: string; value?: unknown; length?: number }[]) ?? []
  ) {
    const pv = new SharedPV(p.name, {
      type: (p.type ?? "float64") as "float64",
      value: p.value ?? 0,
      length: p.length,
    });
    list.push(pv);
  }
  // Many PVs by pattern: `${prefix}${i}` for i < count.
  const many = a.many as { prefix: string; count: number } | undefined;
  if (many) {
    for (let i = 0; i < many.count; i++) {
      list.push(new SharedPV(`${many.prefix}${i}`, { type: "float64", value: i }));
    }
  }
  for (const pv of list) pvs.set(pv.name, pv);
  served = await serve({ pvs: list, config: readEpicsConfig(), logger });
  return { ca: served.ca?.tcpPort, pva: served.pva?.tcpPort };
}

function pvNamed(name: unknown): SharedPV {
  const pv = pvs.get(String(name));
  if (!pv) throw new Error(`no PV "${name}" here`);
  return pv;
}

/** Posts `from..to` (inclusive), one value per `everyMs` (0: one per event-loop turn). */
async function opRamp(a: Args): Promise<unknown> {
  const pv = pvNamed(a.name);
  const from = Number(a.from), to = Number(a.to), every = Number(a.everyMs ?? 0);
  for (let v = from; v <= to; v++) {
    pv.post(v);
    await new Promise((r) => setTimeout(r, every));
  }
  return { posted: to - from + 1 };
}

/** Posts a changing array to `name` every `everyMs` until `unspin`. */
function opSpin(a: Args): unknown {
  const pv = pvNamed(a.name);
  const n = Number(a.length ?? 1);
  let k = 0;
  const arr = new Float64Array(Math.max(1, n));
  const t = setInterval(() => {
    arr.fill(++k);
    pv.post(arr);
  }, Number(a.everyMs ?? 5));
  spinners.set(pv.name, t);
  return {};
}

function memory(): unknown {
  // The harness starts agents with --expose-gc: measure live memory, not garbage.
  (globalThis as { gc?: () => void }).gc?.();
  const m = Deno.memoryUsage();
  return {
    rss: m.rss,
    heapUsed: m.heapUsed,
    circuits: (served?.ca?.circuitCount ?? 0) + (served?.pva?.connectionCount ?? 0),
  };
}

// ---- CA client -------------------------------------------------------------------------

const caContexts = new Map<string, CaContext>();
const caChannels = new Map<string, CaChannel>();

function caCtx(a: Args): CaContext {
  const key = String(a.ctx ?? "0");
  let c = caContexts.get(key);
  if (!c) {
    const o = (a.options ?? {}) as { repeater?: boolean; echoTimeout?: number };
    c = new CaContext({
      config: readEpicsConfig().ca,
      logger,
      repeater: o.repeater ?? false,
      echoTimeout: o.echoTimeout,
      onCircuitLost: (address, reason) => emit({ ev: "circuitLost", address, reason }),
      onMultiplyDefined: (name, accepted, ignored) => emit({ ev: "dup", name, accepted, ignored }),
    });
    caContexts.set(key, c);
  }
  return c;
}

function caChannel(a: Args): CaChannel {
  const key = `${a.ctx ?? "0"}/${a.name}`;
  let ch = caChannels.get(key);
  if (!ch) {
    ch = caCtx(a).channel(String(a.name));
    caChannels.set(key, ch);
  }
  return ch;
}

async function caGet(a: Args): Promise<unknown> {
  const d = await caChannel(a).get({ timeoutSec: Number(a.timeout ?? 5) });
  return { value: plain(d.data.value) };
}

function caMonitor(a: Args): unknown {
  const ch = caChannel(a);
  const sub = String(a.sub);
  ch.onConnection((up) => emit({ ev: "mon", sub, kind: up ? "conn" : "disc" }));
  ch.subscribe({ dbrType: Dbr.DOUBLE, mask: Dbe.VALUE }, (u) => {
    if ("error" in u) emit({ ev: "mon", sub, kind: "error", text: u.error.message });
    else emit({ ev: "mon", sub, kind: "value", value: plain(u.data.value) });
  });
  return {};
}

/** A monitor that only checks: values must rise by exactly 1 from the first one seen. */
const checkers = new Map<string, { count: number; last: number; bad: string[] }>();
function caCheck(a: Args): unknown {
  const ch = caChannel(a);
  const st = { count: 0, last: NaN, bad: [] as string[] };
  checkers.set(String(a.sub), st);
  ch.subscribe({ dbrType: Dbr.DOUBLE, mask: Dbe.VALUE }, (u) => {
    if ("error" in u) return void st.bad.push(u.error.message);
    track(st, Number((u.data.value as Float64Array)[0]));
  });
  return {};
}

function track(st: { count: number; last: number; bad: string[] }, v: number): void {
  if (st.count > 0 && !(v > st.last) && st.bad.length < 10) {
    st.bad.push(`${v} after ${st.last}`);
  }
  st.count++;
  st.last = v;
}

/**
 * Opens `clients` contexts, each with channels `${prefix}${i}` for `perClient` names,
 * and waits until all are connected.
 */
async function caMany(a: Args): Promise<unknown> {
  const clients = Number(a.clients), per = Number(a.perClient), pvCount = Number(a.pvCount);
  const t0 = performance.now();
  const waits: Promise<boolean>[] = [];
  for (let c = 0; c < clients; c++) {
    const ctx = new CaContext({ config: readEpicsConfig().ca, logger, repeater: false });
    caContexts.set(`many${c}`, ctx);
    const chans: CaChannel[] = [];
    for (let i = 0; i < per; i++) {
      chans.push(ctx.channel(`${a.prefix}${((Number(a.first ?? 0) + c) * per + i) % pvCount}`));
    }
    waits.push(ctx.waitConnected(chans, Number(a.timeout ?? 60)));
    // Clients start in groups, as they do on a real network, not all in one instant.
    if (c % 10 === 9) await Promise.all(waits.slice(-10));
  }
  const ok = (await Promise.all(waits)).filter(Boolean).length;
  let circuits = 0;
  for (const [k, c] of caContexts) if (k.startsWith("many")) circuits += c.circuitCount;
  return { connectedClients: ok, circuits, ms: Math.round(performance.now() - t0) };
}

async function caManyClose(): Promise<unknown> {
  const closing: Promise<void>[] = [];
  for (const [k, c] of caContexts) {
    if (k.startsWith("many")) {
      closing.push(c.close());
      caContexts.delete(k);
    }
  }
  await Promise.all(closing);
  return {};
}

// ---- PVA client ------------------------------------------------------------------------

const pvaClients = new Map<string, PvaClient>();
const pvaSubs: PvaSub[] = [];

function pva(a: Args): PvaClient {
  const key = String(a.ctx ?? "0");
  let c = pvaClients.get(key);
  if (!c) {
    c = new PvaClient({
      config: readEpicsConfig().pva,
      onMultiplyDefined: (name, accepted, ignored) => emit({ ev: "dup", name, accepted, ignored }),
    });
    pvaClients.set(key, c);
  }
  return c;
}

async function pvaGet(a: Args): Promise<unknown> {
  const v = await pva(a).get(String(a.name), { timeout: Number(a.timeout ?? 5) });
  return { value: plain(v.get("value")) };
}

function pvaMonitor(a: Args): unknown {
  const sub = String(a.sub);
  pvaSubs.push(
    pva(a).monitor(String(a.name), (ev) => {
      if (ev.kind === "data") {
        emit({ ev: "mon", sub, kind: "value", value: plain(ev.value.get("value")) });
      } else if (ev.kind === "connected") {
        emit({ ev: "mon", sub, kind: "conn" });
      } else if (ev.kind === "disconnected") {
        emit({ ev: "mon", sub, kind: "disc" });
      } else if (ev.kind === "error") {
        emit({ ev: "mon", sub, kind: "error", text: ev.error.message });
      }
    }),
  );
  return {};
}

function pvaCheck(a: Args): unknown {
  const st = { count: 0, last: NaN, bad: [] as string[] };
  checkers.set(String(a.sub), st);
  pvaSubs.push(
    pva(a).monitor(String(a.name), (ev) => {
      if (ev.kind === "data") track(st, Number(ev.value.get("value")));
      else if (ev.kind === "error") st.bad.push(ev.error.message);
    }),
  );
  return {};
}

/** `clients` PVA clients, each monitoring `perClient` names, until every first value came. */
async function pvaMany(a: Args): Promise<unknown> {
  const clients = Number(a.clients), per = Number(a.perClient), pvCount = Number(a.pvCount);
  const t0 = performance.now();
  const deadline = t0 + Number(a.timeout ?? 60) * 1000;
  let missing = clients * per;
  const group = Number(a.group ?? 10);
  const waits: Promise<void>[] = [];
  for (let c = 0; c < clients; c++) {
    const client = new PvaClient({ config: readEpicsConfig().pva });
    pvaClients.set(`many${c}`, client);
    let left = per;
    const { promise, resolve } = Promise.withResolvers<void>();
    waits.push(promise);
    for (let i = 0; i < per; i++) {
      let first = true;
      pvaSubs.push(
        client.monitor(`${a.prefix}${((Number(a.first ?? 0) + c) * per + i) % pvCount}`, (ev) => {
          if (ev.kind === "data" && first) {
            first = false;
            missing--;
            if (--left === 0) resolve();
          }
        }),
      );
    }
    // Clients start in groups, as they do on a real network, not all in one instant.
    if (c % group === group - 1 || c === clients - 1) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.all(waits.slice(-group)),
        new Promise((r) => timer = setTimeout(r, Math.max(0, deadline - performance.now()))),
      ]);
      clearTimeout(timer);
    }
  }
  return { missing, ms: Math.round(performance.now() - t0) };
}

async function pvaManyClose(): Promise<unknown> {
  const closing: Promise<void>[] = [];
  for (const [k, c] of pvaClients) {
    if (k.startsWith("many")) {
      closing.push(c.close());
      pvaClients.delete(k);
    }
  }
  await Promise.all(closing);
  return {};
}

/** Puts 1, 2, 3... to `name` (waiting for each to complete) for `ms`; returns the last. */
async function opPutLoop(a: Args): Promise<unknown> {
  const end = performance.now() + Number(a.ms);
  let v = 0;
  if (a.proto === "ca") {
    const ch = caChannel(a);
    while (performance.now() < end) await ch.put(++v, { wait: true });
  } else {
    const c = pva(a);
    while (performance.now() < end) await c.put(String(a.name), ++v);
  }
  return { last: v };
}

// ---- bad peers --------------------------------------------------------------------------

let badStop = false;
const badConns: Deno.Conn[] = [];

/** Floods CA and PVA searches for names nobody has, to the broadcast address, for `ms`. */
async function opFlood(a: Args): Promise<unknown> {
  const to = String(a.to);
  const udp = Deno.listenDatagram({ hostname: "0.0.0.0", port: 0, transport: "udp" });
  const w = new ByteWriter(2048);
  const end = performance.now() + Number(a.ms);
  let sent = 0, id = 1;
  try {
    while (performance.now() < end && !badStop) {
      w.reset();
      for (let i = 0; i < 20; i++) encodeSearchRequest(w, { cid: id++, name: `FLOOD:${id}` });
      await udp.send(w.toBytes(), { transport: "udp", hostname: to, port: 5064 });
      w.reset();
      encodePvaSearch(w, {
        sequenceId: id,
        flags: 0x81,
        responseAddress: new Uint8Array(16),
        responsePort: 0,
        protocols: ["tcp"],
        channels: Array.from({ length: 20 }, (_, i) => ({ id: id + i, name: `FLOOD:${id + i}` })),
      });
      await udp.send(w.toBytes(), { transport: "udp", hostname: to, port: 5076 });
      sent += 2;
      // Yield now and then so the agent still answers its commands.
      if (sent % 50 === 0) await new Promise((r) => setTimeout(r, 0));
    }
  } finally {
    udp.close();
  }
  return { sent };
}

async function readSome(conn: Deno.Conn, until: (chunk: Uint8Array) => boolean): Promise<void> {
  const buf = new Uint8Array(65536);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) throw new Error("closed early");
    if (until(buf.subarray(0, n))) return;
  }
}

/**
 * Opens `circuits` CA circuits to `host`, subscribes each to `name` (after reading the
 * CREATE_CHAN reply), then never reads again.
 */
async function opNoReadCa(a: Args): Promise<unknown> {
  for (let i = 0; i < Number(a.circuits ?? 4); i++) {
    const conn = await Deno.connect({ hostname: String(a.host), port: 5064 });
    badConns.push(conn);
    const w = new ByteWriter(256);
    encodeVersion(w);
    encodeClientName(w, "badpeer");
    encodeHostName(w, "badpeer");
    encodeCreateChanRequest(w, { cid: 1, name: String(a.name) });
    await conn.write(w.toBytes());
    const framer = new CaFramer();
    let sid = -1, count = 1;
    await readSome(conn, (chunk) => {
      for (const m of framer.receive(chunk)) {
        if (m.command === CaCommand.CREATE_CHAN) {
          const r = decodeCreateChan(m);
          sid = r.sid;
          count = r.count;
        }
      }
      return sid >= 0;
    });
    w.reset();
    for (let s = 0; s < 8; s++) {
      encodeEventAdd(w, { sid, subid: s + 1, dataType: Dbr.DOUBLE, count, mask: Dbe.VALUE });
    }
    await conn.write(w.toBytes());
  }
  return {};
}

/** The same for PVA: validated, channel created, monitor started, then silence. */
async function opNoReadPva(a: Args): Promise<unknown> {
  for (let i = 0; i < Number(a.circuits ?? 4); i++) {
    const conn = await Deno.connect({ hostname: String(a.host), port: 5075 });
    badConns.push(conn);
    const peer = new TestPvaPeer();
    let validation = false, sid = -1;
    await readSome(conn, (chunk) => {
      for (const d of peer.receive(chunk)) if (d.kind === "validationRequest") validation = true;
      return validation;
    });
    await conn.write(peer.validate());
    await conn.write(peer.createChannel(1, String(a.name)));
    await readSome(conn, (chunk) => {
      for (const d of peer.receive(chunk)) {
        if (d.kind === "createChannelResponse") sid = d.msg.sid;
      }
      return sid >= 0;
    });
    await conn.write(peer.init(PvaCommand.MONITOR, sid, 1));
    await conn.write(peer.exec(PvaCommand.MONITOR, sid, 1, 0x44));
  }
  return {};
}

/** Sends `conns` TCP connections of random bytes to both servers and random datagrams. */
async function opGarbage(a: Args): Promise<unknown> {
  let seed = 12345;
  const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16;
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => rand() & 255);
  const host = String(a.host);
  let closedByServer = 0;
  for (let i = 0; i < Number(a.conns ?? 20); i++) {
    for (const port of [5064, 5075]) {
      const conn = await Deno.connect({ hostname: host, port });
      try {
        await conn.write(bytes(64 + (rand() % 2000)));
        // The server should drop us: wait for that (or give up after a while).
        const buf = new Uint8Array(4096);
        const until = setTimeout(() => conn.close(), 3000);
        try {
          for (;;) {
            const n = await conn.read(buf);
            if (n === null) {
              closedByServer++;
              break;
            }
          }
        } catch {
          // reset by the server, or our own timeout closed it
        } finally {
          clearTimeout(until);
        }
      } finally {
        try {
          conn.close();
        } catch {
          // already closed
        }
      }
    }
  }
  const udp = Deno.listenDatagram({ hostname: "0.0.0.0", port: 0, transport: "udp" });
  for (let i = 0; i < 200; i++) {
    await udp.send(bytes(8 + (rand() % 400)), {
      transport: "udp",
      hostname: host,
      port: i % 2 ? 5064 : 5076,
    });
  }
  udp.close();
  return { closedByServer };
}

// ---- commands ------------------------------------------------------------------------

/**
 * Runs a command's main() in-process with captured output. With `waitStdout`/`waitStderr`, the command
 * is stopped (its io signal aborted) once stdout and stderr contain that text, or after
 * `timeout` seconds.
 */
async function opCli(a: Args): Promise<unknown> {
  const file = String(a.cmd).replaceAll("-", "_");
  const mod = await import(new URL(`../../cli/${file}.ts`, import.meta.url).href);
  const out = { stdout: "", stderr: "" };
  const ac = new AbortController();
  const waitOut = a.waitStdout as string | undefined;
  const waitErr = a.waitStderr as string | undefined;
  const waitFor = waitOut ?? waitErr;
  const check = () => {
    if (
      (waitOut === undefined || out.stdout.includes(waitOut)) &&
      (waitErr === undefined || out.stderr.includes(waitErr))
    ) ac.abort();
  };
  const timer = waitFor ? setTimeout(() => ac.abort(), Number(a.timeout ?? 20) * 1000) : undefined;
  const code = await mod.main(a.args as string[], {
    stdout: (t: string) => (out.stdout += t, check()),
    stderr: (t: string) => (out.stderr += t, check()),
    env: { ...Deno.env.toObject(), TZ: "UTC" },
    signal: ac.signal,
  });
  clearTimeout(timer);
  return { code, ...out };
}

// ---- dispatch -------------------------------------------------------------------------

const ops: Record<string, (a: Args) => unknown> = {
  "serve": opServe,
  "unserve": async () => {
    await served?.close();
    served = undefined;
    return {};
  },
  "post": (a) => (pvNamed(a.name).post(a.value), {}),
  "ramp": opRamp,
  "spin": opSpin,
  "mem": () => memory(),
  "ca.get": caGet,
  "ca.put": async (a) => (await caChannel(a).put(a.value as number, { wait: true }), {}),
  "ca.monitor": caMonitor,
  "ca.check": caCheck,
  "ca.many": caMany,
  "ca.manyClose": caManyClose,
  "pva.get": pvaGet,
  "pva.put": async (a) => (await pva(a).put(String(a.name), a.value), {}),
  "pva.monitor": pvaMonitor,
  "pva.check": pvaCheck,
  "pva.many": pvaMany,
  "pva.manyClose": pvaManyClose,
  "checked": (a) => {
    const st = checkers.get(String(a.sub));
    if (!st) throw new Error(`no checker ${a.sub}`);
    return { ...st };
  },
  "cli": opCli,
  "putLoop": opPutLoop,
  "flood": opFlood,
  "noread.ca": opNoReadCa,
  "noread.pva": opNoReadPva,
  "garbage": opGarbage,
};

async function shutdown(): Promise<void> {
  badStop = true;
  for (const t of spinners.values()) clearInterval(t);
  for (const c of badConns) {
    try {
      c.close();
    } catch {
      // already closed
    }
  }
  await Promise.allSettled(pvaSubs.map((s) => s.close()));
  await Promise.allSettled([...caContexts.values()].map((c) => c.close()));
  await Promise.allSettled([...pvaClients.values()].map((c) => c.close()));
  await served?.close();
}

async function main(): Promise<void> {
  const dec = new TextDecoder();
  let pending = "";
  const buf = new Uint8Array(65536);
  emit({ ev: "ready", pid: Deno.pid });
  for (;;) {
    const n = await Deno.stdin.read(buf);
    if (n === null) break;
    pending += dec.decode(buf.subarray(0, n), { stream: true });
    let nl;
    while ((nl = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (!line.trim()) continue;
      const msg = JSON.parse(line) as Args & { id: number; op: string };
      if (msg.op === "exit") {
        await shutdown();
        emit({ id: msg.id, ok: true, result: {} });
        await outChain;
        Deno.exit(0);
      }
      const f = ops[msg.op];
      Promise.resolve()
        .then(() => {
          if (!f) throw new Error(`unknown op ${msg.op}`);
          return f(msg);
        })
        .then(
          (result) => emit({ id: msg.id, ok: true, result }),
          (e) => emit({ id: msg.id, ok: false, error: String((e as Error)?.message ?? e) }),
        );
    }
  }
  await shutdown();
  await outChain;
  Deno.exit(0);
}

if (import.meta.main) await main();
