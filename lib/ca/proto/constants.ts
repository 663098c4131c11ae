/**
 * Channel Access wire constants, named as the protocol names them.
 * @module
 */

/** CA protocol minor version we speak (EPICS base 3.14.12 and later: 13). */
export const CA_MINOR_VERSION = 13;
/** Default TCP/UDP server port. */
export const CA_SERVER_PORT = 5064;
/** Default repeater/beacon port. */
export const CA_REPEATER_PORT = 5065;
/** Largest DBR_STRING element including its NUL. */
export const MAX_STRING_SIZE = 40;
/** Units field width. */
export const MAX_UNITS_SIZE = 8;
/** Number of enum state strings in GR/CTRL_ENUM. */
export const MAX_ENUM_STATES = 16;
/** Width of one enum state string. */
export const MAX_ENUM_STRING_SIZE = 26;

/** Command codes (the header's first u16). */
export const CaCommand = {
  VERSION: 0,
  EVENT_ADD: 1,
  EVENT_CANCEL: 2,
  READ: 3,
  WRITE: 4,
  SNAPSHOT: 5,
  SEARCH: 6,
  BUILD: 7,
  EVENTS_OFF: 8,
  EVENTS_ON: 9,
  READ_SYNC: 10,
  ERROR: 11,
  CLEAR_CHANNEL: 12,
  RSRV_IS_UP: 13,
  NOT_FOUND: 14,
  READ_NOTIFY: 15,
  READ_BUILD: 16,
  REPEATER_CONFIRM: 17,
  CREATE_CHAN: 18,
  WRITE_NOTIFY: 19,
  CLIENT_NAME: 20,
  HOST_NAME: 21,
  ACCESS_RIGHTS: 22,
  ECHO: 23,
  REPEATER_REGISTER: 24,
  SIGNAL: 25,
  CREATE_CH_FAIL: 26,
  SERVER_DISCONN: 27,
} as const;
/** One command code. */
export type CaCommand = typeof CaCommand[keyof typeof CaCommand];

/** Search reply flags (the SEARCH request's data type field). */
export const SearchReply = { DO_REPLY: 10, DONT_REPLY: 5 } as const;

/** UDP VERSION data type flag: the sequence number in param1 is valid. */
export const SEQUENCE_NO_IS_VALID = 1;

/** Search reply param1 meaning "use the datagram's source address". */
export const SEARCH_REPLY_USE_SOURCE = 0xffffffff;

/** Access-rights bits (ACCESS_RIGHTS param2). */
export const AccessRight = { READ: 1, WRITE: 2 } as const;

/** Monitor event mask bits (EVENT_ADD payload offset 12). */
export const Dbe = { VALUE: 1, LOG: 2, ARCHIVE: 2, ALARM: 4, PROPERTY: 8 } as const;

/** DBR type codes 0..38. DBR_INT is an alias of DBR_SHORT. */
export const Dbr = {
  STRING: 0,
  SHORT: 1,
  INT: 1,
  FLOAT: 2,
  ENUM: 3,
  CHAR: 4,
  LONG: 5,
  DOUBLE: 6,
  STS_STRING: 7,
  STS_SHORT: 8,
  STS_INT: 8,
  STS_FLOAT: 9,
  STS_ENUM: 10,
  STS_CHAR: 11,
  STS_LONG: 12,
  STS_DOUBLE: 13,
  TIME_STRING: 14,
  TIME_SHORT: 15,
  TIME_INT: 15,
  TIME_FLOAT: 16,
  TIME_ENUM: 17,
  TIME_CHAR: 18,
  TIME_LONG: 19,
  TIME_DOUBLE: 20,
  GR_STRING: 21,
  GR_SHORT: 22,
  GR_INT: 22,
  GR_FLOAT: 23,
  GR_ENUM: 24,
  GR_CHAR: 25,
  GR_LONG: 26,
  GR_DOUBLE: 27,
  CTRL_STRING: 28,
  CTRL_SHORT: 29,
  CTRL_INT: 29,
  CTRL_FLOAT: 30,
  CTRL_ENUM: 31,
  CTRL_CHAR: 32,
  CTRL_LONG: 33,
  CTRL_DOUBLE: 34,
  PUT_ACKT: 35,
  PUT_ACKS: 36,
  STSACK_STRING: 37,
  CLASS_NAME: 38,
} as const;
/** One DBR type code. */
export type Dbr = typeof Dbr[keyof typeof Dbr];

/** Highest valid DBR type code. */
export const LAST_BUFFER_TYPE = 38;

/** The seven value types (DBF_* field types as CA sees them). */
export type DbrValueType = 0 | 1 | 2 | 3 | 4 | 5 | 6;

/** DBF names by value type, as cainfo and caget -d print them. */
export const DBF_NAMES: readonly string[] = [
  "DBF_STRING",
  "DBF_SHORT",
  "DBF_FLOAT",
  "DBF_ENUM",
  "DBF_CHAR",
  "DBF_LONG",
  "DBF_DOUBLE",
];

/** ECA status codes as sent on the wire: (message number << 3) | severity. */
export const Eca = {
  NORMAL: 1,
  MAXIOC: 10,
  UKNHOST: 18,
  UKNSERV: 26,
  SOCK: 34,
  CONN: 40,
  ALLOCMEM: 48,
  UKNCHAN: 56,
  UKNFIELD: 64,
  TOLARGE: 72,
  TIMEOUT: 80,
  NOSUPPORT: 88,
  STRTOBIG: 96,
  DISCONNCHID: 106,
  BADTYPE: 114,
  CHIDNOTFND: 123,
  CHIDRETRY: 131,
  INTERNAL: 142,
  DBLCLFAIL: 144,
  GETFAIL: 152,
  PUTFAIL: 160,
  ADDFAIL: 168,
  BADCOUNT: 176,
  BADSTR: 186,
  DISCONN: 192,
  DBLCHNL: 200,
  EVDISALLOW: 210,
  BUILDGET: 216,
  NEEDSFP: 224,
  OVEVFAIL: 232,
  BADMONID: 242,
  NEWADDR: 248,
  NEWCONN: 259,
  NOCACTX: 264,
  DEFUNCT: 278,
  EMPTYSTR: 280,
  NOREPEATER: 288,
  NOCHANMSG: 296,
  DLCKREST: 304,
  SERVBEHIND: 312,
  NOCAST: 320,
  BADMASK: 330,
  IODONE: 339,
  IOINPROGRESS: 347,
  BADSYNCGRP: 354,
  PUTCBINPROG: 362,
  NORDACCESS: 368,
  NOWTACCESS: 376,
  ANACHRONISM: 386,
  NOSEARCHADDR: 392,
  NOCONVERT: 400,
  BADCHID: 410,
  BADFUNCPTR: 418,
  ISATTACHED: 424,
  UNAVAILINSERV: 432,
  CHANDESTROY: 440,
  BADPRIORITY: 450,
  NOTTHREADED: 458,
  "16KARRAYCLIENT": 464,
  CONNSEQTMO: 472,
  UNRESPTMO: 480,
} as const;
/** One ECA status code. */
export type Eca = typeof Eca[keyof typeof Eca];

/**
 * True when an ECA code reports success (low bit set).
 * @param code the ECA status code
 * @returns whether it is a success code
 * @example
 * ```ts
 * import { Eca, ecaSuccess } from "./mod.ts";
 * if (!ecaSuccess(Eca.NORMAL) || ecaSuccess(Eca.PUTFAIL)) throw new Error();
 * ```
 */
export function ecaSuccess(code: number): boolean {
  return (code & 1) === 1;
}
