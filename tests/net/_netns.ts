/**
 * A private test network made of Linux network namespaces: one client host and three
 * server hosts, each with one veth interface joined by a bridge that lives in a namespace
 * of its own, on 198.18.0.0/24 (the range reserved for network tests, RFC 2544). The
 * addresses exist only inside those namespaces and no route leads out of them, so
 * broadcasts, beacons and duplicate names across hosts can be tested without touching
 * the machine's real interfaces.
 *
 * Namespace names carry a prefix, the test process's pid and a counter, so parallel runs
 * never collide; a run first removes namespaces left by runs whose process is gone.
 * Everything is removed on dispose, on SIGINT/SIGTERM and at process exit. Needs root
 * and iproute2 (`ip netns`); {@link netUnavailable} says why not when it cannot work.
 * @module
 */

const PREFIX = "epicsts";
const REPO_ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname).replace(
  /\/$/,
  "",
);
const AGENT = new URL("./_agent.ts", import.meta.url).pathname;
const PROF = Deno.env.get("EPICS_TS_AGENT_PROF");

/** The hosts of a test network and their addresses. */
export const HOSTS = {
  c: "198.18.0.10",
  s1: "198.18.0.1",
  s2: "198.18.0.2",
  s3: "198.18.0.3",
} as const;
/** A host of the test network. */
export type HostName = keyof typeof HOSTS;

function ipSync(args: string[]): { ok: boolean; out: string; err: string } {
  try {
    const r = new Deno.Command("ip", { args, stdout: "piped", stderr: "piped" }).outputSync();
    const d = new TextDecoder();
    return { ok: r.success, out: d.decode(r.stdout), err: d.decode(r.stderr).trim() };
  } catch (e) {
    return { ok: false, out: "", err: (e as Error).message };
  }
}

async function ip(args: string[]): Promise<string> {
  const r = await new Deno.Command("ip", { args, stdout: "piped", stderr: "piped" }).output();
  const d = new TextDecoder();
  if (!r.success) throw new Error(`ip ${args.join(" ")} failed: ${d.decode(r.stderr).trim()}`);
  return d.decode(r.stdout);
}

function listNamespaces(): string[] {
  const r = ipSync(["netns", "list"]);
  if (!r.ok) return [];
  return r.out.split("\n").map((l) => l.split(" ")[0]).filter(Boolean);
}

/** Kills what still runs inside a namespace (processes our agents left, e.g. a repeater). */
function killInside(ns: string): void {
  const r = ipSync(["netns", "pids", ns]);
  for (const p of r.out.split(/\s+/).filter(Boolean)) {
    try {
      Deno.kill(Number(p), "SIGKILL");
    } catch {
      // already gone
    }
  }
}

function deleteNamespace(ns: string): void {
  killInside(ns);
  ipSync(["netns", "del", ns]);
}

function pidAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/** Removes namespaces with our prefix whose creating process is gone (a crashed run). */
function removeStale(): void {
  for (const ns of listNamespaces()) {
    const m = new RegExp(`^${PREFIX}-(\\d+)-`).exec(ns);
    if (m && Number(m[1]) !== Deno.pid && !pidAlive(Number(m[1]))) deleteNamespace(ns);
  }
}

/**
 * Starts a detached watcher that removes this process's namespaces once it is gone, for
 * the exits no handler sees (SIGKILL, or `deno test` ending itself on Ctrl-C). Started
 * when the module loads, outside any test, so the sanitizers do not count it.
 */
function startReaper(): void {
  const mine = `${PREFIX}-${Deno.pid}-`;
  const script = `while kill -0 ${Deno.pid} 2>/dev/null; do sleep 0.5; done
for ns in $(ip netns list | cut -d' ' -f1 | grep "^${mine}"); do
  for p in $(ip netns pids "$ns"); do kill -9 "$p"; done
  ip netns del "$ns"
done`;
  try {
    const child = new Deno.Command("sh", {
      args: ["-c", script],
      stdin: "null",
      stdout: "null",
      stderr: "null",
      detached: true,
    }).spawn();
    child.unref();
  } catch {
    // No sh: the next run removes what is left (removeStale).
  }
}

let support: Promise<string | undefined> | undefined;

/**
 * Why the network tests cannot run here, or undefined when they can (root, iproute2,
 * namespaces permitted: checked by creating and removing one).
 */
export function netUnavailable(): Promise<string | undefined> {
  return support ??= Promise.resolve().then(() => {
    if (Deno.build.os !== "linux") return "network namespaces need Linux";
    if (Deno.uid() !== 0) return "network namespaces need root";
    const probe = `${PREFIX}-${Deno.pid}-probe`;
    const r = ipSync(["netns", "add", probe]);
    if (!r.ok) return `ip netns add is not permitted or not available (${r.err})`;
    const link = ipSync(["-n", probe, "link", "add", "dev", "probe0", "type", "bridge"]);
    ipSync(["netns", "del", probe]);
    if (!link.ok) return `cannot create a bridge in a namespace (${link.err})`;
    removeStale();
    startReaper();
    return undefined;
  });
}

