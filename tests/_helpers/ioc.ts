/**
 * An IOC database served in-process over CA and PVA on loopback (port 0), for tests that
 * talk to records with our clients, base's tools or pyepics.
 * @module
 */

import { epicsConfigFrom } from "../../lib/core/env.ts";
import { CaServer } from "../../lib/ca/server/server.ts";
import { PvaServer } from "../../lib/pva/server/server.ts";
import type { IocDatabase, RecordDef } from "../../lib/ioc/database.ts";
import { IocProvider } from "../../lib/ioc/provider.ts";
import { LOOPBACK_ENV } from "./pvserve.ts";

/**
 * A record definition as a .db file would give it.
 * @param type record type
 * @param name record name
 * @param fields field values as text
 * @returns the definition
 */
export function rec(type: string, name: string, fields: Record<string, string> = {}): RecordDef {
  return {
    type,
    name,
    fields: Object.entries(fields).map(([n, v]) => ({ name: n, value: v, file: "t.db", line: 1 })),
    infos: [],
    aliases: [],
    file: "t.db",
    line: 1,
  };
}

/** A served database; disposing it closes the database and both servers. */
export interface ServedIoc extends AsyncDisposable {
  db: IocDatabase;
  ca: CaServer;
  pva: PvaServer;
  /** A CA client configuration that finds only this server. */
  caEnv: Record<string, string>;
  /** A PVA client environment that finds only this server. */
  pvaEnv: Record<string, string>;
}

/**
 * Serves an initialised database over CA and PVA on 127.0.0.1, ports chosen by the system.
 * @param db the database (iocInit already run)
 * @returns the servers and client environments
 */
export async function serveIoc(db: IocDatabase): Promise<ServedIoc> {
  const provider = new IocProvider(db);
  const ca = await CaServer.start({
    provider,
    config: epicsConfigFrom({ ...LOOPBACK_ENV }).cas,
    port: 0,
  });
  let pva: PvaServer;
  try {
    pva = await PvaServer.start({
      provider,
      config: {
        serverPort: 0,
        broadcastPort: 0,
        intfAddrList: ["127.0.0.1"],
        beaconAddrList: [],
        autoBeaconAddrList: false,
        beaconPeriod: 15,
      },
    });
  } catch (e) {
    await ca.close();
    throw e;
  }
  return {
    db,
    ca,
    pva,
    caEnv: { ...LOOPBACK_ENV, EPICS_CA_ADDR_LIST: `127.0.0.1:${ca.udpPort}` },
    pvaEnv: { EPICS_PVA_AUTO_ADDR_LIST: "NO", EPICS_PVA_ADDR_LIST: `127.0.0.1:${pva.udpPort}` },
    async [Symbol.asyncDispose]() {
      db.close();
      await ca.close();
      await pva.close();
    },
  };
}
