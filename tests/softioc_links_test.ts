/**
 * JSON links, dbState, dbjlr, dbcar and casr through the softioc shell, compared with the
 * output EPICS base 7.0.8.1's softIoc gave for the same database and commands (recorded in
 * tests/fixtures/ioc/jlinks.expected), and side by side with softIoc when it is on PATH.
 *
 * Normalised in both: C pointers (lnkDebug's trace and dbStateShow print addresses) become
 * ADDR, this machine's host name HOST, ports PORT; the version banner is left out.
 * @module
 */

import assert from "node:assert/strict";
import { epicsConfigFrom } from "../lib/core/env.ts";
import { CaContext } from "../lib/ca/client/context.ts";
import { findTool } from "./_pva_server_tools.ts";
import { freePort, LOOPBACK_ENV, REPO_ROOT } from "./_helpers/pvserve.ts";
import { iocEnv, shellRun, SOFTIOC_CMD } from "./_helpers/softioc.ts";
import { startTestRepeater } from "./_helpers/ca_repeater.ts";

const SOFTIOC = findTool("softIoc", []);
const FIXTURES = `${REPO_ROOT}/tests/fixtures/ioc`;
const OURS = SOFTIOC_CMD;
const HOST = (() => {
  try {
    return Deno.hostname();
  } catch {
    return "localhost";
  }
})();

