/**
 * The IOC shell (iocsh): st.cmd commands over a database, printing what EPICS base's
 * commands print (dbl, dbpr, dbgf, dbpf, dbtr, dbcar, scanppl, epicsEnvShow...). File
 * reading and output are injected; only cli/softioc.ts touches the terminal and files.
 * @module
 */

import { textToChars, utf8Decode, utf8Encode } from "../core/bytes.ts";
import { expandMacros, macroMap } from "../core/macros.ts";
import { epicsTimeToMillis } from "../core/time.ts";
import { type IocDatabase, IocInitError } from "./database.ts";
import { cvtDoubleToString, DBF_OF_SCALAR } from "./fields.ts";
import { realText } from "./real_text.ts";
import { nanText } from "./_c_number.ts";
import { constLinkReport } from "./json_link.ts";
import { loadConstantText } from "./const_link.ts";
import { castDouble } from "./_cast.ts";
import { fieldMeta } from "./provider.ts";
import { type FieldSpec, recordType, recordTypeNames } from "./record_type.ts";
import type { IocRecord } from "./types.ts";
import { type NoAccessFacts, noAccessText } from "./_noaccess_text.ts";
import { postfixBuffer } from "./records.ts";
import { parseDatabase, parseShellLine, parseSubstitutions } from "./_parse.ts";

/** What the shell needs from its host. */
export interface ShellHost {
  /** Reads a file (undefined when it cannot be read). */
  readFile(path: string): string | undefined;
  /** Writes to standard output. */
  out(text: string): void;
  /** Writes to standard error. */
  err(text: string): void;
  /** Environment variables (epicsEnvSet writes here). */
  env: Map<string, string>;
  /** Called by iocInit after the database is initialised (starts the servers). */
  afterInit?(): Promise<void>;
  /** Called by iocInit before records are initialised (autosave's pass 0). */
  beforeInit?(): void;
  /** Called by iocInit after init_record, before scans and PINI (autosave's pass 1). */
  afterRecordInit?(): void;
  /** casr's report of the CA server at a level. */
  casr?(level: number): string;
  /** Changes the working directory (cd); false when it cannot. */
  chdir?(path: string): boolean;
  /** The working directory (pwd). */
  cwd?(): string;
}

/** A command added to the shell (e.g. tsdev's): gets its arguments and where it was run. */
export type ShellCommand = (
  args: string[],
  where: { readonly file: string; readonly line: number },
) => void | Promise<void>;

/** What `help name` shows of a command: its arguments and a few lines on what it does. */
export interface CommandUsage {
  /** The arguments as iocsh names them, e.g. `'record name' 'interest level'`. */
  args: string;
  /** What the command does. */
  about: string;
}

/** The built-in commands and their usage. */
const BUILTIN_USAGE: Readonly<Record<string, CommandUsage>> = {
  "<": { args: "'script file'", about: "Runs the commands of a script file, echoing each line." },
  casr: {
    args: "'level'",
    about: "Channel Access server report: 0 a summary, 1 each client circuit, 2 their channels.",
  },
  dbLoadRecords: {
    args: "'file name' 'macro substitutions'",
    about: 'Loads record definitions from a .db file, with macros such as "P=a:,R=b".',
  },
  dbLoadTemplate: {
    args: "'file name' 'macro substitutions'",
    about: "Loads the .db templates named by a substitutions file, once per set of values.",
  },
  cd: { args: "'directory name'", about: "Changes the working directory." },
  date: {
    args: "'format'",
    about: "Prints the date and time, as strftime with %0nf for fractions of a second " +
      "(default '%Y/%m/%d %H:%M:%S.%06f').",
  },
  dbLoadDatabase: {
    args: "'file name' 'path' 'substitutions'",
    about: "Loads a .db file as dbLoadRecords does; a 'path' (':'-separated directories) " +
      "is where a file name without a directory is looked for (only there); a .dbd file (dbd/softIoc.dbd) is read " +
      "and accepted, as the record types and device supports are built in.",
  },
  dbStateClear: { args: "'name'", about: "Clears the named dbState flag." },
  dbStateCreate: { args: "'name'", about: "Creates a dbState flag for state links." },
  dbStateSet: { args: "'name'", about: "Sets the named dbState flag." },
  dbStateShow: { args: "'name' 'level'", about: "Shows the value of a dbState flag." },
  dbStateShowAll: { args: "'level'", about: "Shows every dbState flag." },
  dbcar: {
    args: "'record name' 'level'",
    about: "Channel Access link report: counts of CA links (level 0), or each link (1, 2).",
  },
  dbgrep: { args: "'record name'", about: "Lists the record names matching a pattern (* and ?)." },
  dbla: { args: "'pattern'", about: "Lists the aliases (matching a pattern) and their records." },
  dbsr: {
    args: "'interest level'",
    about: "Server report: the state of the server layer and casr's report of the CA server.",
  },
  dbgf: {
    args: "'record name'",
    about: "Prints the value of a field, REC.FIELD (VAL when no field is given).",
  },
  dbjlr: { args: "'record name' 'level'", about: "Reports the JSON links of records." },
  dbl: {
    args: "'record type' fields",
    about: "Lists record names, of one type when given, with the values of the listed fields.",
  },
  dbnr: {
    args: "'verbose'",
    about: "Counts records and aliases of each type; verbose lists the types with none too.",
  },
  dbior: {
    args: "'driver name' 'interest level'",
    about: "Driver report: the drivers' reports (none are registered: prints nothing, as " +
      "base's softIoc).",
  },
  dbpf: {
    args: "'record name' value",
    about: "Writes a value to a field (REC.FIELD) and prints the field afterwards.",
  },
  dbpr: {
    args: "'record name' 'interest level'",
    about: "Prints the fields of a record: level 0 those processing changes, up to 4 for all.",
  },
  dbtgf: {
    args: "'record name'",
    about: "Prints a field (REC.FIELD, VAL when none) read with every option, then as each " +
      "DBR type, as base's dbtgf prints them.",
  },
  dbhcr: {
    args: "",
    about: "Hardware configuration report: one line for each record whose device link " +
      "(INP or OUT) is an INST_IO link, with its DTYP and LINEAR conversion.",
  },
  dbstat: {
    args: "",
    about: "Lists records stopped at breakpoints: breakpoints are not supported, so none.",
  },
  dbtr: { args: "'record name'", about: "Processes a record once and prints its fields." },
  epicsEnvSet: { args: "name value", about: "Sets an environment variable (also for $(name))." },
  echo: { args: "'string'", about: "Prints its argument, with C escapes such as \\t translated." },
  epicsEnvUnset: { args: "name", about: "Removes an environment variable." },
  epicsThreadSleep: { args: "'seconds'", about: "Waits so many seconds before the next line." },
  epicsEnvShow: {
    args: "[name]",
    about: "Prints the environment variables whose names match a pattern (* and ?), or all.",
  },
  exit: { args: "", about: "Leaves the shell and stops the IOC." },
  help: {
    args: "[command ...]",
    about: "Lists the commands, or shows how to call those matching the patterns (* and ?).",
  },
  iocInit: { args: "", about: "Initialises the loaded records and starts serving them." },
  iocLogInit: {
    args: "",
    about: "Starts forwarding messages to an IOC log server: not supported, says so.",
  },
  pwd: { args: "", about: "Prints the working directory." },
  postEvent: { args: "'event name'", about: "Posts a database event (SCAN Event records)." },
  scanpel: {
    args: "'event name'",
    about: "Lists the event lists (names matching a pattern), newest first, with their " +
      "records by priority.",
  },
  scanppl: { args: "'rate'", about: "Lists the records of each periodic scan rate." },
};

/** A glob pattern (`*`, `?`) as an anchored regular expression. */
function globRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(
    /\?/g,
    ".",
  );
  return new RegExp(`^${body}$`);
}

const MAXLINE = 80;

