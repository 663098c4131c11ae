/**
 * CA links: links to PVs that are not records of this IOC (or that carry the CA flag),
 * kept as base's dbCa keeps them: a monitored channel whose last value and alarm an input
 * link reads, puts without waiting for outputs, CP/CPP processing on each update, the PV's
 * attributes (units, precision, display and alarm limits) fetched once per connection, and
 * a DBR_STRING monitor of an ENUM PV read as a string.
 * @module
 */

import type { CaContext } from "../ca/client/context.ts";
import type { ChannelData, Subscription } from "../ca/client/channel.ts";
import type { LinkAttributes, RemoteLink, RemoteLinkFactory } from "./database.ts";
import { cvtDoubleToString } from "./fields.ts";
import type { FieldValue } from "./record_type.ts";

/** DBE_VALUE | DBE_ALARM. */
const MASK = 1 | 4;
/** TIME_STRING; TIME_x is the plain type plus this. */
const TIME_OFFSET = 14;
const DBF_STRING = 0;
const DBF_FLOAT = 2;
const DBF_ENUM = 3;
const DBF_DOUBLE = 6;
const DBR_CTRL_DOUBLE = 34;

/** Options of {@link caLinkFactory}. */
export interface CaLinkOptions {
  /**
   * The name of a server's IP address, as libca's host name cache resolves it for
   * ca_host_name (dbcar shows "name:port"); default: the address itself.
   */
  hostName?: (ip: string) => string;
}

/**
 * The name an IP address has in a hosts file (/etc/hosts), as the resolver's "files" source
 * gives it to gethostbyaddr: the first name of the first line that lists the address.
 * @param hosts the file's text
 * @param ip a dotted IPv4 address
 * @returns the name, or undefined when no line lists the address
 * @example
 * ```ts
 * import { hostsFileName } from "./ca_link.ts";
 * if (hostsFileName("127.0.0.1 localhost lo\n", "127.0.0.1") !== "localhost") throw new Error();
 * ```
 */
export function hostsFileName(hosts: string, ip: string): string | undefined {
  for (const raw of hosts.split("\n")) {
    const words = raw.replace(/#.*/, "").trim().split(/\s+/);
    if (words.length >= 2 && words[0] === ip) return words[1];
  }
  return undefined;
}

type Reading = { value: FieldValue; severity: number; status: number };

function reading(u: ChannelData): Reading {
  const v = u.data.value as FieldValue & ArrayLike<unknown>;
  const value = u.count === 1 ? (v as ArrayLike<number | string>)[0] : v;
  return { value, severity: u.data.meta.severity ?? 0, status: u.data.meta.status ?? 0 };
}

/**
 * A floating-point reading as dbCa gives it as a string: converted with no record behind
 * it, so with 6 decimals whatever the PV's precision (cvt_d_st without a dbAddr).
 */
export function floatText(r: Reading | undefined): Reading | undefined {
  if (!r) return r;
  const one = typeof r.value === "number" ? r.value : (r.value as ArrayLike<unknown>)[0];
  if (typeof one !== "number") return r;
  return { ...r, value: cvtDoubleToString(one, 6) };
}

/**
 * Makes CA links through a CA client context.
 * @param ctx the client context (its configuration decides where searches go)
 * @param opts how server addresses are named
 * @returns the factory IocDatabase takes as `remoteLinks`
 */
export function caLinkFactory(ctx: CaContext, opts: CaLinkOptions = {}): RemoteLinkFactory {
  return (pv, onChange) => {
    const ch = ctx.channel(pv);
    let last: Reading | undefined;
    let lastString: Reading | undefined;
    let attributes: LinkAttributes | undefined;
    let sub: Subscription | undefined;
    let stringSub: Subscription | undefined;
    let readsString = false;
    let disconnects = 0;
    let wasUp = false;
    let connection = 0;
    const subscribeString = () => {
      stringSub = ch.subscribe({ dbrType: TIME_OFFSET + DBF_STRING, mask: MASK, count: 1 }, (u) => {
        if ("error" in u) return;
        lastString = reading(u);
        onChange?.();
      });
    };
    const stop = ch.onConnection((up) => {
      connection++;
      attributes = undefined;
      if (!up) {
        last = undefined;
        lastString = undefined;
        // dbCa counts a disconnect each time a connected channel goes down, and processes
        // a CP/CPP record then (it reads the link as INVALID).
        if (wasUp) {
          disconnects++;
          wasUp = false;
          onChange?.();
        }
        return;
      }
      wasUp = true;
      // dbCa asks for the attributes before it subscribes, so that they are there by the
      // first update; a DBF_STRING PV has none.
      if (ch.nativeType !== DBF_STRING) {
        const mine = connection;
        ch.get({ dbrType: DBR_CTRL_DOUBLE }).then((d) => {
          if (mine !== connection) return;
          const m = d.data.meta;
          attributes = {
            units: m.units ?? "",
            precision: m.precision ?? 0,
            display: [m.lowerDispLimit ?? 0, m.upperDispLimit ?? 0],
            alarm: [
              m.lowerAlarmLimit ?? NaN,
              m.lowerWarningLimit ?? NaN,
              m.upperWarningLimit ?? NaN,
              m.upperAlarmLimit ?? NaN,
            ],
          };
        }).catch(() => {
          // dbCa logs a failed attribute get and goes on without attributes.
        });
      }
      if (sub) return;
      sub = ch.subscribe({ dbrType: TIME_OFFSET + ch.nativeType, mask: MASK }, (u) => {
        if ("error" in u) return;
        last = reading(u);
        // An ENUM PV also monitored as a string processes its record on the string's
        // updates only (dbCa's eventCallback).
        if (!(readsString && ch.nativeType === DBF_ENUM)) onChange?.();
      });
    });
    const link: RemoteLink = {
      get connected() {
        return ch.state === "connected";
      },
      get: () => last,
      getString() {
        if (ch.nativeType === DBF_DOUBLE || ch.nativeType === DBF_FLOAT) return floatText(last);
        if (ch.nativeType !== DBF_ENUM) return last;
        if (!readsString) {
          readsString = true;
          subscribeString();
        }
        return lastString;
      },
      get readsString() {
        return readsString;
      },
      get attributes() {
        return attributes;
      },
      get access() {
        return ch.access;
      },
      get host() {
        // ca_host_name: the server's name (as the resolver gives it) and port.
        const m = /^(.*):(\d+)$/.exec(ch.host);
        if (!m) return ch.host;
        return `${opts.hostName?.(m[1]) ?? m[1]}:${m[2]}`;
      },
      get disconnects() {
        return disconnects;
      },
      put(value) {
        ch.put(value as Parameters<typeof ch.put>[0]).catch(() => {
          // A failed CA put raises no alarm in base either (the link is fire and forget).
        });
      },
      close() {
        stop();
        stringSub?.cancel();
        void ch.close();
      },
    };
    return link;
  };
}
