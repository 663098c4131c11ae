/**
 * The error classes shared by every layer. One root, {@link EpicsError}; the
 * others say who was at fault (the peer, us, the clock) and carry what a caller
 * needs to react without matching on message text.
 * @module
 */

/**
 * Root of every error the toolkit throws on purpose.
 * @example
 * ```ts
 * import { EpicsError, TimeoutError } from "./mod.ts";
 * const e = new TimeoutError("Cannot read \"X:Y\": no reply within 1 s");
 * if (!(e instanceof EpicsError) || e.name !== "TimeoutError") throw new Error();
 * ```
 */
export class EpicsError extends Error {
  /**
   * Creates the error.
   * @param message what happened, sentence case, no final period
   * @param options the `cause`, when wrapping another error
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "EpicsError";
  }
}

/** The peer sent bytes that do not follow the protocol. */
export class RemoteProtocolError extends EpicsError {
  /** Byte offset in the message or stream where decoding failed, when known. */
  readonly offset: number | undefined;
  /**
   * Creates the error.
   * @param message what the peer got wrong
   * @param options the `cause`, and the byte `offset` where decoding failed
   */
  constructor(message: string, options?: ErrorOptions & { offset?: number }) {
    super(message, options);
    this.name = "RemoteProtocolError";
    this.offset = options?.offset;
  }
}

/** We used the protocol or the API wrongly (a bug or a bad argument on our side). */
export class LocalProtocolError extends EpicsError {
  /**
   * Creates the error.
   * @param message what was misused
   * @param options the `cause`, when wrapping another error
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "LocalProtocolError";
  }
}

/**
 * A Channel Access operation ended with a non-success ECA status code.
 * @example
 * ```ts
 * import { CaStatusError } from "./mod.ts";
 * const e = new CaStatusError("Cannot write \"X:Y\": server returned ECA_PUTFAIL", 160);
 * if (e.eca !== 160) throw new Error();
 * ```
 */
export class CaStatusError extends EpicsError {
  /** The ECA status code, as sent on the wire (e.g. 160 for ECA_PUTFAIL). */
  readonly eca: number;
  /** The text a server's ERROR reply carried (RSRV: the record's name), when there was one. */
  readonly context?: string;
  /**
   * Creates the error.
   * @param message the action and the status name
   * @param eca the ECA status code
   * @param options the `cause`, when wrapping another error; the server's `context` text
   */
  constructor(message: string, eca: number, options?: ErrorOptions & { context?: string }) {
    super(message, options);
    this.name = "CaStatusError";
    this.eca = eca;
    if (options?.context !== undefined) this.context = options.context;
  }
}

/** A PV Access operation ended with an error Status. */
export class PvaStatusError extends EpicsError {
  /** The PVA status type: 1 warning, 2 error, 3 fatal. */
  readonly statusType: number;
  /**
   * Creates the error.
   * @param message the action and the server's message
   * @param statusType 1 warning, 2 error (the default), 3 fatal
   * @param options the `cause`, when wrapping another error
   */
  constructor(message: string, statusType = 2, options?: ErrorOptions) {
    super(message, options);
    this.name = "PvaStatusError";
    this.statusType = statusType;
  }
}

/** An operation did not complete within its time limit. */
export class TimeoutError extends EpicsError {
  /**
   * Creates the error.
   * @param message the operation and its time limit
   * @param options the `cause`, when wrapping another error
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TimeoutError";
  }
}

/** The connection carrying an operation went away before it completed. */
export class DisconnectedError extends EpicsError {
  /**
   * Creates the error.
   * @param message the operation that was cut off
   * @param options the `cause`, when wrapping another error
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DisconnectedError";
  }
}

/** No server answered for a channel name. */
export class ChannelNotFoundError extends EpicsError {
  /** The channel name that was searched for. */
  readonly channel: string;
  /**
   * Creates the error; the message names the channel.
   * @param channel the channel name
   * @param options the `cause`, when wrapping another error
   */
  constructor(channel: string, options?: ErrorOptions) {
    super(`Cannot find channel "${channel}"`, options);
    this.name = "ChannelNotFoundError";
    this.channel = channel;
  }
}

/**
 * A put was refused by the PV itself: wrong type, outside limits, read-only.
 * Each protocol maps it to its own status (ECA_PUTFAIL, ECA_NOWTACCESS, a PVA Status).
 */
export class PutRefusedError extends EpicsError {
  /** Why: "readonly" maps to no-write-access, "type" to a conversion error, others to put failure. */
  readonly reason: "readonly" | "limits" | "type" | "handler";
  /**
   * Creates the error.
   * @param message why the put was refused
   * @param reason the kind of refusal, which picks the status sent back
   * @param options the `cause`, when wrapping another error
   */
  constructor(
    message: string,
    reason: "readonly" | "limits" | "type" | "handler",
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "PutRefusedError";
    this.reason = reason;
  }
}

/** Text that could not be parsed: a .db file, a YAML PV file, a command-line value. */
export class EpicsSyntaxError extends SyntaxError {
  /** The file being parsed, when known. */
  readonly file: string | undefined;
  /** 1-based line of the problem, when known. */
  readonly line: number | undefined;
  /** 1-based column of the problem, when known. */
  readonly column: number | undefined;
  /**
   * Creates the error.
   * @param message what was expected and what was found
   * @param where the file, line and column of the problem
   * @param options the `cause`, when wrapping another error
   */
  constructor(
    message: string,
    where: { file?: string; line?: number; column?: number } = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "EpicsSyntaxError";
    this.file = where.file;
    this.line = where.line;
    this.column = where.column;
  }
}
