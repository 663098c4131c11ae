/**
 * A Host: the PVs of one device under one prefix, with the IOC-stats helper PVs (iocStats
 * names and types, real measurements at iocStats' rates), epicsdev's control PVs
 * (`status`, `server`, `verbose`, `sleep`, `cycle`, `cycleTime`, `VERSION`) and the
 * polling loop helper `host.loop()`.
 * @module
 */

import { AlarmSeverity } from "../core/alarm.ts";
import { LocalProtocolError } from "../core/errors.ts";
import { PvMap } from "../pv/provider.ts";
import { type PostOptions, SharedPV, type SharedPVOptions } from "../pv/shared_pv.ts";
import type { PvValue } from "../pv/types.ts";
import { createPvs, type PvDefinition, type Setter } from "./defs.ts";
import {
  formatTod,
  formatUptime,
  kernelVersion,
  readFdCount,
  readFdMax,
  readHostMemory,
  readHostTcpCount,
  readProcessCpuSeconds,
  readSystemCpu,
} from "./proc_stats.ts";

/** The version text of this toolkit (EPICS_VERS and VERSION). */
export const EPICS_TS_VERSION = "epics-ts 0.1.0";

/** The states of the `server` PV, in epicsdev's order. */
export const SERVER_STATES = [
  "Start",
  "Stop",
  "Clear",
  "Exit",
  "Started",
  "Stopped",
  "Exited",
] as const;

/** Seconds between updates of each group of helper PVs (iocStats' rates by default). */
export interface HelperPeriods {
  /** HEARTBEAT, TOD, UPTIME (1 s, iocStats' "1 second" scan). */
  heartbeat: number;
  /** IOC_CPU_LOAD, SYS_CPU_LOAD, CPU_LOAD (10 s, iocStats LOAD_UPD_TIME). */
  cpu: number;
  /** MEM_USED, MEM_FREE, MEM_MAX (10 s, MEM_UPD_TIME). */
  memory: number;
  /** FD_CNT (20 s, FD_UPD_TIME). */
  fd: number;
  /** CA_CLNT_CNT, CA_CONN_CNT, PVA_*, PV_CNT, CA_CONN_COUNT (15 s, CA_UPD_TIME). */
  clients: number;
  /** cycle and cycleTime (10 s, epicsdev's periodic update). */
  cycle: number;
}

const DEFAULT_PERIODS: HelperPeriods = {
  heartbeat: 1,
  cpu: 10,
  memory: 10,
  fd: 20,
  clients: 15,
  cycle: 10,
};

/** Client and channel counts the helper PVs show (CaServer and PvaServer have these). */
export interface ServedCounts {
  /** The CA server, when serving over CA. */
  ca?: { circuitCount: number; channelCount: number };
  /** The PVA server, when serving over PVA. */
  pva?: { connectionCount: number; channelCount: number };
}

/** How to create a {@link Host}. */
export interface HostOptions {
  /** Put before every name, e.g. "lab1:" (default ""). */
  prefix?: string;
  /** The device's PV definitions. */
  pvs?: readonly PvDefinition[];
  /** Setters by PV name (without the prefix), for definitions that have none. */
  setters?: Readonly<Record<string, Setter>>;
  /** Host the helper and control PVs (default true). */
  helpers?: boolean;
  /** The VERSION PV's text (default: this toolkit's version). */
  version?: string;
  /** Initial value of the `verbose` PV (0..3). */
  verbose?: number;
  /** Initial value of the `sleep` PV in seconds (default 1). */
  sleep?: number;
  /** Update periods of the helper PVs (tests shorten them). */
  periods?: Partial<HelperPeriods>;
}

/**
 * One device's PVs plus the helper PVs, ready to {@link serve} (`host.provider`).
 * @example
 * ```ts
 * import { Host } from "./mod.ts";
 * using host = new Host({
 *   prefix: "osc1:",
 *   pvs: [{ name: "gain", value: 1.5, features: "W" }, { name: "reading", type: "float64" }],
 * });
 * let n = 0;
 * host.post("sleep", 0.001); // loop period in seconds (the `sleep` PV)
 * for await (const cycle of host.loop()) {
 *   host.post("reading", cycle * (host.value("gain") as number));
 *   if (++n === 3) host.post("server", "Exit"); // ends the loop, as a client's put would
 * }
 * if (host.value("reading") !== 4.5 || host.pv("osc1:HEARTBEAT") === undefined) throw new Error();
 * ```
 */
