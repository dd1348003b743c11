/**
 * Frame typing and encoding. The types are derived from the generated
 * ClientFrame/ServerFrame oneofs, so adding a frame to gateway.proto makes it
 * available to `HearthClient.request` after `npm run generate`, with no SDK
 * change.
 */
import { create, fromBinary, fromJson, toBinary, toJson, type MessageInitShape } from "@bufbuild/protobuf";
import type { GenMessage } from "@bufbuild/protobuf/codegenv2";
import {
  ClientFrameSchema,
  ServerFrameSchema,
  type ClientFrame,
  type ServerFrame,
} from "./gen/hearth/gateway/v1/gateway_pb.js";

/** Every ClientFrame `kind` case. */
export type ClientCase = NonNullable<ClientFrame["kind"]["case"]>;
/** Every ServerFrame `kind` case. */
export type ServerCase = NonNullable<ServerFrame["kind"]["case"]>;

/** Request kinds an app may send; `auth` is owned by the client's connection logic. */
export type RequestCase = Exclude<ClientCase, "auth">;

/** The message carried by a ClientFrame case. */
export type RequestMessage<K extends ClientCase> = Extract<ClientFrame["kind"], { case: K }>["value"];

/** The init shape (plain object or message) accepted for a request case. */
export type RequestInit<K extends ClientCase> = MessageInitShape<GenMessage<RequestMessage<K>>>;

/** The ServerFrame case answering a ClientFrame case: the same name, except auth→connected and ping→pong. */
export type ReplyCase<K extends ClientCase> = K extends "auth" ? "connected" : K extends "ping" ? "pong" : K;

/** The reply message of a request case. */
export type ReplyOf<K extends ClientCase> = Extract<ServerFrame["kind"], { case: ReplyCase<K> }>["value"];

/** The message carried by a ServerFrame case. */
export type ServerMessage<K extends ServerCase> = Extract<ServerFrame["kind"], { case: K }>["value"];

export function replyCaseOf(kind: ClientCase): ServerCase {
  if (kind === "auth") return "connected";
  if (kind === "ping") return "pong";
  return kind as ServerCase;
}

export type Encoding = "protobuf" | "json";

/** Builds a ClientFrame from a case and its init shape. */
export function makeClientFrame<K extends ClientCase>(ref: string, kind: K, payload: RequestInit<K>): ClientFrame {
  // The generic case/value pair cannot be narrowed by TypeScript; the
  // public signature above keeps callers type-safe.
  return create(ClientFrameSchema, {
    ref,
    kind: { case: kind, value: payload },
  } as MessageInitShape<typeof ClientFrameSchema>);
}

/** Encodes one ClientFrame for one WebSocket message. */
export function encodeClientFrame(frame: ClientFrame, encoding: Encoding): string | Uint8Array {
  if (encoding === "protobuf") return toBinary(ClientFrameSchema, frame);
  return JSON.stringify(toJson(ClientFrameSchema, frame));
}

/**
 * Decodes one WebSocket message. Text is canonical JSON, binary is protobuf,
 * whatever the connection's encoding (docs/protocol.md §1: decode by message
 * type). Unknown JSON fields are ignored so a newer gateway's frames do not
 * break older clients; unknown binary fields are skipped by protobuf itself.
 */
export function decodeServerFrame(data: unknown): ServerFrame {
  if (typeof data === "string") {
    return fromJson(ServerFrameSchema, JSON.parse(data), { ignoreUnknownFields: true });
  }
  return fromBinary(ServerFrameSchema, toBytes(data));
}

function toBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (Array.isArray(data)) {
    // The `ws` package may deliver fragmented messages as Buffer[].
    const parts = data.map((p) => toBytes(p));
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let off = 0;
    for (const p of parts) {
      out.set(p, off);
      off += p.length;
    }
    return out;
  }
  throw new TypeError(`unsupported WebSocket message data: ${Object.prototype.toString.call(data)}`);
}

/** Encodes a ServerFrame (used by tests and tools that play the gateway). */
export function encodeServerFrame(frame: ServerFrame, encoding: Encoding): string | Uint8Array {
  if (encoding === "protobuf") return toBinary(ServerFrameSchema, frame);
  return JSON.stringify(toJson(ServerFrameSchema, frame));
}

/** Decodes a ClientFrame (used by tests and tools that play the gateway). */
export function decodeClientFrame(data: unknown): ClientFrame {
  if (typeof data === "string") return fromJson(ClientFrameSchema, JSON.parse(data));
  return fromBinary(ClientFrameSchema, toBytes(data));
}