/** Lays messages out in columns as base's dbpr/dbgf do (tab stops of 10 or 20, 80-column lines). */
class TabBuffer {
  #line = "";
  #lines: string[] = [];
  constructor(readonly tab: number) {}
  add(msg: string): void {
    let m = msg.length > MAXLINE ? msg.slice(0, MAXLINE) : msg;
    if (this.#line.length + m.length > MAXLINE) this.flush();
    this.#line += m;
    const next = (Math.floor(this.#line.length / this.tab) + 1) * this.tab;
    m = " ".repeat(Math.max(0, Math.min(next, MAXLINE) - this.#line.length));
    this.#line += m;
  }
  flush(): void {
    if (this.#line !== "") this.#lines.push(this.#line);
    this.#line = "";
  }
  text(): string {
    this.flush();
    return this.#lines.map((l) => l + "\n").join("");
  }
}

const DBR_NAME: Record<string, string> = {
  STRING: "STRING",
  CHAR: "CHAR",
  UCHAR: "UCHAR",
  SHORT: "SHORT",
  USHORT: "USHORT",
  LONG: "LONG",
  ULONG: "ULONG",
  INT64: "INT64",
  UINT64: "UINT64",
  FLOAT: "FLOAT",
  DOUBLE: "DOUBLE",
  ENUM: "ENUM",
  MENU: "ENUM",
  DEVICE: "ENUM",
  INLINK: "STRING",
  OUTLINK: "STRING",
  FWDLINK: "STRING",
};

const ESCAPES: Readonly<Record<number, string>> = {
  0x07: "\\a",
  0x08: "\\b",
  0x0c: "\\f",
  0x0a: "\\n",
  0x0d: "\\r",
  0x09: "\\t",
  0x0b: "\\v",
  0x5c: "\\\\",
  0x27: "\\'",
  0x22: '\\"',
  0x00: "\\0",
};

/**
 * Bytes as epicsStrnEscapedFromRaw writes them: C escapes, printable ASCII as it is, any
 * other byte as `\xNN`; at most `max` characters (the rest is cut, mid-escape too).
 */
function escapeRaw(bytes: Uint8Array, max = Infinity): string {
  let out = "";
  for (const b of bytes) {
    out += ESCAPES[b] ??
      (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, "0")}`);
    if (out.length >= max) return out.slice(0, max);
  }
  return out;
}

/** The length of {@link escapeRaw}'s text of `bytes`, uncut. */
function escapedSize(bytes: Uint8Array): number {
  let n = 0;
  for (const b of bytes) n += ESCAPES[b] ? 2 : b >= 0x20 && b < 0x7f ? 1 : 4;
  return n;
}

/** Bytes of each DBR element, for the 800-byte buffer dbgf reads into. */
const DBR_SIZE: Readonly<Record<string, number>> = {
  STRING: 40,
  CHAR: 1,
  UCHAR: 1,
  SHORT: 2,
  USHORT: 2,
  LONG: 4,
  ULONG: 4,
  INT64: 8,
  UINT64: 8,
  FLOAT: 4,
  DOUBLE: 8,
  ENUM: 2,
};
/** dbgf's buffer (`long buffer[100]` on a 64-bit host): a longer array is cut to fit it. */
const DBGF_BYTES = 800;

function pad2(n: number): string {
  return String(n).padStart(2, "0");
}

/** TIME as dbpr shows it: local "%Y-%m-%d %H:%M:%S.%09f"; a zero time is "<undefined>". */
function timeText(rec: IocRecord): string {
  // epicsTimeToStrftime prints a never-set time stamp so.
  if (rec.time.secPastEpoch === 0 && rec.time.nsec === 0) return "<undefined>";
  const ms = epicsTimeToMillis(rec.time);
  const d = new Date(Math.floor(ms / 1000) * 1000);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}.` +
    String(rec.time.nsec).padStart(9, "0");
}

function hex(v: number, bits: number): string {
  const m = bits === 32 ? v >>> 0 : v & ((1 << bits) - 1);
  return m.toString(16);
}

/** The IOC shell. */
export class IocShell {
  readonly #db: IocDatabase;
  readonly #host: ShellHost;
  #exited = false;
  #depth = 0;
  #initFailed = false;
  #extra = new Map<string, ShellCommand>();
  #usage = new Map<string, CommandUsage>();
  #where = { file: "<stdin>", line: 1 };

  /** Creates a shell over a database. */
  constructor(db: IocDatabase, host: ShellHost) {
    this.#db = db;
    this.#host = host;
  }

  /**
   * Adds a command (a later one with the same name replaces it; built-ins win).
   * @param name the command name
   * @param command what it runs
   * @param usage its arguments and what it does, for `help name`
   */
  register(name: string, command: ShellCommand, usage?: CommandUsage): void {
    this.#extra.set(name, command);
    if (usage) this.#usage.set(name, usage);
    else this.#usage.delete(name);
  }

  /** Whether `exit` was run. */
  get exited(): boolean {
    return this.#exited;
  }

  #env(name: string): string | undefined {
    return this.#host.env.get(name);
  }

  /**
   * How iocsh echoes a script line before running it: with the macros expanded (comments
   * as written; a line with an undefined macro as written, its error follows).
   * @param line the script line
   * @returns the text to echo, without a newline
   */
  echoText(line: string): string {
    if (line.trimStart().startsWith("#")) return line;
    const x = expandMacros(line, [], { env: (n) => this.#env(n) });
    return x.undefinedNames.length || x.recursiveNames.length ? line : x.text;
  }

  /**
   * Runs one line (a command, a comment, `< file`).
   * @returns false when the line was `exit`
   */
  async execute(line: string, file = "<stdin>", lineNo = 1): Promise<boolean> {
    let cmd;
    try {
      cmd = parseShellLine(line, { file, line: lineNo, env: (n) => this.#env(n) });
    } catch (e) {
      this.#host.err(`${(e as Error).message}\n`);
      return true;
    }
    if (!cmd) return true;
    if (cmd.include !== undefined) return await this.runFile(cmd.include);
    this.#where = { file, line: lineNo };
    try {
      return await this.run(cmd.name, cmd.args);
    } catch (e) {
      this.#host.err(`${cmd.name}: ${(e as Error).message}\n`);
      return true;
    }
  }

  /** Runs every line of a script file; false when it ran `exit`. */
  async runFile(path: string): Promise<boolean> {
    const text = this.#host.readFile(path);
    if (text === undefined) {
      this.#host.err(`Can't open ${path}\n`);
      return true;
    }
    if (this.#depth > 20) {
      this.#host.err(`Too many nested "<" includes at ${path}\n`);
      return true;
    }
    this.#depth++;
    try {
      return await this.runScript(text, path);
    } finally {
      this.#depth--;
    }
  }

  /**
   * Runs the lines of a script, each echoed (macros expanded) before it runs, as iocsh
   * does for st.cmd and for `<` includes.
   * @param text the script
   * @param path its name, for messages
   * @param signal stops before the next line once aborted
   * @returns false when it ran `exit`
   */
  async runScript(text: string, path: string, signal?: AbortSignal): Promise<boolean> {
    const lines = text.split(/\r?\n/);
    for (let i = 0; i < lines.length && !signal?.aborted; i++) {
      if (lines[i].trim() !== "") this.#host.out(`${this.echoText(lines[i])}\n`);
      if (!await this.execute(lines[i], path, i + 1)) return false;
    }
    return true;
  }

  /** Runs a command by name with its arguments; false for `exit`. */
  async run(name: string, args: string[]): Promise<boolean> {
    const o = this.#host.out.bind(this.#host);
    switch (name) {
      case "<":
        return await this.runFile(args[0] ?? "");
      case "exit":
        this.#exited = true;
        return false;
      case "help":
        o(this.help(args));
        return true;
      case "epicsEnvSet":
        if (args.length < 1) throw new Error("Usage: epicsEnvSet name value");
        this.#host.env.set(args[0], args[1] ?? "");
        return true;
      case "epicsEnvShow":
        o(this.epicsEnvShow(args[0]));
        return true;
      case "epicsEnvUnset":
        if (args.length < 1) throw new Error("Usage: epicsEnvUnset name");
        this.#host.env.delete(args[0]);
        return true;
      case "epicsThreadSleep": {
        const secs = Number(args[0] ?? 0);
        if (secs > 0) await new Promise((r) => setTimeout(r, secs * 1000));
        return true;
      }
      case "echo":
        o(`${translateEscapes(args[0] ?? "")}\n`);
        return true;
      case "date":
        o(`${dateText(this.#db.now(), args[0] || "%Y/%m/%d %H:%M:%S.%06f")}\n`);
        return true;
      case "pwd":
        o(`${this.#host.cwd?.() ?? ""}\n`);
        return true;
      case "cd":
        if (!args[0] || !this.#host.chdir?.(args[0])) {
          this.#host.err("Invalid directory path, ignored\n");
        }
        return true;
      case "dbLoadDatabase":
        this.dbLoadDatabase(args[0] ?? "", args[2] ?? "", args[1] ?? "");
        return true;
      case "iocLogInit":
        this.#host.err(
          this.#env("EPICS_IOC_LOG_INET")
            ? "iocLogInit: forwarding messages to an IOC log server is not supported\n"
            : 'iocLog: EPICS environment variable "EPICS_IOC_LOG_INET" undefined\n',
        );
        return true;
      case "dbgrep":
        o(this.dbgrep(args[0]));
        return true;
      case "dbla":
        o(this.dbla(args[0]));
        return true;
      case "dbsr":
        o(this.dbsr(Number(args[0] ?? 0) || 0));
        return true;
      case "dbLoadRecords":
        this.dbLoadRecords(args[0] ?? "", args[1] ?? "");
        return true;
      case "dbLoadTemplate":
        this.dbLoadTemplate(args[0] ?? "", args[1] ?? "");
        return true;
      case "iocInit":
        await this.iocInit();
        return true;
      case "dbl":
        o(this.dbl(args[0], args[1]));
        return true;
      case "dbpr":
        o(this.dbpr(args[0] ?? "", Number(args[1] ?? 0) || 0));
        return true;
      case "dbgf":
        o(this.dbgf(args[0] ?? ""));
        return true;
      case "dbpf":
        o(this.dbpf(args[0] ?? "", args[1]));
        return true;
      case "dbtr":
        o(this.dbtr(args[0] ?? ""));
        return true;
      case "dbtgf":
        o(this.dbtgf(args[0] ?? ""));
        return true;
      case "dbhcr":
        o(this.dbhcr());
        return true;
      case "dbstat":
        // Breakpoints (dbb) are not supported: no lock set has one, no record is stopped at
        // one, and base's report of that case is empty.
        return true;
      case "dbcar":
        o(this.dbcar(args[0], Number(args[1] ?? 0) || 0));
        return true;
      case "dbjlr":
        o(this.dbjlr(args[0], Number(args[1] ?? 0) || 0));
        return true;
      case "dbStateCreate":
        if (args[0]) this.#db.dbStateCreate(args[0]);
        return true;
      case "dbStateSet":
      case "dbStateClear": {
        const st = this.#db.dbStateFind(args[0] ?? "");
        if (st) st.value = name === "dbStateSet";
        return true;
      }
      case "dbStateShow": {
        const st = this.#db.dbStateFind(args[0] ?? "");
        if (st) o(this.#stateLine(st, Number(args[1] ?? 0) || 0));
        return true;
      }
      case "dbStateShowAll":
        for (const st of this.#db.dbStates()) {
          o(this.#stateLine(st, (Number(args[0] ?? 0) || 0) + 1));
        }
        return true;
      case "scanpel":
        o(this.scanpel(args[0]));
        return true;
      case "scanppl":
        o(this.scanppl(Number(args[0] ?? 0) || 0));
        return true;
      case "casr":
        o(this.#host.casr?.(Number(args[0] ?? 0) || 0) ?? "");
        return true;
      case "dbnr":
        o(this.dbnr(Number(args[0] ?? 0) !== 0));
        return true;
      case "dbior":
        // softIoc registers no drivers (drvet): base's report is then empty too.
        return true;
      case "postEvent":
        // The iocsh command looks the event up first: its list exists from then on.
        this.#db.eventHandle(args[0] ?? "");
        this.#db.postEvent(args[0] ?? "");
        return true;
      default: {
        const extra = this.#extra.get(name);
        if (extra) {
          await extra(args, this.#where);
          return true;
        }
        if (name.endsWith("_registerRecordDeviceDriver")) {
          // Record types and device supports are built in, registered before any script
          // runs: what softIoc says when a script registers them again.
          o("Warning: Registration already done.\n");
          return true;
        }
        this.#host.err(`Command ${name} not found.\n`);
        return true;
      }
    }
  }

  /**
   * help: with no arguments the command names in iocsh's layout (16-column stops, a name
   * never past column 79), else the usage of each command matching a glob pattern.
   * @param args patterns (`*` and `?` wildcards)
   * @returns the text
   */
  help(args: string[] = []): string {
    const names = [...new Set([...Object.keys(BUILTIN_USAGE), ...this.#extra.keys()])]
      .sort((a, b) => a < b ? -1 : a > b ? 1 : 0);
    if (args.length === 0) {
      let out = "";
      let col = 0;
      for (const n of names) {
        if (col + n.length >= 79) {
          out += "\n";
          col = 0;
        }
        out += n;
        col += n.length;
        if (col >= 64) {
          out += "\n";
          col = 0;
        } else {
          const pad = 16 - (col % 16);
          out += " ".repeat(pad);
          col += pad;
        }
      }
      if (col) out += "\n";
      return out + "\nType 'help <command>' to see the arguments of <command>.  eg. 'help db*'\n";
    }
    const parts: string[] = [];
    for (const pattern of args) {
      const re = globRegExp(pattern);
      for (const n of names) {
        if (!re.test(n)) continue;
        const u = BUILTIN_USAGE[n] ?? this.#usage.get(n);
        parts.push(`\n${n}${u?.args ? ` ${u.args}` : ""}\n${u?.about ? `\n${u.about}\n` : ""}`);
      }
    }
    return parts.join("\n");
  }

  /** epicsEnvShow: NAME=value lines. */
  epicsEnvShow(name?: string): string {
    // The name is a glob pattern; no match prints nothing, as base.
    const re = name ? globRegExp(name) : undefined;
    return [...this.#host.env].filter(([k]) => !re || re.test(k)).map(([k, v]) => `${k}=${v}\n`)
      .join("");
  }

  /**
   * dbLoadRecords(file, macros).
   * @returns whether the file loaded without errors (they are printed, and kept for iocInit)
   */
  dbLoadRecords(file: string, macros: string, dirs: readonly string[] = []): boolean {
    if (this.#db.initialized) {
      this.#host.err("dbLoadRecords: Can't load record definitions after iocInit\n");
      return false;
    }
    const text = this.#readDbFile(file, dirs);
    if (text === undefined) {
      this.#host.err(`dbLoadRecords: Can't open file "${file}"\n`);
      this.#db.noteErrors([new Error(`Can't open file "${file}"`)]);
      return false;
    }
    return this.#loadText(text, file, macroMap(macros));
  }

  /**
   * A database file as dbOpenFile finds it: a name with a directory as it is, a bare name in
   * the directories of dbLoadDatabase's path (checked with softIoc: only in them, and only
   * for that load), else in the working directory.
   */
  #readDbFile(file: string, dirs: readonly string[] = []): string | undefined {
    if (dirs.length === 0 || /[/\\]/.test(file)) return this.#host.readFile(file);
    for (const d of dirs) {
      const text = this.#host.readFile(`${d}/${file}`);
      if (text !== undefined) return text;
    }
    return undefined;
  }

  #loadText(text: string, file: string, macros: ReadonlyMap<string, string>): boolean {
    const parsed = parseDatabase(text, {
      file,
      macros,
      includePath: (this.#env("EPICS_DB_INCLUDE_PATH") ?? ".").split(":"),
      readFile: (p) => this.#host.readFile(p),
      env: (n) => this.#env(n),
    });
    for (const w of parsed.warnings ?? []) {
      this.#host.err(`${(w as { message?: string }).message ?? w}\n`);
    }
    for (const e of parsed.errors) this.#host.err(`${e.message}\n`);
    this.#db.noteErrors(parsed.errors);
    const errors = this.#db.load(parsed.records, parsed.aliases);
    for (const e of errors) this.#host.err(`${e.message}\n`);
    return parsed.errors.length === 0 && errors.length === 0;
  }

  /** dbLoadTemplate(file, macros). */
  dbLoadTemplate(file: string, macros: string): void {
    const text = this.#host.readFile(file);
    if (text === undefined) {
      this.#host.err(`dbLoadTemplate: Can't open file "${file}"\n`);
      this.#db.noteErrors([new Error(`Can't open file "${file}"`)]);
      return;
    }
    const base = macroMap(macros);
    const { sets, errors } = parseSubstitutions(text, { file, macros: base });
    for (const e of errors) this.#host.err(`${e.message}\n`);
    this.#db.noteErrors(errors);
    for (const s of sets) {
      const t = this.#host.readFile(s.template);
      if (t === undefined) {
        const m = `Can't open template "${s.template}" (${s.file}:${s.line})`;
        this.#host.err(`dbLoadTemplate: ${m}\n`);
        this.#db.noteErrors([new Error(m)]);
        continue;
      }
      this.#loadText(t, s.template, new Map([...base, ...s.macros]));
    }
  }

  /** True once iocInit has refused to start the IOC (errors in the database). */
  get initFailed(): boolean {
    return this.#initFailed;
  }

  /** iocInit. */
  async iocInit(): Promise<void> {
    if (this.#db.initialized) {
      this.#host.err("iocInit can only be called once\n");
      return;
    }
    this.#host.err("Starting iocInit\n");
    this.#host.out(
      "############################################################################\n" +
        "## epics-ts softioc (record types of EPICS R7.0.8.1)\n" +
        "############################################################################\n",
    );
    try {
      this.#host.beforeInit?.();
      this.#db.init({ afterRecordInit: () => this.#host.afterRecordInit?.() });
    } catch (e) {
      if (e instanceof IocInitError) {
        this.#initFailed = true;
        for (const x of e.errors) this.#host.err(`${x.message}\n`);
        this.#host.err(`iocInit: ${e.errors.length} error(s); the IOC was not started\n`);
        throw new Error("iocInit failed");
      }
      throw e;
    }
    await this.#host.afterInit?.();
    this.#host.err("iocRun: All initialization complete\n");
  }

  /** dbl [type] [fields]: record names, with the fields' values when asked. */
  dbl(type?: string, fields?: string): string {
    const t = type && type !== "*" ? type : undefined;
    if (t && !recordType(t)) return "No record type\n";
    const names = fields ? fields.trim().split(/ +/) : [];
    const types = t ? [t] : [...recordTypeNames()].sort();
    let out = "";
    for (const ty of types) {
      for (const { name, record: rec } of this.#db.entries()) {
        if (rec.type.name !== ty) continue;
        out += name;
        for (const f of names) {
          if (f === "recordType") out += `, "${rec.type.name}"`;
          else if (!rec.type.byName.has(f)) out += ", ";
          else out += `, "${this.#fieldString(rec, f)}"`;
        }
        out += "\n";
      }
    }
    return out;
  }

  /** Names (aliases included) as dbFirstRecordType/dbFirstRecord walk them. */
  #namesByType(): { name: string; record: IocRecord }[] {
    const out: { name: string; record: IocRecord }[] = [];
    for (const ty of [...recordTypeNames()].sort()) {
      for (const e of this.#db.entries()) if (e.record.type.name === ty) out.push(e);
    }
    return out;
  }

  /** dbgrep pattern: the record names (aliases too) that match. */
  dbgrep(pattern?: string): string {
    if (!pattern) return 'Usage: dbgrep "pattern"\n';
    const re = globRegExp(pattern);
    return this.#namesByType().filter((e) => re.test(e.name)).map((e) => `${e.name}\n`).join(
      "",
    );
  }

  /** dbla [pattern]: "alias -> record" for each alias that matches. */
  dbla(pattern?: string): string {
    const re = pattern ? globRegExp(pattern) : undefined;
    return this.#namesByType()
      .filter((e) => e.name !== e.record.name && (!re || re.test(e.name)))
      .map((e) => `${e.name} -> ${e.record.name}\n`).join("");
  }

  /** dbsr [level]: the server layer's state, then RSRV's report once it runs. */
  dbsr(level = 0): string {
    const running = this.#db.initialized && !this.#initFailed;
    let out = `Server state: ${running ? "running" : "registering"}\nServer 'rsrv'\n`;
    if (running) out += this.#host.casr?.(level) ?? "";
    return out;
  }

  /**
   * dbLoadDatabase(file, path, substitutions): a .db file loads as with dbLoadRecords; a
   * .dbd file must be readable, and defines nothing new: the record types, menus and
   * device supports are built in (a record of a type that is not is reported when its
   * .db loads).
   */
  dbLoadDatabase(file: string, macros: string, path = ""): boolean {
    const dirs = path.split(":").filter((d) => d !== "");
    if (!/\.dbd$/i.test(file)) return this.dbLoadRecords(file, macros, dirs);
    const text = this.#readDbFile(file, dirs);
    if (text === undefined) {
      this.#host.err(`dbLoadDatabase: Can't open file "${file}"\n`);
      return false;
    }
    return true;
  }

  /** dbnr [verbose]: record counts per type (verbose: every type, with none too). */
  dbnr(verbose = false): string {
    let out = "Records  Aliases  Record Type\n";
    let tr = 0, ta = 0;
    for (const ty of [...recordTypeNames()].sort()) {
      const recs = this.#db.records().filter((r) => r.type.name === ty);
      const al = recs.reduce((n, r) => n + r.aliases.length, 0);
      tr += recs.length;
      ta += al;
      if (recs.length || verbose) {
        out += ` ${String(recs.length).padStart(5)}    ${String(al).padStart(5)}    ${ty}\n`;
      }
    }
    return out + `Total ${tr} records, ${ta} aliases\n`;
  }

  /** A field as dbGetString shows it (dbl, dbpr). */
  #fieldString(rec: IocRecord, field: string): string {
    const spec = rec.type.byName.get(field)!;
    const v = rec.f[field];
    switch (spec.type) {
      case "MENU":
        return spec.choices?.[v as number] ?? String(v);
      case "DEVICE":
        return spec.choices?.length ? spec.choices[v as number] ?? String(v) : "";
      case "DOUBLE":
      case "FLOAT":
        return realText(v as number, spec.type === "DOUBLE");
      case "INLINK":
      case "OUTLINK":
      case "FWDLINK":
        return this.#linkString(rec, field);
      case "NOACCESS":
        return typeof v === "string" ? v : "";
      default:
        if (spec.base === "HEX" && typeof v === "number") return `0x${(v >>> 0).toString(16)}`;
        return String(v);
    }
  }

  #linkString(rec: IocRecord, field: string): string {
    return this.#db.linkText(rec, field);
  }

  #linkType(rec: IocRecord, field: string): string {
    const l = rec.links[field];
    // Before iocInit a link is its text (base's plink->text), an empty one a CONSTANT.
    if (!this.#db.initialized) return this.#linkString(rec, field) === "" ? "CONSTANT" : "LINK";
    if (!l) return "CONSTANT";
    switch (l.kind) {
      case "none":
      case "constant":
        return "CONSTANT";
      case "hw":
        return l.text.startsWith("@") ? "INST_IO" : "VME_IO";
      case "json":
        return "JSON_LINK";
      default:
        return this.#db.record(l.record) && !caModifier(rec, field) ? "DB_LINK" : "CA_LINK";
    }
  }

  /** dbpr rec [level]: the record's fields up to an interest level. */
  dbpr(name: string, level = 0): string {
    if (!name) return 'Usage: dbpr "pv name", level\n';
    let rec: IocRecord;
    try {
      [rec] = this.#db.resolve(name);
    } catch {
      return `PV '${name}' not found\n`;
    }
    const buf = new TabBuffer(20);
    const fields = [...rec.type.fields].sort((
      a,
      b,
    ) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const spec of fields) {
      if ((spec.interest ?? 0) > level) continue;
      const n = spec.name.padEnd(4);
      if (spec.isLink) {
        buf.add(`${n}: ${this.#linkType(rec, spec.name)} ${this.#fieldString(rec, spec.name)}`);
      } else if (spec.type === "NOACCESS") {
        if (spec.name === "TIME") buf.add(`${n}: ${timeText(rec)}`);
        else {
          const p = noAccessText(rec, spec, this.#noAccessFacts(rec));
          if (p !== undefined) buf.add(`${n}: ${p}`);
        }
      } else buf.add(`${n}: ${this.#fieldString(rec, spec.name)}`);
    }
    return buf.text();
  }

  /** What dbpr's NOACCESS fields show of the database around a record. */
  #noAccessFacts(rec: IocRecord): NoAccessFacts {
    const db = this.#db;
    return {
      initialized: db.initialized,
      accessActive: db.accessActive,
      get monitors() {
        // Base's CA input links subscribe to their target, those to this IOC's records too.
        let n = db.watcherCount(rec);
        if (!db.initialized) return n;
        for (const r of db.records()) {
          for (const spec of r.type.linkFields) {
            const l = r.links[spec.name];
            if (
              spec.type === "INLINK" && l?.kind === "pv" && caModifier(r, spec.name) &&
              db.record(l.record) === rec
            ) n++;
          }
        }
        return n;
      },
      get backLinks() {
        let n = 0;
        if (!db.initialized) return 0;
        for (const r of db.records()) {
          for (const spec of r.type.linkFields) {
            const l = r.links[spec.name];
            if (l?.kind === "pv" && !caModifier(r, spec.name) && db.record(l.record) === rec) n++;
          }
        }
        return n;
      },
      hasSubroutine: (name) => db.subroutine(name) !== undefined,
      postfix: (field) => postfixBuffer(rec, field),
    };
  }

  /**
   * Finds the record and field of a dbgf/dbpf name: "REC", "REC.FIELD", or "REC.FIELD$"
   * (a string or link field as a char array, as dbNameToAddr's `$` modifier).
   * @returns the record, the field and whether `$` was given; undefined when not found
   */
  #address(name: string): { rec: IocRecord; field: string; long: boolean } | undefined {
    const long = name.endsWith("$");
    const base = long ? name.slice(0, -1) : name;
    // The modifier follows a field name: "REC$" names no record.
    if (long && this.#db.record(base)) return undefined;
    try {
      const [rec, field] = this.#db.resolve(base);
      if (long && !this.#longChars(rec, field)) return undefined;
      return { rec, field, long };
    } catch {
      return undefined;
    }
  }

  /**
   * A field read through `$`, as dbGet gives it: the chars with the NUL, of a string field
   * (at most its size), a link's text (at most dbgf's 800-byte buffer), or a long string's
   * LEN chars (lsi, lso, printf VAL); undefined for a field `$` does not apply to.
   */
  #longChars(rec: IocRecord, field: string): Uint8Array | undefined {
    if (field === "RTYP") return textToChars(rec.type.name, 40);
    const spec = rec.type.byName.get(field);
    if (!spec) return undefined;
    if (spec.isLink) return textToChars(this.#db.linkText(rec, field), DBGF_BYTES);
    if (spec.type === "STRING") return textToChars(String(rec.f[field]), spec.size ?? 40);
    if (field === "VAL" && rec.support.longString) {
      const n = Math.min(rec.f.LEN as number, rec.support.longString(rec), DBGF_BYTES);
      const out = new Uint8Array(n);
      out.set(utf8Encode(String(rec.f.VAL)).subarray(0, n));
      return out;
    }
    return undefined;
  }

  /**
   * A DBF_CHAR value as dbgf prints it: one element as a number; more as text up to the
   * first NUL, in quoted pieces of under 75 escaped characters joined by " +".
   */
  #addChars(buf: TabBuffer, chars: ArrayLike<number>): void {
    const count = chars.length;
    if (count === 1) {
      const c = chars[0] & 0xff;
      buf.add("DBF_CHAR: ");
      buf.add(this.#valueText("CHAR", c > 127 ? c - 256 : c));
      return;
    }
    buf.add(`DBF_CHAR[${count}]: ${count === 0 ? "(empty)" : ""}`);
    const bytes = Uint8Array.from(chars, (c) => c & 0xff);
    const nul = bytes.indexOf(0);
    let len = nul >= 0 ? nul : count;
    for (let i = 0; len > 0;) {
      let chunk = Math.min(len, MAXLINE - 5);
      while (escapedSize(bytes.subarray(i, i + chunk)) >= MAXLINE - 5) chunk--;
      let msg = `"${escapeRaw(bytes.subarray(i, i + chunk))}"`;
      len -= chunk;
      i += chunk;
      if (len > 0) msg += " +";
      buf.add(msg);
    }
  }

  /** dbgf "REC.FIELD": the value with its DBF type ("REC.FIELD$": as a char array). */
  dbgf(name: string): string {
    if (!name) return 'Usage: dbgf "pv name"\n';
    const at = this.#address(name);
    if (!at) return `PV '${name}' not found\n`;
    const { rec, field } = at;
    if (!this.#db.initialized) return "dbgf only works after iocInit\n";
    const buf = new TabBuffer(10);
    if (at.long) {
      this.#addChars(buf, this.#longChars(rec, field)!);
      return buf.text();
    }
    const spec = rec.type.byName.get(field);
    const dbf = field === "VAL" ? rec.support.valueDbf?.(rec) ?? spec?.type : spec?.type;
    let type = dbf ? DBR_NAME[dbf] ?? "STRING" : "STRING";
    const v = rec.f[field];
    let values: (number | string | bigint)[];
    if (field === "RTYP") {
      type = "STRING";
      values = [rec.type.name];
    } else if (spec?.type === "NOACCESS") {
      const shape = rec.support.arrayShape?.(rec, field);
      if (shape) {
        type = DBF_OF_SCALAR[shape.scalar] ?? "DOUBLE";
        values = Array.from(v as ArrayLike<number | bigint | string>).slice(
          0,
          rec.f[shape.countField] as number,
        );
      } else if (rec.support.longString && rec.f.LEN === 0) {
        // A long string never written has no elements (get_array_info gives LEN, 0).
        type = "STRING";
        values = [];
      } else {
        type = "STRING";
        values = [String(v)];
      }
    } else if (type === "ENUM") {
      type = "STRING";
      values = [
        spec?.type === "ENUM" ? this.#db.fieldText(rec, field) : this.#fieldString(rec, field),
      ];
    } else if (spec?.isLink) {
      values = [this.#fieldString(rec, field)];
    } else values = [v as number | string];
    // What fits dbgf's buffer.
    values = values.slice(0, Math.floor(DBGF_BYTES / (DBR_SIZE[type] ?? 8)));
    if (type === "CHAR") this.#addChars(buf, values.map(Number));
    else {
      // One element prints without a count (an array holding one element too).
      if (values.length === 1) buf.add(`DBF_${type}: `);
      else buf.add(`DBF_${type}[${values.length}]: ${values.length === 0 ? "(empty)" : ""}`);
      for (const x of values) buf.add(this.#valueText(type, x));
    }
    return buf.text();
  }

  #valueText(type: string, x: number | string | bigint): string {
    const n = Number(x);
    switch (type) {
      case "STRING":
        // Read as DBR_STRING: at most MAX_STRING_SIZE - 1 bytes, escaped into 76 characters.
        return `"${escapeRaw(utf8Encode(String(x)).subarray(0, 39), MAXLINE - 4)}"`;
      case "CHAR":
        return n >= 32 && n < 127
          ? `${n} = 0x${hex(n, 8)} = '${String.fromCharCode(n)}'`
          : `${n} = 0x${hex(n, 8)}`;
      case "UCHAR":
        return `${n} = 0x${hex(n, 8)}`;
      case "SHORT":
      case "USHORT":
        return `${n} = 0x${hex(n, 16)}`;
      case "LONG":
      case "ULONG":
        return `${n} = 0x${hex(n, 32)}`;
      case "INT64":
      case "UINT64": {
        // dbgf shows a negative int64 as minus its magnitude in hex ("-1 = -0x1").
        const b = typeof x === "bigint" ? x : BigInt(Math.trunc(n));
        return `${b} = ${b < 0n ? "-" : ""}0x${(b < 0n ? -b : b).toString(16)}`;
      }
      case "FLOAT":
        return gPrintf(n, 6);
      default:
        return gPrintf(n, 12);
    }
  }

  /**
   * dbpf "REC.FIELD" "value": writes as a string (arrays of numbers as JSON, char arrays
   * and "REC.FIELD$" as text), then shows dbgf; a value that does not convert is an error
   * on stderr and prints nothing, as base. Asynchronous records are not waited for.
   */
  dbpf(name: string, value: string | undefined): string {
    if (!name || value === undefined) return 'Usage: dbpf "pv name", "value"\n';
    const at = this.#address(name);
    if (!at) return `PV '${name}' not found\n`;
    const { rec, field } = at;
    if (!this.#db.initialized) return "dbpf only works after iocInit\n";
    let v: string | number[] | string[] = value;
    const shape = at.long ? undefined : rec.support.arrayShape?.(rec, field);
    // An array field of one element takes the value as a string, as a scalar does.
    if (shape && shape.max > 1 && (shape.scalar === "int8" || shape.scalar === "uint8")) {
      v = [...textToChars(value)];
    } else if (shape && shape.max > 1) {
      // dbPutConvertJSON: empty text writes no elements.
      const parsed = value === "" ? [] : jsonElements(value, shape.scalar === "string");
      if (typeof parsed === "string") {
        this.#host.err(`dbpf: Cannot convert "${value}" for ${name}: ${parsed}\n`);
        return "";
      }
      v = (parsed as string[]).slice(0, shape.max);
    }
    try {
      // As base's dbpf: the put and the processing it starts, not waiting for asynchronous
      // records to complete (a calcout's ODLY).
      this.#db.putRecordFieldNow(rec, field, v as string);
    } catch (e) {
      // base prints nothing of a refused put on stdout (at most an errlog line).
      this.#host.err(`${(e as Error).message}\n`);
    }
    return this.dbgf(name);
  }

  /** dbtr rec: processes it and shows dbpr at level 3. */
  dbtr(name: string): string {
    if (!name) return 'Usage: dbtr "pv name"\n';
    let rec: IocRecord;
    try {
      [rec] = this.#db.resolve(name);
    } catch {
      return `PV '${name}' not found\n`;
    }
    if (!this.#db.initialized) return "dbtr only works after iocInit\n";
    if (rec.f.PACT) return "record active\n";
    this.#db.process(rec);
    return this.dbpr(name, 3);
  }

  /**
   * dbtgf "REC.FIELD": the field read once with every option dbGetField knows, then as
   * each DBR type. The options part is printed as base 7.0.8.1's printBuffer prints it:
   * that printer predates DBR_AMSG and DBR_UTAG and so reads the option block at the wrong
   * offsets (units out of the alarm message, no value, limits out of the enum strings);
   * the block is laid out here as dbGetField fills it and read back at those offsets.
   */
  dbtgf(name: string): string {
    if (!name) return 'Usage: dbtgf "pv name"\n';
    const at = this.#address(name);
    if (!at || at.long) return `PV '${name}' not found\n`;
    const { rec, field } = at;
    if (!this.#db.initialized) return "dbtgf only works after iocInit\n";
    const spec = rec.type.byName.get(field);
    if (!spec) return `PV '${name}' not found\n`;
    const shape = spec.type === "NOACCESS" ? rec.support.arrayShape?.(rec, field) : undefined;
    // A long string's VAL (lsi, lso, printf) reads as one string, none while LEN is 0.
    const long = !shape && spec.type === "NOACCESS" && rec.support.longString !== undefined;
    if (spec.type === "NOACCESS" && !shape && !long) return `PV '${name}' not found\n`;
    const dbf = long
      ? "STRING"
      : shape
      ? DBF_OF_SCALAR[shape.scalar] ?? "DOUBLE"
      : field === "VAL"
      ? rec.support.valueDbf?.(rec) ?? spec.type
      : spec.type;
    const out = this.#dbtgfOptions(rec, spec, dbf);
    const buf = new TabBuffer(10);
    buf.add(`DBF_${DBR_NAME[dbf] ?? "STRING"}[0]: (empty)`);
    buf.flush();
    // The first bytes of dbtgf's buffer as the reads leave them (it starts with the status).
    const stale = new DataView(new ArrayBuffer(8));
    stale.setUint16(0, Number(rec.f.STAT ?? 0), true);
    for (const type of DBTGF_TYPES) {
      if (
        type === "ENUM" && dbf === "STRING" && spec.type !== "NOACCESS" &&
        DBTGF_RSET[rec.type.name]?.includes("e")
      ) {
        // getStringEnum hands the text to the record's put_enum_str, which sets VAL when it
        // names a state and leaves the buffer as the reads before left it.
        buf.add("DBF_ENUM: ");
        buf.add(
          putEnumStr(rec, String(rec.f[field])) ? String(stale.getUint16(0, true)) : "failed.",
        );
        buf.flush();
        continue;
      }
      const got = this.#dbtgfGet(
        rec,
        spec,
        dbf,
        type,
        shape
          ? Math.min(rec.f[shape.countField] as number, shape.max)
          : long
          ? Math.min(Number(rec.f.LEN), 1)
          : 1,
      );
      const count = got.count;
      const first = got.values?.[0];
      if (first !== undefined) staleWrite(stale, type, first);
      if (type === "CHAR" && got.values && count !== 1) this.#addChars(buf, got.values.map(Number));
      else {
        buf.add(
          count === 1 ? `DBF_${type}: ` : `DBF_${type}[${count}]: ${count === 0 ? "(empty)" : ""}`,
        );
        if (!got.values) buf.add("failed.");
        else for (const x of got.values) buf.add(this.#valueText(type, x));
      }
      buf.flush();
    }
    return out + buf.text();
  }

  /**
   * The options lines of dbtgf. dbGetField writes, in order: status (8 bytes), amsg (40),
   * units (16), precision (8), time (8), utag (8), enum strings (8 + 30 x 40), display
   * limits as long (8) and double (16), control limits likewise (8, 16), alarm limits
   * (16, 32).
   * printBuffer skips amsg and utag, so it reads each part from the wrong place.
   */
  #dbtgfOptions(rec: IocRecord, spec: FieldSpec, dbf: string): string {
    const b = new DataView(new ArrayBuffer(GR + 96));
    const f = rec.f;
    b.setUint16(0, Number(f.STAT ?? 0), true);
    b.setUint16(2, Number(f.SEVR ?? 0), true);
    b.setUint16(4, Number(f.ACKS ?? 0), true);
    b.setUint16(6, Number(f.ACKT ?? 0), true);
    const amsg = utf8Encode(String(f.AMSG ?? "")).subarray(0, 39);
    new Uint8Array(b.buffer, 8, 40).set(amsg);
    const rset = DBTGF_RSET[rec.type.name] ?? "";
    const enumStrs = dbf === "MENU" || dbf === "DEVICE" ? spec.choices ?? [] : undefined;
    const enumOk = (dbf === "ENUM" && rset.includes("e")) || dbf === "MENU" ||
      (dbf === "DEVICE" && (spec.choices?.length ?? 0) > 0);
    // printBuffer reads its limits from the last strings' place: a record's ENUM state
    // strings (at most 16) never reach it, nor do menus of under 29 choices.
    for (const [i, s] of (enumStrs ?? []).slice(0, 30).entries()) {
      new Uint8Array(b.buffer, 96 + 40 * i, 39).set(utf8Encode(s).subarray(0, 39));
    }
    const meta = fieldMeta(this.#db, rec, spec);
    if (rset.includes("g")) {
      const [lo, hi] = meta.display ?? [0, 0];
      b.setInt32(GR, castDouble(hi, "LONG"), true);
      b.setInt32(GR + 4, castDouble(lo, "LONG"), true);
      b.setFloat64(GR + 8, hi, true);
      b.setFloat64(GR + 16, lo, true);
    }
    if (rset.includes("c")) {
      const [lo, hi] = meta.control ?? [0, 0];
      b.setInt32(GR + 24, castDouble(hi, "LONG"), true);
      b.setInt32(GR + 28, castDouble(lo, "LONG"), true);
      b.setFloat64(GR + 32, hi, true);
      b.setFloat64(GR + 40, lo, true);
    }
    // %g of a double read from the block; a NaN's sign from its bytes, as glibc prints it.
    const g = (at: number) => {
      const x = b.getFloat64(at, true);
      return Number.isNaN(x) ? (b.getUint8(at + 7) >= 0x80 ? "-nan" : "nan") : gPrintf(x, 6);
    };
    const text = (at: number, max: number) => {
      const bytes = new Uint8Array(b.buffer, at, max);
      const nul = bytes.indexOf(0);
      return utf8Decode(bytes.subarray(0, nul < 0 ? max : nul));
    };
    const precOk = (dbf === "DOUBLE" || dbf === "FLOAT") && rset.includes("p");
    const no = (what: string) => `${what} not returned\n`;
    let out = `status = ${b.getUint16(0, true)}, severity = ${b.getUint16(2, true)}\n`;
    out += rset.includes("u") ? `units = "${text(8, 40)}"\n` : no("units");
    out += precOk ? `precision = ${b.getBigInt64(24, true)}\n` : no("precision");
    const secs = b.getUint32(32, true), nsec = b.getUint32(36, true);
    out += `time = ${
      secs === 0 && nsec === 0
        ? "<undefined>"
        : dateText((secs + 631152000) * 1000 + nsec / 1e6, "%Y-%m-%d %H:%M:%S.%09f")
    }\n`;
    if (enumOk) {
      // The count comes from the alarm message's bytes 32 to 35 (0 unless it is longer).
      const n = Math.min(b.getUint32(40, true), 30);
      out += `no_strs = ${b.getUint32(40, true)}:\n`;
      for (let i = 0; i < n; i++) out += `\t"${text(48 + 40 * i, 40)}"\n`;
    } else out += "enum strings not returned\n";
    // Where printBuffer reads the limits: 48 bytes before they are.
    const p = GR - 48;
    const i32 = (at: number) => b.getInt32(at, true);
    out += rset.includes("g")
      ? `grLong: ${i32(p + 4)} .. ${i32(p)}\ngrDouble: ${g(p + 16)} .. ${g(p + 8)}\n`
      : no("DBRgrLong") + no("DBRgrDouble");
    out += rset.includes("c")
      ? `ctrlLong: ${i32(p + 28)} .. ${i32(p + 24)}\nctrlDouble: ${g(p + 40)} .. ${g(p + 32)}\n`
      : no("DBRctrlLong") + no("DBRctrlDouble");
    out += rset.includes("a")
      ? `alLong: ${i32(p + 60)} < ${i32(p + 56)} .. ${i32(p + 52)} < ${i32(p + 48)}\n` +
        `alDouble: ${g(p + 88)} < ${g(p + 80)} .. ${g(p + 72)} < ${g(p + 64)}\n`
      : no("DBRalLong") + no("DBRalDouble");
    return out;
  }

  /**
   * One DBR type of dbtgf: the elements dbGetField gives (undefined when it fails) and
   * the count it reports. Strings convert as dbConvert's getString* (decimal, UINT64
   * with base 0, "" as 0); numbers as C's casts; links give their text as a string, a NaN
   * as a double, an empty string as chars and fail otherwise (getLinkValue).
   */
  #dbtgfGet(
    rec: IocRecord,
    spec: FieldSpec,
    dbf: string,
    type: (typeof DBTGF_TYPES)[number],
    stored: number,
  ): { count: number; values?: (number | string | bigint)[] } {
    const count = Math.min(stored, Math.floor(DBTGF_BYTES / DBR_SIZE[type]));
    if (spec.isLink) {
      if (type === "STRING") return { count: 1, values: [this.#db.linkText(rec, spec.name)] };
      if (type === "DOUBLE") return { count: 1, values: [NaN] };
      if (type === "CHAR" || type === "UCHAR") return { count: 1, values: [0] };
      return { count };
    }
    const v = rec.f[spec.name];
    const elements: (number | string | bigint)[] = typeof v === "object"
      ? Array.from(v as ArrayLike<number | string | bigint>).slice(0, count)
      : [v as number | string | bigint].slice(0, count);
    if (dbf === "STRING") {
      if (type === "STRING") return { count, values: elements.map(String) };
      if (type === "ENUM") {
        // getStringEnum hands the text to the record support's put_enum_str.
        if (spec.type === "NOACCESS") {
          // An array's strings (and a long string) read as numbers, as USHORTs.
          const values = elements.map((e) => loadConstantText(String(e), "USHORT", true)?.value);
          return values.includes(undefined) ? { count } : { count, values: values as number[] };
        }
        if (!DBTGF_RSET[rec.type.name]?.includes("e")) {
          this.#host.err(
            `recGblRecSupError: dbPutField missing record support entry table ${rec.type.name}::put_enum_str PV: ${rec.name}.${spec.name}\n`,
          );
        }
        return { count };
      }
      const values: (number | string | bigint)[] = [];
      for (const e of elements) {
        const r = loadConstantText(String(e), type, true);
        if (r?.value === undefined) return { count };
        values.push(r.value);
      }
      return { count, values };
    }
    if (type === "STRING") {
      // A double as text takes the record's precision for the field (6 without one).
      if (dbf === "DOUBLE" || dbf === "FLOAT") {
        const prec = fieldMeta(this.#db, rec, spec).precision ?? 6;
        return { count, values: elements.map((e) => cvtDoubleToString(Number(e), prec)) };
      }
      if (spec.type !== "NOACCESS") {
        return { count, values: [this.#db.fieldText(rec, spec.name)] };
      }
      return { count, values: elements.map(String) };
    }
    return { count, values: elements.map((e) => castTo(e, dbf, type)) };
  }

  /**
   * dbhcr (dbReportDeviceConfig): for each record, by record type, its first hardware link:
   * bus, link text, DTYP, name and "cvt(EGUL,EGUF)" when LINR is LINEAR. Base turns a
   * hardware link the record's device does not read (a calc's INPA "@x") into a constant,
   * so only INP and OUT under a DTYP count; the only bus softIoc's devices take is INST.
   */
  dbhcr(): string {
    let out = "";
    for (const rec of this.#recordsByType()) {
      if (!rec.type.byName.has("DTYP")) continue;
      for (const spec of rec.type.linkFields) {
        const l = rec.links[spec.name];
        if ((spec.name !== "INP" && spec.name !== "OUT") || l?.kind !== "hw") continue;
        if (!l.text.startsWith("@")) continue;
        let cvt = "";
        if (rec.type.byName.has("LINR") && this.#fieldString(rec, "LINR") === "LINEAR") {
          cvt = `cvt(${this.#fieldString(rec, "EGUL")},${this.#fieldString(rec, "EGUF")})`;
        }
        const text = this.#linkString(rec, spec.name).slice(0, 275);
        out += `${"INST".padEnd(8)} ${text.padEnd(20)} ${
          this.#fieldString(rec, "DTYP").padEnd(20)
        } ${rec.name.padEnd(20)} ${cvt}\n`;
        break;
      }
    }
    return out;
  }

  /** Records (not aliases) as base's dbFirstRecordType/dbFirstRecord walk them. */
  #recordsByType(): IocRecord[] {
    const order = [...recordTypeNames()].sort();
    const rank = new Map(order.map((t, i) => [t, i]));
    return [...this.#db.records()].sort((a, b) =>
      (rank.get(a.type.name) ?? 0) - (rank.get(b.type.name) ?? 0)
    );
  }

  /** dbStateShow's line: the value, with the flag's id and name from level 1. */
  #stateLine(st: { name: string; value: boolean }, level: number): string {
    const id = this.#db.dbStates().indexOf(st as never);
    const head = level >= 1 ? `id 0x${(0x1000 + 0x90 * id).toString(16)} '${st.name}' : ` : "";
    return `${head}${st.value ? "TRUE" : "FALSE"}\n`;
  }

  /** dbjlr [rec] [level]: the JSON links of every record (or one), as base reports them. */
  dbjlr(name?: string, level = 0): string {
    const one = name && name !== "*" ? name : undefined;
    let out = one ? `JSON links in record '${one}'\n\n` : "JSON links in all records\n\n";
    for (const rec of this.#recordsByType()) {
      if (one && rec.name !== one) continue;
      out += `  ${rec.type.name} record '${rec.name}':\n`;
      for (const spec of rec.type.linkFields) {
        const l = rec.links[spec.name];
        const inst = l?.kind === "json" ? this.#db.jsonLink(rec, spec.name) : undefined;
        const c = l?.kind === "constant" && l.json ? l.json : undefined;
        if (!inst && !c) continue;
        out += `    Link field '${spec.name}':\n`;
        out += inst ? inst.report(level, 6) : constLinkReport(c!, level, 6);
      }
      if (one) break;
    }
    return out;
  }

  /** dbcar [rec] [level]: CA links and their state, in base's layout. */
  dbcar(name?: string, level = 0): string {
    const one = name && name !== "*" ? name : undefined;
    let out = one ? `CA links in record named '${one}'\n\n` : "CA links in all records\n\n";
    let links = 0, connected = 0, noRead = 0, noWrite = 0, disconnects = 0;
    const line = (rec: IocRecord, field: string, arrow: string, pv: string, d: number) =>
      `${rec.name.padStart(28)}.${field.padEnd(4)} ${arrow} ${pv.padEnd(28)}  (${d}, 0)\n`;
    for (const rec of this.#recordsByType()) {
      if (one && rec.name !== one) continue;
      for (const spec of rec.type.linkFields) {
        const field = spec.name;
        const l = rec.links[field];
        if (l?.kind !== "pv" || (this.#db.record(l.record) && !caModifier(rec, field))) continue;
        links++;
        const pv = l.explicitField ? `${l.record}.${l.field}` : l.record;
        const info = this.#db.remoteInfo(rec, field);
        if (info?.connected) {
          connected++;
          disconnects += info.disconnects;
          if (!info.read) noRead++;
          if (!info.write) noWrite++;
          if (level > 1) {
            const rights = ["No Access", "Read Only", "Write Only", "Read/Write"][
              (info.read ? 1 : 0) | (info.write ? 2 : 0)
            ];
            out += line(rec, field, "==>", pv, info.disconnects);
            // pvlMask's IN and IS (ON and OS are never set: base disabled them).
            out += `${"".padStart(21)} [${spec.type === "INLINK" ? "IN" : "  "}${
              info.readsString ? "IS" : "  "
            }    ] host ${info.host}, ${rights}\n`;
          }
        } else if (level > 0) out += line(rec, field, "-->", pv, info?.disconnects ?? 0);
      }
      if (one) break;
    }
    if ((level > 1 && connected > 0) || (level > 0 && links !== connected)) out += "\n";
    out += `Total ${links} CA link${links !== 1 ? "s" : ""}; `;
    out += `${connected} connected, ${links - connected} not connected.\n`;
    out += `    ${noRead} can't read, ${noWrite} can't write.`;
    out += `  (${disconnects} disconnects, 0 writes prohibited)\n\n`;
    return out;
  }

  /**
   * scanpel [pattern]: every event list made so far (by SCAN Event records, event records'
   * VAL, calcouts' OEVT, postEvent), newest first, with its records at each priority.
   */
  scanpel(pattern?: string): string {
    const re = pattern ? globRegExp(pattern) : undefined;
    let out = "";
    for (const l of this.#db.eventLists()) {
      if (re && !re.test(l.name)) continue;
      out += `Event "${l.name}"\n`;
      for (const [prio, name] of ["Low", "Medium", "High"].entries()) {
        const recs = l.records.filter((r) => r.f.PRIO === prio);
        if (recs.length === 0) continue;
        out += ` Priority ${name}\n`;
        for (const r of recs) out += `    ${r.name.padEnd(28)}\n`;
      }
    }
    return out;
  }

  /** scanppl [period]: the records of each periodic scan list. */
  scanppl(period = 0): string {
    let out = "";
    for (const l of this.#db.periodicLists()) {
      if (period > 0 && Math.abs(period - l.period) > 0.05) continue;
      if (l.records.length === 0) continue;
      out += `Records with SCAN = '${l.name}' (0 over-runs):\n`;
      for (const r of l.records) out += `    ${r.name.padEnd(28)}\n`;
    }
    return out;
  }
}

/** The DBR types dbtgf reads a field as, in its order. */
const DBTGF_TYPES = [
  "STRING",
  "CHAR",
  "UCHAR",
  "SHORT",
  "USHORT",
  "LONG",
  "ULONG",
  "INT64",
  "UINT64",
  "FLOAT",
  "DOUBLE",
  "ENUM",
] as const;
/** Where dbGetField puts the display limits in the option block (after 30 enum strings). */
const GR = 88 + 8 + 30 * 40;
/** dbtgf's buffer (`long buffer[400]` on a 64-bit host). */
const DBTGF_BYTES = 3200;

/**
 * The option routines each record type's support has in base 7.0.8.1 (its rset): u
 * get_units, p get_precision, e get_enum_strs and put_enum_str, g get_graphic_double, c
 * get_control_double, a get_alarm_double. dbGetField returns an option only when the
 * routine is there (precision only for FLOAT and DOUBLE fields, enum strings also for menus).
 */
const DBTGF_RSET: Readonly<Record<string, string>> = {
  aSub: "upgca",
  aai: "upgc",
  aao: "upgc",
  ai: "upgca",
  ao: "upgca",
  bi: "e",
  bo: "upec",
  calc: "upgca",
  calcout: "upgca",
  compress: "upgc",
  dfanout: "upgca",
  histogram: "upgc",
  int64in: "ugca",
  int64out: "ugca",
  longin: "ugca",
  longout: "ugca",
  mbbiDirect: "p",
  mbbi: "e",
  mbboDirect: "p",
  mbbo: "e",
  sel: "upgca",
  seq: "upgca",
  subArray: "upgc",
  sub: "upgca",
  waveform: "upgc",
};

/** What a successful read of one element of `type` writes at the start of dbtgf's buffer. */
function staleWrite(b: DataView, type: string, v: number | string | bigint): void {
  switch (type) {
    case "STRING": {
      const bytes = new Uint8Array(8);
      bytes.set(utf8Encode(String(v)).subarray(0, 8));
      new Uint8Array(b.buffer).set(bytes);
      return;
    }
    case "CHAR":
    case "UCHAR":
      return b.setUint8(0, Number(v) & 0xff);
    case "SHORT":
    case "USHORT":
    case "ENUM":
      return b.setUint16(0, Number(v) & 0xffff, true);
    case "LONG":
    case "ULONG":
      return b.setUint32(0, Number(v) >>> 0, true);
    case "FLOAT":
      return b.setFloat32(0, Number(v), true);
    case "DOUBLE":
      return b.setFloat64(0, Number(v), true);
    default:
      return b.setBigUint64(0, BigInt.asUintN(64, BigInt(v)), true);
  }
}

/**
 * put_enum_str of bi, bo, mbbi and mbbo: a text equal to a state string sets VAL to that
 * state (bi and mbbi also clear UDF; mbbi/mbbo only with states defined).
 * @returns whether the text named a state
 */
function putEnumStr(rec: IocRecord, text: string): boolean {
  const f = rec.f;
  const states = rec.type.name === "bi" || rec.type.name === "bo"
    ? [f.ZNAM, f.ONAM]
    : f.SDEF
    ? MBB_STATES.map((s) => f[s])
    : [];
  const i = states.findIndex((s) => String(s) === text);
  if (i < 0) return false;
  f.VAL = i;
  if (rec.type.name === "bi" || rec.type.name === "mbbi") f.UDF = 0;
  return true;
}

const MBB_STATES = [
  "ZRST",
  "ONST",
  "TWST",
  "THST",
  "FRST",
  "FVST",
  "SXST",
  "SVST",
  "EIST",
  "NIST",
  "TEST",
  "ELST",
  "TVST",
  "TTST",
  "FTST",
  "FFST",
];

const INTEGER_BITS: Readonly<Record<string, readonly [number, boolean]>> = {
  CHAR: [8, false],
  UCHAR: [8, true],
  SHORT: [16, false],
  USHORT: [16, true],
  LONG: [32, false],
  ULONG: [32, true],
  INT64: [64, false],
  UINT64: [64, true],
  ENUM: [16, true],
};

/**
 * A number of a field of type `dbf` read as DBR type `type`, as dbConvert's C casts give
 * it: integers wrap to the width, doubles convert as gcc on x86-64 does (castDouble).
 */
function castTo(e: number | string | bigint, dbf: string, type: string): number | bigint {
  if (type === "DOUBLE") return Number(e);
  if (type === "FLOAT") return Math.fround(Number(e));
  const [bits, unsigned] = INTEGER_BITS[type];
  const floating = dbf === "DOUBLE" || dbf === "FLOAT";
  let i: bigint;
  if (!floating) i = BigInt(e as number | bigint);
  else if (type === "ENUM") return castDouble(Number(e), "USHORT");
  else if (bits < 64) return castDouble(Number(e), type as "LONG");
  else {
    const v = Number(e);
    // Below 2^63 (and not NaN) a double becomes an unsigned as through a signed 64-bit.
    i = type === "UINT64" && !(v < 2 ** 63)
      ? BigInt(castDouble(v, "UINT64"))
      : BigInt(castDouble(v, "INT64"));
  }
  const w = unsigned ? BigInt.asUintN(bits, i) : BigInt.asIntN(bits, i);
  return bits === 64 ? w : Number(w);
}

/**
 * Whether a link's modifiers make it a CA link even to a record of this IOC, as
 * dbInitLink decides: CA, CP or CPP on an input link, CA or CP on an output link (the
 * parser drops CPP there), only CA on a forward link.
 */
function caModifier(rec: IocRecord, field: string): boolean {
  const l = rec.links[field];
  if (l?.kind !== "pv") return false;
  const type = rec.type.byName.get(field)?.type;
  if (l.process === "CA") return true;
  if (type === "FWDLINK") return false;
  return l.process === "CP" || (l.process === "CPP" && type === "INLINK");
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
  "0": "\0",
};

/**
 * epicsStrnRawFromEscaped (what echo applies): \a \b \f \n \r \t \v \0 and \xH or \xHH
 * name characters; any other escaped character stands for itself (no octal: "\101" is
 * "101"). The text ends at a NUL, as a C string does. A `\xHH` is one byte: the result is
 * the bytes read as UTF-8 (so "\xc2\xb5" is "µ", as base prints those two bytes).
 */
export function translateEscapes(text: string): string {
  const bytes: number[] = [];
  const text8 = (t: string) => {
    for (const b of utf8Encode(t)) bytes.push(b);
  };
  const re = /\\(?:x([0-9A-Fa-f]{1,2})|x|(.))/gs;
  let last = 0;
  for (const m of text.matchAll(re)) {
    text8(text.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[1] !== undefined) bytes.push(parseInt(m[1], 16));
    else if (m[2] !== undefined) text8(SIMPLE_ESCAPES[m[2]] ?? m[2]);
  }
  text8(text.slice(last));
  const nul = bytes.indexOf(0);
  return utf8Decode(Uint8Array.from(nul >= 0 ? bytes.slice(0, nul) : bytes));
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/**
 * epicsTimeToStrftime's text of a time (local): strftime's common conversions (%Y %y %m
 * %d %e %H %M %S %j %b %a %%) and EPICS's %0nf (n digits of the second's fraction, %f
 * nine).
 * @param ms the time, in ms since 1970
 * @param format the format
 */
export function dateText(ms: number, format: string): string {
  const d = new Date(ms);
  const nsec = Math.round((ms - Math.floor(ms / 1000) * 1000) * 1e6);
  // n digits of the nanoseconds, rounded but never up to the next second (at most 9).
  const frac = (n: number) => {
    const div = 10 ** (9 - n);
    return String(Math.floor(Math.min(nsec + div / 2, 999999999) / div)).padStart(n, "0");
  };
  const dayOfYear = Math.floor(
    (Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()) - Date.UTC(d.getFullYear(), 0, 1)) /
      86400000,
  ) + 1;
  return format.replace(/%(0?([1-9])f|f|.)/g, (all, spec: string, digits?: string) => {
    if (spec === "f") return frac(9);
    if (digits !== undefined) return frac(Number(digits));
    switch (spec) {
      case "Y":
        return String(d.getFullYear());
      case "y":
        return pad2(d.getFullYear() % 100);
      case "m":
        return pad2(d.getMonth() + 1);
      case "d":
        return pad2(d.getDate());
      case "e":
        return String(d.getDate()).padStart(2);
      case "H":
        return pad2(d.getHours());
      case "M":
        return pad2(d.getMinutes());
      case "S":
        return pad2(d.getSeconds());
      case "j":
        return String(dayOfYear).padStart(3, "0");
      case "b":
        return MONTHS[d.getMonth()];
      case "a":
        return DAYS[d.getDay()];
      case "%":
        return "%";
      default:
        return all;
    }
  });
}

/**
 * A dbpf value for a numeric array as dbPutConvertJSON reads it: a JSON number or an array
 * of numbers.
 * @returns the numbers, or why the text is not such a value
 */
function jsonElements(text: string, strings: boolean): number[] | string[] | string {
  let j: unknown;
  try {
    // Each number's own text: yajl tells integers from doubles, which a string array
    // receives differently ("5" and "5.000000").
    j = JSON.parse(
      text,
      (_k, v, ctx?: { source?: string }) =>
        typeof v === "number" && strings ? { number: v, source: ctx?.source ?? String(v) } : v,
    );
  } catch (e) {
    return `not JSON (${(e as Error).message})`;
  }
  const items = Array.isArray(j) ? j : [j];
  const out: (number | string)[] = [];
  for (const x of items) {
    if (typeof x === "number") out.push(x);
    else if (strings && typeof x === "string") out.push(x);
    else if (strings && typeof x === "object" && x !== null && "source" in x) {
      const { number, source } = x as { number: number; source: string };
      // dbFastPutConvert from INT64 or DOUBLE (cvtDoubleToString with precision 6).
      out.push(/^-?\d+$/.test(source) ? BigInt(source).toString() : cvtDoubleToString(number, 6));
    } else return `${JSON.stringify(x)} is not a ${strings ? "string or number" : "number"}`;
  }
  return out as number[] | string[];
}

/** C's `%.<p>g`. */
export function gPrintf(v: number, p: number): string {
  if (Number.isNaN(v)) return nanText(v);
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  if (v === 0) return Object.is(v, -0) ? "-0" : "0";
  const exp = Math.floor(Math.log10(Math.abs(Number(v.toPrecision(p)))));
  if (exp < -4 || exp >= p) {
    const s = v.toExponential(p - 1).replace(/\.?0+e/, "e");
    return s.replace(/e([+-])(\d)$/, "e$10$2");
  }
  const s = v.toFixed(Math.max(0, p - 1 - exp));
  return s.includes(".") ? s.replace(/\.?0+$/, "") : s;
}
