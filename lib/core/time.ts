/**
 * EPICS time: seconds and nanoseconds since the EPICS epoch, 1990-01-01 00:00:00 UTC.
 * Pure conversions; the clock itself is read by callers outside proto/.
 * @module
 */

/** Seconds from the POSIX epoch (1970) to the EPICS epoch (1990-01-01 UTC). */
export const POSIX_TIME_AT_EPICS_EPOCH = 631152000;

/** A point in time as EPICS carries it on the wire. */
export interface EpicsTimeStamp {
  /** Whole seconds since 1990-01-01 00:00:00 UTC (u32 on the CA wire). */
  secPastEpoch: number;
  /** Nanoseconds within the second, 0..999 999 999. */
  nsec: number;
}

/** The zero timestamp (what an undefined record reports). */
export const EPICS_TIME_ZERO: Readonly<EpicsTimeStamp> = Object.freeze({
  secPastEpoch: 0,
  nsec: 0,
});

/**
 * Converts milliseconds since the POSIX epoch to an EPICS timestamp.
 * @param ms milliseconds since 1970 (fractional milliseconds keep sub-ms precision)
 * @returns the EPICS timestamp; instants before 1990 clamp to zero
 * @example
 * ```ts
 * import { epicsTimeFromMillis } from "./mod.ts";
 * const ts = epicsTimeFromMillis(Date.UTC(1990, 0, 1, 0, 0, 1, 500));
 * if (ts.secPastEpoch !== 1 || ts.nsec !== 500_000_000) throw new Error();
 * ```
 */
export function epicsTimeFromMillis(ms: number): EpicsTimeStamp {
  const totalSec = ms / 1000 - POSIX_TIME_AT_EPICS_EPOCH;
  if (!(totalSec > 0)) return { secPastEpoch: 0, nsec: 0 };
  let sec = Math.floor(totalSec);
  let nsec = Math.round((ms - Math.floor(ms / 1000) * 1000) * 1e6);
  if (nsec >= 1e9) {
    sec += 1;
    nsec -= 1e9;
  }
  return { secPastEpoch: sec >>> 0, nsec };
}

/**
 * Converts an EPICS timestamp to milliseconds since the POSIX epoch.
 * @param ts the EPICS timestamp
 * @returns milliseconds since 1970
 * @example
 * ```ts
 * import { epicsTimeToMillis } from "./mod.ts";
 * const ms = epicsTimeToMillis({ secPastEpoch: 1, nsec: 500_000_000 });
 * if (ms !== Date.UTC(1990, 0, 1, 0, 0, 1, 500)) throw new Error();
 * ```
 */
export function epicsTimeToMillis(ts: EpicsTimeStamp): number {
  return (ts.secPastEpoch + POSIX_TIME_AT_EPICS_EPOCH) * 1000 + ts.nsec / 1e6;
}

/**
 * Converts an EPICS timestamp to POSIX seconds and nanoseconds (the pair PVA's timeStamp uses).
 * @param ts the EPICS timestamp
 * @returns seconds past 1970 and nanoseconds
 * @example
 * ```ts
 * import { epicsToPosix } from "./mod.ts";
 * const { secondsPastEpoch } = epicsToPosix({ secPastEpoch: 0, nsec: 0 });
 * if (secondsPastEpoch !== 631152000) throw new Error();
 * ```
 */
export function epicsToPosix(
  ts: EpicsTimeStamp,
): { secondsPastEpoch: number; nanoseconds: number } {
  return { secondsPastEpoch: ts.secPastEpoch + POSIX_TIME_AT_EPICS_EPOCH, nanoseconds: ts.nsec };
}

/**
 * Converts POSIX seconds and nanoseconds to an EPICS timestamp.
 * @param secondsPastEpoch seconds since 1970
 * @param nanoseconds nanoseconds within the second
 * @returns the EPICS timestamp; instants before 1990 clamp to zero
 * @example
 * ```ts
 * import { posixToEpics } from "./mod.ts";
 * const ts = posixToEpics(631152010, 7);
 * if (ts.secPastEpoch !== 10 || ts.nsec !== 7) throw new Error();
 * ```
 */
export function posixToEpics(secondsPastEpoch: number, nanoseconds: number): EpicsTimeStamp {
  const sec = secondsPastEpoch - POSIX_TIME_AT_EPICS_EPOCH;
  if (sec < 0) return { secPastEpoch: 0, nsec: 0 };
  return { secPastEpoch: sec >>> 0, nsec: nanoseconds };
}
