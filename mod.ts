/**
 * epics-ts: EPICS Channel Access and PV Access in pure TypeScript for Deno.
 *
 * Host PVs from a script:
 *
 * ```ts ignore
 * import { serve, SharedPV } from "./mod.ts";
 * const temp = new SharedPV("lab:temp", { type: "float64", value: 21.5, units: "C", precision: 2 });
 * await using server = await serve({ pvs: [temp] });
 * setInterval(() => temp.post(20 + Math.random()), 1000);
 * ```
 * @module
 */
export * from "./lib/core/mod.ts";
export { PvMap, SharedPV } from "./lib/pv/mod.ts";
export type {
  AlarmLimits,
  PostOptions,
  PutContext,
  PutHandler,
  PvProvider,
  PvSnapshot,
  PvValue,
  ScalarType,
  ServedPv,
  SharedPVOptions,
} from "./lib/pv/mod.ts";
export { serve } from "./lib/host/serve.ts";
export { FrameGenerator, ImageGen } from "./lib/imagegen/mod.ts";
export type { FrameParams, ImageGenOptions, ImageGenStats } from "./lib/imagegen/mod.ts";
export type { Served, ServeOptions } from "./lib/host/serve.ts";
export {
  checkDefinitions,
  createPvs,
  EPICS_TS_VERSION,
  Host,
  parseDefinitionsYaml,
  PvDefinitionError,
  SERVER_STATES,
  withPutLog,
} from "./lib/host/mod.ts";
export type {
  ColumnDefinition,
  DefinitionProblem,
  DeviceModule,
  HelperPeriods,
  HostOptions,
  PutLogEntry,
  PvDefinition,
  Setter,
  ValueAlarmDefinition,
} from "./lib/host/mod.ts";
export { CaServer, startCaServer } from "./lib/ca/server/server.ts";
export { PvaServer, startPvaServer } from "./lib/pva/server/server.ts";
export type { PvaServerOptions } from "./lib/pva/server/server.ts";
export type { CaServerOptions } from "./lib/ca/server/server.ts";
export {
  CaChannel,
  CaContext,
  caget,
  cainfo,
  camonitor,
  camonitorClear,
  caput,
  closeDefaultContext,
  configureDefaultContext,
  getPV,
  PV,
} from "./lib/ca/client/mod.ts";
export type {
  CaContextOptions,
  ChannelData,
  ChannelState,
  MonitorUpdate,
  PvUpdate,
} from "./lib/ca/client/mod.ts";
export {
  ntUri,
  plainObject,
  PvaClient,
  pvget,
  pvinfo,
  pvmonitor,
  pvput,
  pvrpc,
} from "./lib/pva/client/mod.ts";
export type {
  MonitorEvent as PvaMonitorEvent,
  MonitorOptions as PvaMonitorOptions,
  OpOptions as PvaOpOptions,
  PvaCallOptions,
  PvaClientOptions,
  PvInfo,
  Subscription as PvaSubscription,
} from "./lib/pva/client/mod.ts";
export { IocDatabase, IocInitError, IocProvider } from "./lib/ioc/mod.ts";
export type { DeviceSupport, IocRecord, RecordDef } from "./lib/ioc/mod.ts";
export {
  checkSav,
  formatSav,
  parseSav,
  readSavFile,
  SavFormatError,
  SavReadError,
  SavWriteError,
  writeSavFile,
} from "./lib/autosave/mod.ts";
export type { SavDocument, SavEntry, SavKind, SavRecord, SavValue } from "./lib/autosave/mod.ts";
/** tsdev: `iointr(name, value)` for device modules (a no-op outside a softioc). */
export { iointr } from "./lib/ioc/tsdev/iointr.ts";
