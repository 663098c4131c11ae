/**
 * The IOC shell (iocsh): st.cmd commands over a database, printing what EPICS base's
 * commands print (dbl, dbpr, dbgf, dbpf, dbtr, dbcar, scanppl, epicsEnvShow...). File
 * reading and output are injected; only cli/softioc.ts touches the terminal and files.
 * @module
 */

import { textToChars } from "../core/bytes.ts";
import { expandMacros, macroMap } from "../core/macros.ts";
import { epicsTimeToMillis } from "../core/time.ts";
import { type IocDatabase, IocInitError } from "./database.ts";
import { DBF_OF_SCALAR } from "./fields.ts";
import { realText } from "./real_text.ts";
import { constLinkReport } from "./json_link.ts";
import { recordType, recordTypeNames } from "./record_type.ts";
import type { IocRecord } from "./types.ts";
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
  dbStateClear: { args: "'name'", about: "Clears the named dbState flag." },
  dbStateCreate: { args: "'name'", about: "Creates a dbState flag for state links." },
  dbStateSet: { args: "'name'", about: "Sets the named dbState flag." },
  dbStateShow: { args: "'name' 'level'", about: "Shows the value of a dbState flag." },
  dbStateShowAll: { args: "'level'", about: "Shows every dbState flag." },
  dbcar: {
    args: "'record name' 'level'",
    about: "Channel Access link report: counts of CA links (level 0), or each link (1, 2).",
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
  dbnr: { args: "'verbose'", about: "Counts records of each type." },
  dbpf: {
    args: "'record name' value",
    about: "Writes a value to a field (REC.FIELD) and prints the field afterwards.",
  },
  dbpr: {
    args: "'record name' 'interest level'",
    about: "Prints the fields of a record: level 0 those processing changes, up to 4 for all.",
  },
  dbtr: { args: "'record name'", about: "Processes a record once and prints its fields." },
  epicsEnvSet: { args: "name value", about: "Sets an environment variable (also for $(name))." },
  epicsEnvShow: {
    args: "[name]",
    about: "Prints one environment variable, or all of them.",
  },
  exit: { args: "", about: "Leaves the shell and stops the IOC." },
  help: {
    args: "[command ...]",
    about: "Lists the commands, or shows how to call those matching the patterns (* and ?).",
  },
  iocInit: { args: "", about: "Initialises the loaded records and starts serving them." },
  postEvent: { args: "'event name'", about: "Posts a database event (SCAN Event records)." },
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

function escapeC(s: string): string {
  // deno-lint-ignore no-control-regex
  return s.replace(/[\\"\x00-\x1f\x7f]/g, (c) => {
    const map: Record<string, string> = {
      "\\": "\\\\",
      '"': '\\"',
      "\n": "\\n",
      "\t": "\\t",
      "\r": "\\r",
      "\x07": "\\a",
      "\b": "\\b",
      "\f": "\\f",
      "\v": "\\v",
    };
    return map[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
  });
}

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
      case "scanppl":
        o(this.scanppl(Number(args[0] ?? 0) || 0));
        return true;
      case "casr":
        o(this.#host.casr?.(Number(args[0] ?? 0) || 0) ?? "");
        return true;
      case "dbnr":
        o(this.dbnr());
        return true;
      case "postEvent":
        this.#db.postEvent(args[0] ?? "");
        return true;
      default: {
        const extra = this.#extra.get(name);
        if (extra) {
          await extra(args, this.#where);
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
    if (name) {
      const v = this.#env(name);
      return v === undefined ? `${name} is not an environment variable.\n` : `${name}=${v}\n`;
    }
    return [...this.#host.env].map(([k, v]) => `${k}=${v}\n`).join("");
  }

  /**
   * dbLoadRecords(file, macros).
   * @returns whether the file loaded without errors (they are printed, and kept for iocInit)
   */
  dbLoadRecords(file: string, macros: string): boolean {
    if (this.#db.initialized) {
      this.#host.err("dbLoadRecords: Can't load record definitions after iocInit\n");
      return false;
    }
    const text = this.#host.readFile(file);
    if (text === undefined) {
      this.#host.err(`dbLoadRecords: Can't open file "${file}"\n`);
      this.#db.noteErrors([new Error(`Can't open file "${file}"`)]);
      return false;
    }
    return this.#loadText(text, file, macroMap(macros));
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

  /** dbnr: record counts per type. */
  dbnr(): string {
    let out = "Records  Aliases  Record Type\n";
    let tr = 0, ta = 0;
    for (const ty of [...recordTypeNames()].sort()) {
      const recs = this.#db.records().filter((r) => r.type.name === ty);
      const al = recs.reduce((n, r) => n + r.aliases.length, 0);
      tr += recs.length;
      ta += al;
      if (recs.length) {
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
    if (!this.#db.initialized) return "LINK";
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
        return this.#db.record(l.record) && l.process !== "CA" ? "DB_LINK" : "CA_LINK";
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
        // BKPT is a one-byte field base shows as hex bytes (always 00 here: no breakpoints).
        else if (spec.name === "BKPT") buf.add(`${n}: 00`);
      } else buf.add(`${n}: ${this.#fieldString(rec, spec.name)}`);
    }
    return buf.text();
  }

  /** dbgf "REC.FIELD": the value with its DBF type. */
  dbgf(name: string): string {
    if (!name) return 'Usage: dbgf "pv name"\n';
    let rec: IocRecord, field: string;
    try {
      [rec, field] = this.#db.resolve(name);
    } catch {
      return `PV '${name}' not found\n`;
    }
    if (!this.#db.initialized) return "dbgf only works after iocInit\n";
    const buf = new TabBuffer(10);
    const spec = rec.type.byName.get(field);
    const dbf = field === "VAL" ? rec.support.valueDbf?.(rec) ?? spec?.type : spec?.type;
    let type = dbf ? DBR_NAME[dbf] ?? "STRING" : "STRING";
    const v = rec.f[field];
    let values: (number | string | bigint)[];
    let array = false;
    if (field === "RTYP") {
      type = "STRING";
      values = [rec.type.name];
    } else if (spec?.type === "NOACCESS") {
      const shape = rec.support.arrayShape?.(rec);
      if (shape) {
        type = DBF_OF_SCALAR[shape.scalar] ?? "DOUBLE";
        values = Array.from(v as ArrayLike<number | bigint | string>).slice(
          0,
          rec.f[shape.countField] as number,
        );
        array = shape.max > 1;
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
      // Read as DBR_STRING: at most MAX_STRING_SIZE - 1 characters, as base truncates.
      values = [this.#fieldString(rec, field).slice(0, 39)];
    } else values = [v as number | string];
    if (!array) buf.add(`DBF_${type}: `);
    else {
      buf.add(`DBF_${type}[${values.length}]: ${values.length === 0 ? "(empty)" : ""}`);
    }
    if (type === "CHAR" && array) {
      const s = String.fromCharCode(...(values as number[]).map((x) => Number(x) & 0xff));
      const end = s.indexOf("\0");
      const text = end >= 0 ? s.slice(0, end) : s;
      if (text.length) buf.add(`"${escapeC(text)}"`);
    } else {
      for (const x of values) buf.add(this.#valueText(type, x));
    }
    return buf.text();
  }

  #valueText(type: string, x: number | string | bigint): string {
    const n = Number(x);
    switch (type) {
      case "STRING":
        return `"${escapeC(String(x))}"`;
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
        const b = BigInt(Math.trunc(n));
        return `${b} = ${b < 0n ? "-" : ""}0x${(b < 0n ? -b : b).toString(16)}`;
      }
      case "FLOAT":
        return gPrintf(n, 6);
      default:
        return gPrintf(n, 12);
    }
  }

  /** dbpf "REC.FIELD" "value": writes as a string (arrays as JSON), then shows dbgf. */
  dbpf(name: string, value: string | undefined): string {
    if (!name || value === undefined) return 'Usage: dbpf "pv name", "value"\n';
    let rec: IocRecord, field: string;
    try {
      [rec, field] = this.#db.resolve(name);
    } catch {
      return `PV '${name}' not found\n`;
    }
    if (!this.#db.initialized) return "dbpf only works after iocInit\n";
    let v: string | number[] | string[] = value;
    const shape = field === "VAL" ? rec.support.arrayShape?.(rec) : undefined;
    if (shape && shape.max > 1 && shape.scalar !== "int8" && shape.scalar !== "uint8") {
      try {
        const j = JSON.parse(value);
        v = Array.isArray(j) ? j : [j];
      } catch {
        v = [value];
      }
    } else if (shape && (shape.scalar === "int8" || shape.scalar === "uint8")) {
      v = [...textToChars(value)];
    }
    let err = "";
    try {
      // As base's dbpf: the put and the processing it starts, not waiting for asynchronous
      // records to complete (a calcout's ODLY).
      this.#db.putRecordFieldNow(rec, field, v as string);
    } catch (e) {
      err = `${(e as Error).message}\n`;
    }
    return err + this.dbgf(name);
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
        if (l?.kind !== "pv" || (this.#db.record(l.record) && l.process !== "CA")) continue;
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

/** C's `%.<p>g`. */
export function gPrintf(v: number, p: number): string {
  if (Number.isNaN(v)) return "nan";
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