export class Host implements Disposable {
  /** The prefix of every name. */
  readonly prefix: string;
  /** Every PV of this host, by full name. */
  readonly provider: PvMap;
  /** Resolves when the `server` PV is set to Exit (or {@link Host.exit} is called). */
  readonly exited: Promise<void>;
  #pvs = new Map<string, SharedPV>();
  #timers: ReturnType<typeof setInterval>[] = [];
  #state: string = "Start";
  #exit!: () => void;
  #disposed = false;
  #wake = new Set<() => void>();
  #served: ServedCounts = {};
  #periods: HelperPeriods;
  #sleep: number;
  #verbose: number;
  #cycle = 0;
  #cycleSum = 0;
  #cycleN = 0;
  #helpers: boolean;
  #start = Date.now();

  /**
   * Creates the PVs (nothing is served until `serve({ pvs: host.provider })`).
   * @param options prefix, definitions, setters, helpers
   * @throws PvDefinitionError listing every problem in the definitions
   */
  constructor(options: HostOptions = {}) {
    this.prefix = options.prefix ?? "";
    this.#periods = { ...DEFAULT_PERIODS, ...options.periods };
    this.#sleep = options.sleep ?? 1;
    this.#verbose = options.verbose ?? 0;
    this.#helpers = options.helpers ?? true;
    this.exited = new Promise((r) => this.#exit = r);
    this.provider = new PvMap();
    if (this.#helpers) {
      for (const pv of this.#helperPvs(options.version ?? EPICS_TS_VERSION)) this.#add(pv);
    }
    const defs = (options.pvs ?? []).map((d) => {
      const s = options.setters?.[d.name];
      return s && !d.setter ? { ...d, setter: s } : d;
    });
    for (const pv of createPvs(defs, this.prefix)) this.#add(pv);
    if (this.#helpers) this.#startTimers();
  }

  #add(pv: SharedPV): void {
    if (this.#pvs.has(pv.name)) {
      throw new LocalProtocolError(`PV "${pv.name}" is defined twice (a helper PV has that name)`);
    }
    this.#pvs.set(pv.name, pv);
    this.provider.add(pv);
  }

  /** Every PV of this host, helpers first. */
  get pvs(): SharedPV[] {
    return [...this.#pvs.values()];
  }

  /**
   * Finds a PV by its name with or without the prefix.
   * @param name "gain" or "osc1:gain"
   * @returns the PV, or undefined
   */
  pv(name: string): SharedPV | undefined {
    return this.#pvs.get(this.prefix + name) ?? this.#pvs.get(name);
  }

  #get(name: string): SharedPV {
    const pv = this.pv(name);
    if (!pv) throw new LocalProtocolError(`No PV "${name}" on this host`);
    return pv;
  }

  /**
   * The current value of a PV (enums: the index).
   * @param name with or without the prefix
   * @throws LocalProtocolError for an unknown name
   */
  value(name: string): PvValue {
    return this.#get(name).value;
  }

  /**
   * Publishes a value to a PV of this host (setters are not called; control PVs act).
   * @param name with or without the prefix
   * @param value the new value (enums: index or state text)
   * @param options timestamp, alarm
   * @throws LocalProtocolError for an unknown name; PutRefusedError for a bad value
   */
  post(name: string, value: unknown, options?: PostOptions): void {
    const pv = this.#get(name);
    pv.post(value, options);
    const base = pv.name.slice(this.prefix.length);
    if (pv.name.startsWith(this.prefix) && this.#control.has(base)) {
      this.#control.get(base)!(pv.value);
    }
  }

  /** Control PVs whose posted values act like a client's put. */
  #control = new Map<string, (v: PvValue) => void>([
    ["server", (v) => {
      const s = SERVER_STATES[v as number] ?? "Start";
      this.#setServer(s, s === "Clear");
    }],
    ["sleep", (v) => this.#sleep = v as number],
    ["verbose", (v) => this.#verbose = v as number],
  ]);

  /** The server state: Start (running), Stop (loop paused) or Exit. */
  get state(): "Start" | "Stop" | "Exit" {
    return this.#state as "Start" | "Stop" | "Exit";
  }

  /** The `verbose` level (0..3). */
  get verbose(): number {
    return this.#verbose;
  }

  /** Tells the helper PVs which servers to count clients of. */
  attach(served: ServedCounts): void {
    this.#served = served;
    if (this.#helpers) this.#updateClients();
  }

  /** Sets the `status` PV text. */
  status(text: string): void {
    this.pv("status")?.post(text);
  }

  /** Shows a warning on the `status` PV, as epicsdev does (`WAR_@MMDD:HHMMSS: msg`). */
  warn(message: string): void {
    this.pv("status")?.post(`WAR_@${stamp()}: ${message}`, {
      alarm: { severity: AlarmSeverity.MINOR, status: 0 },
    });
  }

  /** Shows an error on the `status` PV (`ERR_MMDD:HHMMSS: msg`), with a MAJOR alarm. */
  error(message: string): void {
    this.pv("status")?.post(`ERR_${stamp()}: ${message}`, {
      alarm: { severity: AlarmSeverity.MAJOR, status: 0 },
    });
  }

  /** Sets the server state to Exit: loops end and {@link Host.exited} resolves. */
  exit(): void {
    this.#setServer("Exit", true);
  }

  #setServer(state: string, post: boolean): string {
    if (state === "Clear") {
      this.status("Cleared");
      const prev = this.#state;
      if (post) this.pv("server")?.post(SERVER_STATES.indexOf(prev as "Start"));
      return prev;
    }
    const s = state.startsWith("Stop") ? "Stop" : state.startsWith("Exit") ? "Exit" : "Start";
    this.#state = s;
    this.status(s === "Stop" ? "Stopped" : s === "Exit" ? "Exited" : "Started");
    if (post) this.pv("server")?.post(SERVER_STATES.indexOf(s));
    if (s === "Exit") this.#exit();
    this.#wakeAll();
    return s;
  }

  #wakeAll(): void {
    for (const w of [...this.#wake]) w();
  }

  /** Sleeps up to `seconds`, waking early when the state changes or the host is disposed. */
  #nap(seconds: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.#wake.delete(done);
        resolve();
      };
      const t = setTimeout(done, Math.max(0, seconds * 1000));
      this.#wake.add(done);
    });
  }

  /**
   * The polling loop: yields the cycle number, then sleeps the `sleep` PV's period; pauses
   * (yields nothing) while `server` is Stop; ends when it is Exit or the host is disposed.
   * Counts `cycle` and measures the mean period including the sleep, `cycleTime`,
   * published every 10 s like epicsdev.
   * @returns an async iterator of cycle numbers (1, 2, ...)
   */
  async *loop(): AsyncGenerator<number, void, undefined> {
    let last = performance.now();
    let lastPublish = last;
    while (this.#state !== "Exit" && !this.#disposed) {
      if (this.#state !== "Stop") yield ++this.#cycle;
      if (this.#state === "Exit" || this.#disposed) break;
      const paused = this.#state === "Stop";
      await this.#nap(paused ? Math.max(this.#sleep, 0.1) : this.#sleep);
      // A nap cut short by Exit is no cycle: counting it would skew cycleTime's last mean.
      if (this.#state === "Exit" || this.#disposed) break;
      const now = performance.now();
      if (!paused && this.#state !== "Stop") {
        this.#cycleSum += (now - last) / 1000;
        this.#cycleN++;
      }
      last = now;
      if (now - lastPublish >= this.#periods.cycle * 1000) {
        lastPublish = now;
        this.#publishCycle();
      }
    }
    this.#publishCycle();
  }

  #publishCycle(): void {
    this.pv("cycle")?.post(this.#cycle);
    if (this.#cycleN > 0) this.pv("cycleTime")?.post(this.#cycleSum / this.#cycleN);
    this.#cycleSum = 0;
    this.#cycleN = 0;
  }

  #helperPvs(version: string): SharedPV[] {
    const p = this.prefix;
    const ro = (name: string, o: SharedPVOptions) =>
      new SharedPV(p + name, { writable: false, ...o });
    const num = (
      name: string,
      description: string,
      units = "",
      extra: Partial<SharedPVOptions> = {},
    ) => ro(name, { type: "float64", description, units, ...extra });
    const load = { hihi: 80, high: 70, hihiSeverity: 2, highSeverity: 1 };
    const pvs: SharedPV[] = [
      // iocStats (ioc.template) names; ai records are doubles, stringin are strings.
      num("HEARTBEAT", "1 Hz counter since startup"),
      ro("UPTIME", { type: "string", description: "Elapsed Time since Start" }),
      ro("STARTTOD", {
        type: "string",
        description: "Time and date of startup",
        value: formatTod(this.#start),
      }),
      ro("TOD", { type: "string", description: "Current time and date" }),
      ro("HOSTNAME", { type: "string", description: "Host Name", value: hostName() }),
      ro("KERNEL_VERS", { type: "string", description: "Kernel Version", value: kernelVersion() }),
      ro("EPICS_VERS", { type: "string", description: "EPICS Version", value: version }),
      num("PROCESS_ID", "Process ID", "", { value: Deno.pid }),
      num("PARENT_ID", "Parent Process ID", "", { value: parentPid() }),
      ro("APP_DIR", {
        type: "uint8",
        length: 160,
        description: "Application Directory",
        value: cwd().slice(0, 159),
      }),
      num("IOC_CPU_LOAD", "IOC CPU Load", "%", {
        precision: 1,
        display: { low: 0, high: 100 },
        alarm: load,
      }),
      num("SYS_CPU_LOAD", "System CPU Load", "%", {
        precision: 1,
        display: { low: 0, high: 100 },
        alarm: load,
      }),
      num("CPU_CNT", "Number of CPUs", "", { value: cpuCount() }),
      num("MEM_USED", "Allocated Memory", "byte"),
      num("MEM_FREE", "Free Memory", "byte"),
      num("MEM_MAX", "Maximum Memory", "byte"),
      num("FD_CNT", "Allocated File Descriptors"),
      num("FD_MAX", "Max File Descriptors", "", { value: readFdMax() ?? 0 }),
      num("CA_CLNT_CNT", "Number of CA Clients", "", {
        display: { low: 0, high: 200 },
        alarm: { hihi: 175, high: 100, hihiSeverity: 2, highSeverity: 1 },
      }),
      num("CA_CONN_CNT", "Number of CA Connections", "", {
        display: { low: 0, high: 5000 },
        alarm: { hihi: 4500, high: 4000, hihiSeverity: 2, highSeverity: 1 },
      }),
      num("PVA_CLNT_CNT", "Number of PVA Clients"),
      num("PVA_CONN_CNT", "Number of PVA Channels"),
      num("PV_CNT", "Number of PVs"),
      // epicsdev's names.
      ro("VERSION", { type: "string", description: "Program version", value: version }),
      ro("CPU_LOAD", {
        type: "float32",
        description: "CPU load in %",
        units: "%",
        precision: 1,
      }),
      ro("CA_CONN_COUNT", { type: "int32", description: "Number of TCP connections" }),
      new SharedPV(p + "status", { type: "string", description: "Server status" }),
      new SharedPV(p + "server", {
        type: "enum",
        choices: [...SERVER_STATES],
        description: "Server control",
        onPut: (v) =>
          SERVER_STATES.indexOf(this.#setServer(SERVER_STATES[v as number], false) as "Start"),
      }),
      new SharedPV(p + "verbose", {
        type: "uint8",
        value: this.#verbose,
        description: "Debugging verbosity",
        control: { low: 0, high: 3 },
        display: { low: 0, high: 3 },
        onPut: (v) => {
          this.#verbose = v as number;
        },
      }),
      new SharedPV(p + "sleep", {
        type: "float32",
        value: this.#sleep,
        units: "S",
        precision: 3,
        description: "Pause in the main loop",
        control: { low: 0.001, high: 10.1 },
        display: { low: 0.001, high: 10.1 },
        onPut: (v) => {
          this.#sleep = v as number;
          this.#wakeAll();
        },
      }),
      ro("cycle", { type: "uint32", description: "Cycle number" }),
      ro("cycleTime", {
        type: "float32",
        units: "S",
        precision: 4,
        description: "Average cycle time including sleep",
      }),
    ];
    return pvs;
  }

  #startTimers(): void {
    const every = (seconds: number, f: () => void) => {
      f();
      this.#timers.push(setInterval(() => {
        try {
          f();
        } catch {
          // A failed reading keeps the last value; the next period tries again.
        }
      }, seconds * 1000));
    };
    let beat = 0;
    const p = this.#periods;
    const clock = () => {
      const now = Date.now();
      this.#post("TOD", formatTod(now));
      this.#post("UPTIME", formatUptime((now - this.#start) / 1000));
    };
    clock();
    // HEARTBEAT counts from 0 at start, +1 per period (iocStats' 1 s calcout, wrapping to 1).
    this.#timers.push(setInterval(() => {
      this.#post("HEARTBEAT", beat = beat < 2147483647 ? beat + 1 : 1);
      clock();
    }, p.heartbeat * 1000));
    let sys0 = readSystemCpu();
    let proc0 = readProcessCpuSeconds();
    let t0 = performance.now();
    const ncpu = cpuCount();
    this.#timers.push(setInterval(() => {
      const sys = readSystemCpu();
      const proc = readProcessCpuSeconds();
      const t = performance.now();
      const elapsed = (t - t0) / 1000;
      if (elapsed > 0) this.#post("IOC_CPU_LOAD", 100 * (proc - proc0) / (elapsed * ncpu));
      if (sys && sys0 && sys.total > sys0.total) {
        const pct = 100 * (sys.busy - sys0.busy) / (sys.total - sys0.total);
        this.#post("SYS_CPU_LOAD", pct);
        this.#post("CPU_LOAD", Math.round(pct * 10) / 10);
      }
      sys0 = sys;
      proc0 = proc;
      t0 = t;
    }, p.cpu * 1000));
    every(p.memory, () => {
      this.#post("MEM_USED", Deno.memoryUsage().rss);
      const m = readHostMemory();
      if (m) {
        this.#post("MEM_FREE", m.free);
        this.#post("MEM_MAX", m.total);
      }
    });
    every(p.fd, () => {
      const n = readFdCount();
      if (n !== undefined) this.#post("FD_CNT", n);
    });
    every(p.clients, () => this.#updateClients());
  }

  #updateClients(): void {
    const s = this.#served;
    this.#post("CA_CLNT_CNT", s.ca?.circuitCount ?? 0);
    this.#post("CA_CONN_CNT", s.ca?.channelCount ?? 0);
    this.#post("PVA_CLNT_CNT", s.pva?.connectionCount ?? 0);
    this.#post("PVA_CONN_CNT", s.pva?.channelCount ?? 0);
    this.#post("PV_CNT", this.provider.size);
    const tcp = readHostTcpCount();
    if (tcp !== undefined) this.#post("CA_CONN_COUNT", tcp);
  }

  /** Posts a helper value when it changed (iocStats' records post on change too). */
  #post(name: string, v: number | string): void {
    const pv = this.#pvs.get(this.prefix + name);
    if (pv && pv.value !== v) pv.post(v);
  }

  /** Stops the helper timers and ends every loop. */
  [Symbol.dispose](): void {
    this.#disposed = true;
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    this.#wakeAll();
  }
}

function stamp(): string {
  const d = new Date();
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(d.getMonth() + 1)}${two(d.getDate())}:${two(d.getHours())}${two(d.getMinutes())}${
    two(d.getSeconds())
  }`;
}

function hostName(): string {
  try {
    return Deno.hostname();
  } catch {
    return "";
  }
}

function parentPid(): number {
  try {
    return Deno.ppid;
  } catch {
    return 0;
  }
}

function cwd(): string {
  try {
    return Deno.cwd();
  } catch {
    return "";
  }
}

function cpuCount(): number {
  return navigator.hardwareConcurrency || 1;
}