/** The name of a test that is ignored where the network tests cannot run. */
export async function netTest(
  name: string,
  fn: () => Promise<void>,
  opts: { sanitizeOps?: boolean } = {},
): Promise<void> {
  const why = await netUnavailable();
  Deno.test({
    name: why ? `${name} (ignored: ${why})` : name,
    ignore: why !== undefined,
    sanitizeOps: opts.sanitizeOps,
    fn,
  });
}

const live = new Set<TestNet>();
let seq = 0;
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  const cleanAll = () => {
    for (const n of [...live]) n.destroySync();
  };
  globalThis.addEventListener("unload", cleanAll);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    try {
      Deno.addSignalListener(sig, () => {
        cleanAll();
        Deno.exit(130);
      });
    } catch {
      // signal not supported here
    }
  }
}

/** One line of an agent's output: a reply (with id) or an event. */
export type AgentEvent = Record<string, unknown> & { ev: string };

/** A `tests/net/_agent.ts` process running in one namespace. */
export class Agent {
  /** The host it runs on. */
  readonly host: HostName;
  /** Events it reported, in order. */
  readonly events: AgentEvent[] = [];
  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #waiters = new Set<() => void>();
  #nextId = 1;
  #stderr = "";
  #done: Promise<void>;
  #exited = false;
  readonly #ready: Promise<void>;

