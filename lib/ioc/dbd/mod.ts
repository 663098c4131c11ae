/**
 * EPICS base 7.0.8.1's record-type facts: fields, menus and soft device supports.
 * @module
 */

export { COMMON_FIELDS, DEVICES, MENUS, RECORD_FIELDS } from "./_tables.ts";
export type { DbdField, DbfType, DeviceDef, MenuDef } from "./types.ts";
