import { type DescMessage, fromBinary, fromJsonString } from "@bufbuild/protobuf";
import type {
  Compression,
  UniversalHandler,
  UniversalServerRequest,
} from "@connectrpc/connect/protocol";
import { MalformedRequest } from "../rpc/malformed-request.js";
import { httpCallOf } from "./http-call.js";

/**
 * How a request body is framed, from its Content-Type: JSON or binary, one bare message (Connect
 * unary) or one message in a 5-byte envelope (Connect streaming, gRPC-Web), and which header
 * names its compression.
 */
interface BodyFormat {
  json: boolean;
  enveloped: boolean;
  encodingHeader: string;
}

/** Content-Type (without parameters) -> format, for every protocol the HTTP face serves. */
const formats: ReadonlyMap<string, BodyFormat> = new Map([
  ["application/json", { json: true, enveloped: false, encodingHeader: "content-encoding" }],
  ["application/proto", { json: false, enveloped: false, encodingHeader: "content-encoding" }],
  [
    "application/connect+json",
    { json: true, enveloped: true, encodingHeader: "connect-content-encoding" },
  ],
  [
    "application/connect+proto",
    { json: false, enveloped: true, encodingHeader: "connect-content-encoding" },
  ],
  ["application/grpc-web", { json: false, enveloped: true, encodingHeader: "grpc-encoding" }],
  ["application/grpc-web+proto", { json: false, enveloped: true, encodingHeader: "grpc-encoding" }],
  ["application/grpc-web+json", { json: true, enveloped: true, encodingHeader: "grpc-encoding" }],
]);

/** Settings the reader shares with the Connect router, so both judge a body the same way. */
export interface TolerantRequestOptions {
  /** The request size cap (the router's `readMaxBytes`). */
  readMaxBytes: number;
  /** The compressions the router accepts. */
  compressions: readonly Compression[];
}

/**
 * The HTTP face's counterpart of grpc-js's `tolerantRequests` (server/rpc/malformed-request.ts):
 * `handler` with its request body read and checked before Connect sees it. When the body does
 * not decode as the method's request message (JSON of the wrong shape, an unknown JSON field, a
 * wrong type, bytes that are not protobuf), Connect would answer with an error of its own, before
 * any handler runs: no ErrorInfo, nothing logged, and for binary bodies INTERNAL, as if the fault
 * were the server's. Instead the request goes on with an empty message in its place, and the
 * decoder's error is left in the call's record (`HttpCall.malformed`), where the call adapter
 * finds it and, after authenticating the call, refuses it INVALID_ARGUMENT with reason
 * MALFORMED_REQUEST, logged and counted like any refusal: the same answer grpc-js gives.
 *
 * Only bodies this reader can judge exactly as Connect would are checked: the content types of
 * the protocols served, one message, compressed (if at all) with an accepted compression. Any
 * other request passes untouched, and Connect answers it as it does (415 for a content type it
 * does not serve, its own error for a broken envelope). A body past `readMaxBytes` is not read
 * beyond the cap: it is marked oversized and handed on, and Connect refuses it
 * RESOURCE_EXHAUSTED.
 *
 * JSON is decoded strictly, unknown fields included (the router is configured the same way): a
 * hand-typed body with a misspelt field must not silently become a call with that field unset.
 */
export function tolerantHandler(
  handler: UniversalHandler,
  options: TolerantRequestOptions,
): UniversalHandler {
  const input = handler.method.input;
  const path = handler.requestPath;
  async function tolerant(request: UniversalServerRequest) {
    const format = formatOf(request);
    const body = request.body;
    if (format === undefined || !isByteStream(body)) return handler(request);
    // One envelope's header on top of the cap, so a message of exactly the cap is read whole.
    const read = await readUpTo(body, options.readMaxBytes + 5);
    if (read.rest !== undefined) {
      const call = httpCallOf(request.contextValues);
      if (call !== undefined) call.oversized = true;
      return handler({ ...request, body: replay(read.chunks, read.rest) });
    }
    const bytes = concat(read.chunks);
    const problem = await decodeProblem(bytes, format, request.header, input, options);
    const call = httpCallOf(request.contextValues);
    if (problem === undefined || call === undefined) {
      return handler({ ...request, body: replay([bytes]) });
    }
    call.malformed = new MalformedRequest(path, problem);
    const empty = emptyBody(format);
    const header = new Headers(request.header);
    header.delete(format.encodingHeader);
    header.set("content-length", String(empty.byteLength));
    return handler({ ...request, header, body: replay([empty]) });
  }
  return Object.assign(tolerant, {
    protocolNames: handler.protocolNames,
    service: handler.service,
    method: handler.method,
    requestPath: handler.requestPath,
    allowedMethods: handler.allowedMethods,
    supportedContentType: handler.supportedContentType,
  });
}

