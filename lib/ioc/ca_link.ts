/**
 * CA links: links to PVs that are not records of this IOC (or that carry the CA flag),
 * kept as base's dbCa keeps them: a monitored channel whose last value and alarm an input
 * link reads, puts without waiting for outputs, CP/CPP processing on each update.
 * @module
 */

import type { CaContext } from "../ca/client/context.ts";
import type { Subscription } from "../ca/client/channel.ts";
import type { RemoteLink, RemoteLinkFactory } from "./database.ts";
import type { FieldValue } from "./record_type.ts";

/** DBE_VALUE | DBE_ALARM. */
const MASK = 1 | 4;
/** TIME_STRING; TIME_x is the plain type plus this. */
const TIME_OFFSET = 14;

/**
 * Makes CA links through a CA client context.
 * @param ctx the client context (its configuration decides where searches go)
 * @returns the factory IocDatabase takes as `remoteLinks`
 */
export function caLinkFactory(ctx: CaContext): RemoteLinkFactory {
  return (pv, onChange) => {
    const ch = ctx.channel(pv);
    let last: { value: FieldValue; severity: number; status: number } | undefined;
    let sub: Subscription | undefined;
    let disconnects = 0;
    let wasUp = false;
    const stop = ch.onConnection((up) => {
      if (!up) {
        last = undefined;
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
      if (sub) return;
      sub = ch.subscribe({ dbrType: TIME_OFFSET + ch.nativeType, mask: MASK }, (u) => {
        if ("error" in u) return;
        const v = u.data.value as unknown as FieldValue & ArrayLike<unknown>;
        const value = u.count === 1 ? (v as ArrayLike<number | string>)[0] : v;
        last = { value, severity: u.data.meta.severity ?? 0, status: u.data.meta.status ?? 0 };
        onChange?.();
      });
    });
    const link: RemoteLink = {
      get connected() {
        return ch.state === "connected";
      },
      get: () => last,
      get access() {
        return ch.access;
      },
      get host() {
        // ca_host_name without the port.
        return ch.host.replace(/:\d+$/, "");
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
        void ch.close();
      },
    };
    return link;
  };
}
