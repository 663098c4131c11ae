/**
 * What the IOC-stats helper PVs measure, read the way iocStats reads it on Linux: /proc
 * (system CPU, memory, file descriptors) and Deno's APIs (this process's CPU time, RSS,
 * pid). The text parsers are pure; {@link readStats} does the reading.
 * @module
 */

import process from "node:process";

/** CPU counters of the whole system from /proc/stat's first line, in ticks. */
export interface SystemCpuTimes {
  /** Ticks spent working (user, nice, system, irq, softirq, steal). */
  busy: number;
  /** All ticks, idle and iowait included. */
  total: number;
}

/**
 * Parses the `cpu` line of /proc/stat.
 * @param text the file's text
 * @returns busy and total ticks, or undefined when the line is missing
 * @example
 * ```ts
 * import { parseProcStat } from "./proc_stats.ts";
 * const t = parseProcStat("cpu  100 5 50 800 40 1 2 3 0 0\ncpu0 1 2 3 4\n");
 * if (t?.busy !== 161 || t.total !== 1001) throw new Error();
 * ```
 */
export function parseProcStat(text: string): SystemCpuTimes | undefined {
  const line = text.split("\n").find((l) => l.startsWith("cpu "));
  if (!line) return undefined;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest times are inside user/nice).
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, soft = 0, steal = 0] = f;
  const busy = user + nice + system + irq + soft + steal;
  return { busy, total: busy + idle + iowait };
}

/** Memory of the host from /proc/meminfo, in bytes. */
export interface HostMemory {
  /** MemTotal (iocStats MEM_MAX). */
  total: number;
  /** MemFree + Buffers + Cached, as iocStats counts free memory (MEM_FREE). */
  free: number;
}

/**
 * Parses /proc/meminfo.
 * @param text the file's text
 * @returns total and free bytes, or undefined without MemTotal
 * @example
 * ```ts
 * import { parseMeminfo } from "./proc_stats.ts";
 * const m = parseMeminfo("MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 10 kB\nCached: 1 kB\n");
 * if (m?.total !== 1024000 || m.free !== 111 * 1024) throw new Error();
 * ```
 */
export function parseMeminfo(text: string): HostMemory | undefined {
  const kb: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const m = /^(\w+):\s+(\d+)/.exec(line);
    if (m) kb[m[1]] = Number(m[2]);
  }
  if (kb.MemTotal === undefined) return undefined;
  const free = (kb.MemFree ?? 0) + (kb.Buffers ?? 0) + (kb.Cached ?? 0);
  return { total: kb.MemTotal * 1024, free: free * 1024 };
}

/**
 * The soft "Max open files" limit from /proc/self/limits.
 * @param text the file's text
 * @returns the limit, or undefined when absent or unlimited
 * @example
 * ```ts
 * import { parseMaxOpenFiles } from "./proc_stats.ts";
 * const t = "Limit  Soft Limit  Hard Limit  Units\nMax open files  1024  4096  files\n";
 * if (parseMaxOpenFiles(t) !== 1024) throw new Error();
 * ```
 */
export function parseMaxOpenFiles(text: string): number | undefined {
  const m = /^Max open files\s+(\d+)/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

/**
 * iocStats' UPTIME text: `HH:MM:SS`, after `1 day, ` or `N days, ` once past a day.
 * @param seconds whole seconds since start
 * @returns the text
 * @example
 * ```ts
 * import { formatUptime } from "./proc_stats.ts";
 * if (formatUptime(3725) !== "01:02:05" || formatUptime(90061) !== "1 day, 01:01:01") throw new Error();
 * if (formatUptime(2 * 86400) !== "2 days, 00:00:00") throw new Error();
 * ```
 */
export function formatUptime(seconds: number): string {
  let t = Math.max(0, Math.floor(seconds));
  const s = t % 60;
  t = Math.floor(t / 60);
  const m = t % 60;
  t = Math.floor(t / 60);
  const h = t % 24;
  const days = Math.floor(t / 24);
  const two = (n: number) => String(n).padStart(2, "0");
  const d = days === 0 ? "" : days === 1 ? "1 day, " : `${days} days, `;
  return `${d}${two(h)}:${two(m)}:${two(s)}`;
}

/**
 * The iocStats time-of-day text (`%m/%d/%Y %H:%M:%S`, local time).
 * @param ms milliseconds since 1970
 * @returns the text
 * @example
 * ```ts
 * import { formatTod } from "./proc_stats.ts";
 * if (!/^\d\d\/\d\d\/\d{4} \d\d:\d\d:\d\d$/.test(formatTod(0))) throw new Error();
 * ```
 */
export function formatTod(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(d.getMonth() + 1)}/${two(d.getDate())}/${d.getFullYear()} ` +
    `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

function readText(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}

/** Reads /proc/stat's CPU counters (undefined off Linux or without permission). */
export function readSystemCpu(): SystemCpuTimes | undefined {
  const t = readText("/proc/stat");
  return t === undefined ? undefined : parseProcStat(t);
}

/** This process's CPU time (user + system) in seconds. */
export function readProcessCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Host memory: /proc/meminfo as iocStats reads it, else Deno's view. */
export function readHostMemory(): HostMemory | undefined {
  const t = readText("/proc/meminfo");
  const m = t === undefined ? undefined : parseMeminfo(t);
  if (m) return m;
  try {
    const i = Deno.systemMemoryInfo();
    return { total: i.total, free: i.free + i.buffers + i.cached };
  } catch {
    return undefined;
  }
}

/** Open file descriptors of this process (entries of /proc/self/fd, minus the one reading it). */
export function readFdCount(): number | undefined {
  try {
    let n = 0;
    for (const _ of Deno.readDirSync("/proc/self/fd")) n++;
    // The directory being listed holds one descriptor while it is read.
    return Math.max(0, n - 1);
  } catch {
    return undefined;
  }
}

/** The soft open-files limit of this process. */
export function readFdMax(): number | undefined {
  const t = readText("/proc/self/limits");
  return t === undefined ? undefined : parseMaxOpenFiles(t);
}

/** Established TCP connections of the whole host (/proc/net/tcp and tcp6), as epicsdev counts. */
export function readHostTcpCount(): number | undefined {
  let n = 0;
  let any = false;
  for (const f of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    const t = readText(f);
    if (t === undefined) continue;
    any = true;
    for (const line of t.split("\n").slice(1)) {
      // Field 4 is the state; 01 is ESTABLISHED.
      if (line.trim().split(/\s+/)[3] === "01") n++;
    }
  }
  return any ? n : undefined;
}

/** `uname`-like kernel text as iocStats gives it: "Linux 6.1.0-18 x86_64". */
export function kernelVersion(): string {
  const sys = readText("/proc/sys/kernel/ostype")?.trim() ??
    ({ linux: "Linux", darwin: "Darwin", windows: "Windows" } as Record<string, string>)[
      Deno.build.os
    ] ?? Deno.build.os;
  let release = "";
  try {
    release = Deno.osRelease();
  } catch {
    // no sys permission
  }
  return [sys, release, Deno.build.arch].filter((x) => x).join(" ");
}