function formatOf(request: UniversalServerRequest): BodyFormat | undefined {
  if (request.method !== "POST") return undefined;
  const type = (request.header.get("content-type") ?? "").split(";", 1)[0]?.trim().toLowerCase();
  return type === undefined ? undefined : formats.get(type);
}

function isByteStream(body: unknown): body is AsyncIterable<Uint8Array> {
  return typeof body === "object" && body !== null && Symbol.asyncIterator in body;
}

/**
 * Why `bytes` is not one well-formed request message, or undefined when it is, or when this
 * reader cannot tell (framing or compression it leaves to Connect).
 */
async function decodeProblem(
  bytes: Uint8Array,
  format: BodyFormat,
  header: Headers,
  input: DescMessage,
  options: TolerantRequestOptions,
): Promise<unknown> {
  let payload = bytes;
  let compressed = false;
  if (format.enveloped) {
    if (bytes.byteLength < 5) return undefined;
    const flags = bytes[0] ?? 0;
    const length = new DataView(bytes.buffer, bytes.byteOffset, 5).getUint32(1);
    if ((flags & ~1) !== 0 || bytes.byteLength !== 5 + length) return undefined;
    payload = bytes.subarray(5);
    compressed = (flags & 1) === 1;
  } else {
    compressed = header.has(format.encodingHeader);
  }
  const encoding = header.get(format.encodingHeader);
  if (compressed && encoding !== null && encoding !== "identity") {
    const compression = options.compressions.find((c) => c.name === encoding);
    if (compression === undefined) return undefined;
    try {
      payload = await compression.decompress(payload, options.readMaxBytes);
    } catch {
      return undefined;
    }
  }
  try {
    if (format.json) {
      const text = new TextDecoder("utf-8", { fatal: true }).decode(payload);
      fromJsonString(input, text, { ignoreUnknownFields: false });
    } else {
      fromBinary(input, payload);
    }
    return undefined;
  } catch (error) {
    return error;
  }
}

/** The body of an empty request message in `format`. */
function emptyBody(format: BodyFormat): Uint8Array {
  const message = format.json ? new TextEncoder().encode("{}") : new Uint8Array(0);
  if (!format.enveloped) return message;
  const enveloped = new Uint8Array(5 + message.byteLength);
  new DataView(enveloped.buffer).setUint32(1, message.byteLength);
  enveloped.set(message, 5);
  return enveloped;
}

/** Reads chunks until the stream ends or more than `max` bytes came; then `rest` continues it. */
async function readUpTo(
  body: AsyncIterable<Uint8Array>,
  max: number,
): Promise<{ chunks: Uint8Array[]; rest: AsyncIterator<Uint8Array> | undefined }> {
  const iterator = body[Symbol.asyncIterator]();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const next = await iterator.next();
    if (next.done === true) return { chunks, rest: undefined };
    chunks.push(next.value);
    total += next.value.byteLength;
    if (total > max) return { chunks, rest: iterator };
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1 && chunks[0] !== undefined) return chunks[0];
  const total = chunks.reduce((sum, c) => sum + c.byteLength, 0);
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** The chunks already read, then the rest of the original stream (if any). */
async function* replay(
  chunks: Uint8Array[],
  rest?: AsyncIterator<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  yield* chunks;
  if (rest === undefined) return;
  for (;;) {
    const next = await rest.next();
    if (next.done === true) return;
    yield next.value;
  }
}