function normalise(text: string): string {
  return text
    .replace(/^#{20,}\n(##.*\n)+#{20,}\n/m, "")
    .replace(/0x[0-9a-f]{4,}|\(nil\)/g, "ADDR")
    .replaceAll(` host ${HOST},`, " host HOST,")
    .replaceAll(`'${HOST}'`, "'HOST'")
    .replace(/(127\.0\.0\.1|0\.0\.0\.0):\d+/g, "$1:PORT");
}

/** Runs an IOC on jlinks.db with commands on stdin; returns its stdout. */
function shellRunJlinks(cmd: readonly string[], commands: string): Promise<string> {
  return shellRun(cmd, commands, FIXTURES, "jlinks.db");
}

const COMMANDS = Deno.readTextFileSync(`${FIXTURES}/jlinks.cmd`);
const EXPECTED = Deno.readTextFileSync(`${FIXTURES}/jlinks.expected`);

Deno.test("softioc: JSON links, dbState, dbjlr, dbcar and casr print what base's softIoc printed", async () => {
  const ours = normalise(await shellRunJlinks(OURS, COMMANDS));
  assert.equal(ours, normalise(EXPECTED));
});

Deno.test({
  name: `softioc: JSON links and dbjlr/dbcar/casr side by side with softIoc${
    SOFTIOC ? "" : " (ignored: softIoc not on PATH)"
  }`,
  ignore: !SOFTIOC,
  async fn() {
    const [base, ours] = await Promise.all([
      shellRunJlinks([SOFTIOC!], COMMANDS),
      shellRunJlinks(OURS, COMMANDS),
    ]);
    assert.equal(normalise(ours), normalise(base));
  },
});

/** An IOC kept running, its shell fed a line at a time, with a CA client connected. */
async function casrWithClient(cmd: readonly string[]): Promise<string> {
  await using rep = startTestRepeater();
  const port = freePort([rep.port]);
  const env = iocEnv(port, rep.port, FIXTURES);
  const child = new Deno.Command(cmd[0], {
    args: [...cmd.slice(1), "-d", "jlinks.db"],
    cwd: FIXTURES,
    env,
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const w = child.stdin.getWriter();
  const reader = child.stdout.getReader();
  const dec = new TextDecoder();
  let text = "";
  const readUntil = async (marker: RegExp) => {
    const deadline = Date.now() + 30_000;
    while (!marker.test(text)) {
      const r = await reader.read();
      if (r.done || Date.now() > deadline) throw new Error(`IOC output stopped:\n${text}`);
      text += dec.decode(r.value, { stream: true });
    }
  };
  try {
    await readUntil(/#{20,}\n(##.*\n)+#{20,}\n/);
    await using ctx = new CaContext({
      config: epicsConfigFrom({ ...LOOPBACK_ENV, EPICS_CA_ADDR_LIST: `127.0.0.1:${port}` }).ca,
      user: "casr-user",
      host: "casr-host",
      repeater: false,
    });
    const a = ctx.channel("jl:calc");
    const b = ctx.channel("jl:state.VAL");
    await a.connected(10);
    await b.connected(10);
    const start = text.length;
    // `dbl longin` prints "jl:const": the end of what the casr commands printed.
    await w.write(new TextEncoder().encode("casr\ncasr 1\ncasr 2\ncasr 3\ncasr 4\ndbl longin\n"));
    await readUntil(/epics> dbl longin\njl:const\n/);
    // From the first command on (base prints its prompt before reading a line, we with it).
    const got = text.slice(start).replace(/(epics> )?dbl longin\njl:const\n/, "");
    return "epics> " + got.slice(got.indexOf("casr\n")).replace(/epics> $/, "");
  } finally {
    await w.write(new TextEncoder().encode("exit\n")).catch(() => {});
    await w.close().catch(() => {});
    await reader.cancel().catch(() => {});
    await child.status;
  }
}

const CASR_EXPECTED = `epics> casr
Channel Access Server V4.13
1 client connected.
epics> casr 1
Channel Access Server V4.13
1 client connected:
    TCP client at 127.0.0.1:PORT 'casr-host':
\tUser 'casr-user', V4.13, Priority = 0, 2 Channels
CAS-TCP server on 127.0.0.1:PORT with
    CAS-UDP unicast name server on 127.0.0.1:PORT
Sending CAS-beacons to 1 address:
    127.0.0.1:PORT
epics> casr 2
Channel Access Server V4.13
1 client connected:
    TCP client at 127.0.0.1:PORT 'casr-host':
\tUser 'casr-user', V4.13, Priority = 0, 2 Channels
        Channel: 'jl:calc'
        Channel: 'jl:state.VAL'
CAS-TCP server on 127.0.0.1:PORT with
    CAS-UDP unicast name server on 127.0.0.1:PORT
\tLast name requested by 127.0.0.1:PORT:
\tUser '', V4.13, Priority = 0, 0 Channels
Sending CAS-beacons to 1 address:
    127.0.0.1:PORT
epics> casr 3
Channel Access Server V4.13
1 client connected:
    TCP client at 127.0.0.1:PORT 'casr-host':
\tUser 'casr-user', V4.13, Priority = 0, 2 Channels
        Channel: 'jl:calc'
            field_type=DBF_DOUBLE (8 bytes), dbr_type=DBF_DOUBLE, 1 element, no filters
            # on eventq=0, access=rw
        Channel: 'jl:state.VAL'
            field_type=DBF_ENUM (2 bytes), dbr_type=DBF_ENUM, 1 element, no filters
            # on eventq=0, access=rw
CAS-TCP server on 127.0.0.1:PORT with
    CAS-UDP unicast name server on 127.0.0.1:PORT
\tLast name requested by 127.0.0.1:PORT:
\tUser '', V4.13, Priority = 0, 0 Channels
Sending CAS-beacons to 1 address:
    127.0.0.1:PORT
epics> casr 4
Channel Access Server V4.13
1 client connected:
    TCP client at 127.0.0.1:PORT 'casr-host':
\tUser 'casr-user', V4.13, Priority = 0, 2 Channels
\tN secs since last send, N secs since last receive
\tUnprocessed request bytes = 0, Undelivered response bytes = 0
\tState = up
        Channel: 'jl:calc'
            field_type=DBF_DOUBLE (8 bytes), dbr_type=DBF_DOUBLE, 1 element, no filters
            # on eventq=0, access=rw
        Channel: 'jl:state.VAL'
            field_type=DBF_ENUM (2 bytes), dbr_type=DBF_ENUM, 1 element, no filters
            # on eventq=0, access=rw
CAS-TCP server on 127.0.0.1:PORT with
    CAS-UDP unicast name server on 127.0.0.1:PORT
\tLast name requested by 127.0.0.1:PORT:
\tUser '', V4.13, Priority = 0, 0 Channels
Sending CAS-beacons to 1 address:
    127.0.0.1:PORT
`;

/** Seconds since a client's last send and receive vary from run to run. */
function normaliseTimes(text: string): string {
  return text.replace(
    /\t[\d.]+ secs since last send, [\d.]+ secs since last receive/g,
    (_m) => "\tN secs since last send, N secs since last receive",
  );
}

/**
 * What RSRV's casr 4 prints of its C implementation, which our server does not have: the
 * client's thread and socket descriptor, the free lists and the resource id hash table.
 */
function foldLevel4(text: string): string {
  return text
    .replace(/\tTask Id = \S+, Socket FD = \d+\n/g, "")
    .replace(/Free-lists total [^]*?Bucket entries\/hash id[^\n]*\n/g, "");
}

/**
 * RSRV binds a unicast and a broadcast UDP socket per interface; our server binds only the
 * unicast one (see lib/ioc/casr.ts), so base's broadcast line is dropped. On loopback both
 * of base's sockets share 127.0.0.1:PORT and either may get the client's search: the
 * report of the one that got it is kept under the unicast line.
 */
function foldUdp(text: string): string {
  return text.replace(
    /( {4}CAS-UDP unicast name server on \S+\n)((?:\t.*\n)*) {4}CAS-UDP broadcast name server on \S+\n((?:\t.*\n)*)/g,
    (_m, line: string, uni: string, bcast: string) => {
      const got = /127\.0\.0\.1:PORT/.test(uni) ? uni : bcast;
      return `${line}${got}`;
    },
  );
}

Deno.test("casr 0..4 with a CA client connected, in RSRV's wording", async () => {
  assert.equal(normaliseTimes(normalise(await casrWithClient(OURS))), CASR_EXPECTED);
});

Deno.test({
  name: `casr 0..4 side by side with softIoc${SOFTIOC ? "" : " (ignored: softIoc not on PATH)"}`,
  ignore: !SOFTIOC,
  async fn() {
    const base = normaliseTimes(foldLevel4(foldUdp(normalise(await casrWithClient([SOFTIOC!])))));
    assert.equal(base, CASR_EXPECTED);
  },
});
