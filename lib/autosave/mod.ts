/**
 * synApps-compatible autosave: `.req` request files, `.sav` save files, safe file writes,
 * the other formats users have (epicsdev JSON, pyepics autosave, caproto autosave.json), and
 * save sets that keep running (periodic, on change, triggered).
 *
 * ```ts ignore
 * import { formatSav, parseSav, writeSavFile, readSavFile } from "./mod.ts";
 * const text = formatSav([
 *   { name: "x:ao.VAL", kind: "double", value: 4.5 },
 *   { name: "x:mbbo.VAL", kind: "enum", value: 2 },
 * ], { date: new Date() });
 * await writeSavFile("x.sav", text);           // x.sav, previous good one kept as x.savB
 * const { doc, fallback } = await readSavFile("x.sav");
 * ```
 * @module
 */
export {
  checkSav,
  formatSav,
  formatSavDate,
  formatSavValue,
  LONG_STRING_MAX,
  NOT_CONNECTED,
  parseSav,
  SAV_VERSION,
  SavFormatError,
  savHeader,
  savKindOf,
} from "./sav.ts";
export type {
  FormatSavOptions,
  SavCheck,
  SavDocument,
  SavEntry,
  SavKind,
  SavRecord,
  SavValue,
} from "./sav.ts";
export { escapeValue, formatG, unescapeValue } from "./text.ts";
export { parseIncludeLine, parseReq, ReqFileError } from "./req.ts";
export type { ParseReqOptions, ReqEntry, ReqSet } from "./req.ts";
export { detectSaveFormat, formatJsonSave, parseAnySave, parseJsonSave } from "./formats.ts";
export type { SaveFormat } from "./formats.ts";
export {
  atomicWriteFile,
  loadReqFile,
  readSavFile,
  SavReadError,
  SavWriteError,
  writeSavFile,
} from "./files.ts";
export type { ReadSavResult, WriteSavOptions, WriteSavResult } from "./files.ts";
export { diffValues, sameValue } from "./compare.ts";
export type { Difference } from "./compare.ts";
export { CaSource, PvaSource } from "./pv_source.ts";
export type { PvSource, ReadOutcome, WriteOutcome } from "./pv_source.ts";
export { saveOnce, SaveSet } from "./save_set.ts";
export type { SaveReport, SaveSetOptions, SaveTrigger } from "./save_set.ts";
