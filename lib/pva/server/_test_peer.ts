/**
 * A minimal sans-I/O PVA client peer for tests and benchmarks: it encodes requests and
 * decodes the server's replies, keeping the type cache and per-operation values a real
 * client keeps. Not a client library: it never opens a socket.
 * @module
 */

import { ByteWriter } from "../../core/bytes.ts";
import {
  BitSet,
  buildRequest,
  type DecodedMessage,
  decodeMessage,
  encodeCreateChannelRequest,
  encodeDestroyChannel,
  encodeEcho,
  encodeGetFieldRequest,
  encodeOpRequest,
  encodeRequestIds,
  encodeValidationResponse,
  type FieldDesc,
  type OpCommand,
  PvaCommand,
  PvaFramer,
  PvValue,
  T,
  TypeCache,
} from "../proto/mod.ts";

/** Client half of an in-memory or socket PVA conversation. */
export class TestPvaPeer {
  readonly framer = new PvaFramer();
  readonly cache = new TypeCache();
  /** ioid -> type from the INIT reply. */
  readonly types = new Map<number, FieldDesc>();
  /** ioid -> the merged value the replies update. */
  readonly values = new Map<number, PvValue>();
  #w = new ByteWriter(1024, true);

  /** Decodes bytes from the server; INIT replies record their types. */
  receive(chunk: Uint8Array): DecodedMessage[] {
    const out: DecodedMessage[] = [];
    for (const m of this.framer.receive(chunk)) {
      if (m.control) {
        this.#w.littleEndian = m.littleEndian;
        continue;
      }
      const d = decodeMessage(m, {
        cache: this.cache,
        valueFor: (_c: OpCommand, ioid: number) => {
          const t = this.types.get(ioid);
          if (!t) return undefined;
          let v = this.values.get(ioid);
          if (!v) this.values.set(ioid, v = PvValue.create(t));
          return v;
        },
      });
      if (d.kind === "opResponse" && (d.msg.subcmd & 0x08) && d.msg.types?.[0]) {
        this.types.set(d.msg.ioid, d.msg.types[0]);
      }
      out.push(d);
    }
    return out;
  }

  #take(): Uint8Array {
    const b = this.#w.toBytes();
    this.#w.reset();
    return b;
  }

  /** CONNECTION_VALIDATION response ("ca" with user and host, or "anonymous"). */
  validate(method = "ca", user = "alice", host = "pc1"): Uint8Array {
    const authData = method === "ca"
      ? PvValue.create(T.struct("", [["user", T.string], ["host", T.string]]), { user, host })
      : null;
    encodeValidationResponse(this.#w, {
      bufferSize: 0x10000,
      registrySize: 0x7fff,
      qos: 0,
      authMethod: method,
      authData,
    });
    return this.#take();
  }

  createChannel(cid: number, name: string): Uint8Array {
    encodeCreateChannelRequest(this.#w, { channels: [{ cid, name }] });
    return this.#take();
  }

  destroyChannel(sid: number, cid: number): Uint8Array {
    encodeDestroyChannel(this.#w, { sid, cid }, false);
    return this.#take();
  }

  /** INIT of GET/PUT/MONITOR/RPC with a pvRequest string. */
  init(
    command: OpCommand,
    sid: number,
    ioid: number,
    request = "",
    nfree?: number,
  ): Uint8Array {
    encodeOpRequest(this.#w, {
      command,
      sid,
      ioid,
      subcmd: nfree === undefined ? 0x08 : 0x88,
      pvRequest: buildRequest(request),
      nfree,
    });
    return this.#take();
  }

  /** A request with no body (GET exec, MONITOR start/stop, PUT get-put). */
  exec(command: OpCommand, sid: number, ioid: number, subcmd: number): Uint8Array {
    encodeOpRequest(this.#w, { command, sid, ioid, subcmd });
    return this.#take();
  }

  /** MONITOR ack of `n` updates. */
  ack(sid: number, ioid: number, n: number): Uint8Array {
    encodeOpRequest(this.#w, { command: PvaCommand.MONITOR, sid, ioid, subcmd: 0x80, nfree: n });
    return this.#take();
  }

  /** PUT exec: sets `fields` (path -> content) on a value of the INIT type. */
  put(sid: number, ioid: number, fields: Record<string, unknown>, subcmd = 0): Uint8Array {
    const t = this.types.get(ioid);
    if (!t) throw new Error(`no INIT reply for ${ioid}`);
    const v = PvValue.create(t);
    for (const [p, x] of Object.entries(fields)) {
      const f = v.field(p);
      if (f.type.code === 0x81 && x && typeof x === "object" && !("index" in x)) {
        const [k, c] = Object.entries(x)[0];
        f.select(k, c);
      } else {
        f.assign(x);
      }
    }
    encodeOpRequest(this.#w, {
      command: PvaCommand.PUT,
      sid,
      ioid,
      subcmd,
      value: v,
      changed: v.changed,
    });
    return this.#take();
  }

  /** PUT exec with raw bits and value (for malformed-input tests). */
  putRaw(sid: number, ioid: number, value: PvValue, changed: BitSet): Uint8Array {
    encodeOpRequest(this.#w, { command: PvaCommand.PUT, sid, ioid, subcmd: 0, value, changed });
    return this.#take();
  }

  rpc(sid: number, ioid: number, args: PvValue | null): Uint8Array {
    encodeOpRequest(this.#w, { command: PvaCommand.RPC, sid, ioid, subcmd: 0, args });
    return this.#take();
  }

  getField(sid: number, ioid: number, subField = ""): Uint8Array {
    encodeGetFieldRequest(this.#w, { sid, ioid, subField });
    return this.#take();
  }

  destroyRequest(sid: number, ioid: number): Uint8Array {
    encodeRequestIds(this.#w, PvaCommand.DESTROY_REQUEST, { sid, ioid });
    return this.#take();
  }

  cancel(sid: number, ioid: number): Uint8Array {
    encodeRequestIds(this.#w, PvaCommand.CANCEL_REQUEST, { sid, ioid });
    return this.#take();
  }

  echo(payload: Uint8Array): Uint8Array {
    encodeEcho(this.#w, payload, false);
    return this.#take();
  }
}
