/**
 * A soft IOC in TypeScript: EPICS base's record types, one processing engine, device
 * supports chosen by DTYP, and a PvProvider that serves records over CA and PVA at once.
 * @module
 */

export {
  type AccessCheck,
  type AliasDef,
  DbDefinitionError,
  type InitHooks,
  IocDatabase,
  type IocDatabaseOptions,
  IocInitError,
  type RecordDef,
  type RecordFieldDef,
  type RemoteLink,
  type RemoteLinkFactory,
  type Writer,
} from "./database.ts";
export { DeviceRegistry, SOFT_DEVICES } from "./devices.ts";
export { type LinkSpec, parseLink } from "./links.ts";
export { FieldChannel, IocProvider } from "./provider.ts";
export {
  type FieldSpec,
  type FieldValue,
  recordType,
  type RecordTypeInfo,
  recordTypeNames,
} from "./record_type.ts";
export type {
  ArrayShape,
  DeviceSupport,
  IocRecord,
  LinkRead,
  RecordIo,
  RecordSupport,
  Subroutine,
  ValueMeta,
  ValuePosting,
} from "./types.ts";