  constructor(host: HostName, ns: string, env: Record<string, string>) {
    this.host = host;
    const base: Record<string, string> = { NO_COLOR: "1" };
    for (const k of ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME", "TZ"]) {
      const v = Deno.env.get(k);
      if (v !== undefined) base[k] = v;
    }
    this.#child = new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        ns,
        Deno.execPath(),
        "run",
        "-A",
        "--unstable-net",
        "--v8-flags=--expose-gc",
        // EPICS_TS_AGENT_PROF=<dir>: CPU profiles of every agent, to see where time goes.
        ...(PROF ? ["--cpu-prof", `--cpu-prof-dir=${PROF}/${host}`] : []),
        AGENT,
      ],
      cwd: REPO_ROOT,
      clearEnv: true,
      env: { ...base, ...env },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#ready = promise;
    const out = this.#readLines(this.#child.stdout, (line) => {
      const m = JSON.parse(line) as Record<string, unknown>;
      if (typeof m.id === "number") {
        const p = this.#pending.get(m.id);
        this.#pending.delete(m.id);
        if (m.ok) p?.resolve(m.result);
        else p?.reject(new Error(`${host} ${String(m.error)}`));
      } else {
        if (m.ev === "ready") resolve();
        this.events.push(m as AgentEvent);
        for (const w of [...this.#waiters]) w();
      }
    });
    const err = this.#readLines(this.#child.stderr, (line) => {
      this.#stderr += line + "\n";
    });
    this.#done = Promise.all([out, err, this.#child.status]).then(() => {
      this.#exited = true;
      const e = new Error(`agent on ${host} exited\n${this.#stderr}`);
      for (const p of this.#pending.values()) p.reject(e);
      this.#pending.clear();
      resolve();
      for (const w of [...this.#waiters]) w();
    });
  }

  async #readLines(s: ReadableStream<Uint8Array>, f: (line: string) => void): Promise<void> {
    let pending = "";
    for await (const chunk of s.pipeThrough(new TextDecoderStream())) {
      pending += chunk;
      let nl;
      while ((nl = pending.indexOf("\n")) >= 0) {
        f(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
    }
  }

  /** Waits until the agent has started (its first line). */
  async ready(): Promise<this> {
    await this.#ready;
    if (this.#exited) throw new Error(`agent on ${this.host} did not start\n${this.#stderr}`);
    return this;
  }

  /** What the agent wrote to stderr. */
  get stderr(): string {
    return this.#stderr;
  }

  /**
   * Runs one operation of the agent and returns its result.
   * @throws when the agent reports an error, exits, or takes longer than `timeoutMs`
   */
  call<T = Record<string, unknown>>(
    op: string,
    args: Record<string, unknown> = {},
    timeoutMs = 30_000,
  ): Promise<T> {
    const id = this.#nextId++;
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    this.#pending.set(id, { resolve, reject });
    this.#writer.write(new TextEncoder().encode(JSON.stringify({ id, op, ...args }) + "\n"))
      .catch((e) => reject(e));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const t = new Promise<never>((_, rej) => {
      timer = setTimeout(
        () => rej(new Error(`${this.host} ${op} took over ${timeoutMs} ms\n${this.#stderr}`)),
        timeoutMs,
      );
    });
    return Promise.race([promise, t]).finally(() => clearTimeout(timer)) as Promise<T>;
  }

  /**
   * Waits for an event matching `pred` among those from index `from` on.
   * @returns the event and its index
   */
  waitEvent(
    pred: (e: AgentEvent) => boolean,
    timeoutMs: number,
    from = 0,
    what = "an event",
  ): Promise<{ event: AgentEvent; index: number }> {
    return new Promise((resolve, reject) => {
      let i = from;
      const check = () => {
        for (; i < this.events.length; i++) {
          if (pred(this.events[i])) {
            finish();
            resolve({ event: this.events[i], index: i });
            return;
          }
        }
        if (this.#exited) {
          finish();
          reject(new Error(`agent on ${this.host} exited waiting for ${what}\n${this.#stderr}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(
          new Error(
            `${this.host}: no ${what} within ${timeoutMs} ms; events: ${
              JSON.stringify(this.events.slice(from).slice(-20))
            }\n${this.#stderr}`,
          ),
        );
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Kills the agent at once (SIGKILL: a crashed host) and waits for it to end. */
  async kill(): Promise<void> {
    if (!this.#exited) {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
    await this.#writer.close().catch(() => {});
    await this.#done;
  }

  /** Asks the agent to close everything and exit; kills it if it does not within 10 s. */
  async close(): Promise<void> {
    if (!this.#exited) {
      const timer = setTimeout(() => this.#child.kill("SIGKILL"), 10_000);
      await this.call("exit", {}, 10_000).catch(() => {});
      await this.#writer.close().catch(() => {});
      await this.#done;
      clearTimeout(timer);
    } else {
      await this.#writer.close().catch(() => {});
      await this.#done;
    }
  }
}

/** A test network: the namespaces, their links and the agents started in them. */
export class TestNet implements AsyncDisposable {
  /** Namespace of each host. */
  readonly ns: Record<HostName | "br", string>;
  #agents = new Set<Agent>();
  #destroyed = false;

  private constructor(ns: Record<HostName | "br", string>) {
    this.ns = ns;
  }

  /** Creates the namespaces, the bridge and one veth link per host. */
  static async create(): Promise<TestNet> {
    hookExit();
    removeStale();
    const id = `${PREFIX}-${Deno.pid}-${++seq}`;
    const net = new TestNet({
      br: `${id}-br`,
      c: `${id}-c`,
      s1: `${id}-s1`,
      s2: `${id}-s2`,
      s3: `${id}-s3`,
    });
    live.add(net);
    try {
      const br = net.ns.br;
      await ip(["netns", "add", br]);
      await ip(["-n", br, "link", "add", "dev", "br0", "type", "bridge"]);
      await ip(["-n", br, "link", "set", "br0", "up"]);
      for (const h of Object.keys(HOSTS) as HostName[]) {
        const ns = net.ns[h];
        await ip(["netns", "add", ns]);
        // The bridge end keeps the host's name ("vc", "vs1"...); the host end is eth0.
        await ip([
          "-n",
          br,
          "link",
          "add",
          "dev",
          `v${h}`,
          "type",
          "veth",
          "peer",
          "name",
          "eth0",
          "netns",
          ns,
        ]);
        await ip(["-n", br, "link", "set", `v${h}`, "master", "br0", "up"]);
        await ip(["-n", ns, "addr", "add", `${HOSTS[h]}/24`, "dev", "eth0"]);
        await ip(["-n", ns, "link", "set", "lo", "up"]);
        await ip(["-n", ns, "link", "set", "eth0", "up"]);
      }
    } catch (e) {
      net.destroySync();
      throw e;
    }
    return net;
  }

  /**
   * Starts an agent on a host. The environment is empty apart from PATH/HOME and `env`:
   * the EPICS defaults apply unless the test sets a variable.
   */
  async agent(host: HostName, env: Record<string, string> = {}): Promise<Agent> {
    const a = new Agent(host, this.ns[host], env);
    this.#agents.add(a);
    return await a.ready();
  }

  /** Unplugs (down) or plugs back (up) a host's cable at the bridge. */
  async link(host: HostName, state: "up" | "down"): Promise<void> {
    await ip(["-n", this.ns.br, "link", "set", `v${host}`, state]);
  }

  /**
   * Drops all UDP to and from other hosts on `host` (loopback UDP keeps working, for the
   * CA repeater): policy routing sends UDP to a "prohibit" rule before the local table.
   */
  async blockUdp(host: HostName): Promise<void> {
    const ns = this.ns[host];
    await ip(["-n", ns, "rule", "add", "pref", "5", "to", "127.0.0.0/8", "lookup", "local"]);
    await ip(["-n", ns, "rule", "add", "pref", "10", "ipproto", "udp", "prohibit"]);
    await ip(["-n", ns, "rule", "add", "pref", "20", "lookup", "local"]);
    await ip(["-n", ns, "rule", "del", "pref", "0"]);
  }

  /** Stops every agent, then removes every namespace. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#agents].map((a) => a.close()));
    this.destroySync();
  }

  /** Removes the namespaces now (killing what runs in them); for exit paths. */
  destroySync(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    live.delete(this);
    for (const ns of Object.values(this.ns)) {
      if (listNamespaces().includes(ns)) deleteNamespace(ns);
    }
  }

  /** Same as {@link TestNet.close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
