/**
 * A Channel Access client script: prints every update of the PVs named on the command
 * line, with the value as text, until Ctrl-C.
 *
 *   deno run -A examples/watch_pvs.ts demo:count demo:temperature
 * @module
 */

import { camonitor, closeDefaultContext } from "../mod.ts";

const names = Deno.args.length ? Deno.args : ["demo:count"];
const stops = names.map((name) =>
  camonitor(name, (u) => {
    const when = u.timestamp === undefined ? "" : new Date(u.timestamp * 1000).toISOString();
    console.log(`${u.pvname} ${when} ${u.charValue}`);
  })
);

await new Promise<void>((resolve) => Deno.addSignalListener("SIGINT", resolve));
for (const stop of stops) stop();
await closeDefaultContext();
