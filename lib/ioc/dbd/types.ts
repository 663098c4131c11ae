/**
 * The shapes of the record-type facts taken from EPICS base's .dbd files.
 * @module
 */

/** DBF field types, as the .dbd files name them without the `DBF_` prefix. */
export type DbfType =
  | "STRING"
  | "CHAR"
  | "UCHAR"
  | "SHORT"
  | "USHORT"
  | "LONG"
  | "ULONG"
  | "INT64"
  | "UINT64"
  | "FLOAT"
  | "DOUBLE"
  | "ENUM"
  | "MENU"
  | "DEVICE"
  | "INLINK"
  | "OUTLINK"
  | "FWDLINK"
  | "NOACCESS";

/** One field of a record type as its .dbd `field(NAME, DBF_x) {...}` declares it. */
export interface DbdField {
  /** Field name (VAL, HIHI, ...). */
  readonly name: string;
  /** DBF type without the prefix. */
  readonly type: DbfType;
  /** GUI prompt group ("40 - Input"). */
  readonly group?: string;
  /** Initial value text, as in `initial("...")`. */
  readonly initial?: string;
  /** Special handling (SPC_NOMOD, SPC_MOD, SPC_SCAN, SPC_CALC, ...). */
  readonly special?: string;
  /** The menu of a DBF_MENU field. */
  readonly menu?: string;
  /** Size of a DBF_STRING field, including the terminating NUL. */
  readonly size?: number;
  /** Access security level: 0 for ASL0 fields (1 otherwise). */
  readonly asl?: number;
  /** Interest level (dbpr shows fields up to the level asked). */
  readonly interest?: number;
  /** Whether a put to the field processes a passive record (`pp(TRUE)`). */
  readonly pp?: boolean;
  /** Display base of an integer field: "HEX" for fields dbpr shows in hexadecimal. */
  readonly base?: string;
  /** Whether a change of the field is a property change (`prop(YES)`, DBE_PROPERTY). */
  readonly prop?: boolean;
}

/** A menu: its choices as [C name, string] pairs, in index order. */
export type MenuDef = readonly (readonly [string, string])[];

/** A device support line of devSoft.dbd: [DTYP choice, link type, dset name]. */
export type DeviceDef = readonly [string, string, string];
