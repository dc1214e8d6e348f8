import { invalidArgument } from "./errors/invalid-argument-error.js";

/**
 * The largest request the server reads, in bytes: its default `TOLLGATE_MAX_MESSAGE_BYTES`
 * (server/config.ts). A larger message is refused with RESOURCE_EXHAUSTED, which on a
 * SpendStream ends the stream for every operation on it, so the client refuses it first.
 */
export const maxMessageBytes = 64 * 1024;

/**
 * Room left for the SpendStream envelope around an operation: the correlation id (tag and up to
 * 5 bytes of varint) and the oneof's tag and length (up to 4 bytes below 2 MiB), rounded up. An
 * operation that fits in `maxMessageBytes - envelope` fits in a stream frame too, so unary and
 * stream refuse exactly the same requests.
 */
const streamEnvelopeBytes = 16;

/** A generated message type: all this module needs is its encoder. */
export interface MessageEncoder<T> {
  encode(message: T): { finish(): Uint8Array };
}

/**
 * `message`, or an InvalidArgumentError (field `request`) when it encodes past what the server
 * reads. The field checks bound every string but the wallet and hold ids, so this is the guard
 * for those; it encodes only when a cheap upper bound says the message might be too large.
 */
export function checkMessageSize<T>(type: MessageEncoder<T>, message: T): T {
  const limit = maxMessageBytes - streamEnvelopeBytes;
  if (sizeBound(message) <= limit) return message;
  const bytes = type.encode(message).finish().byteLength;
  if (bytes > limit) {
    throw invalidArgument(
      "request",
      `encodes to ${bytes} bytes, past the ${limit} bytes a request may take (the server reads at most ${maxMessageBytes} per message)`,
    );
  }
  return message;
}

/**
 * An upper bound of a plain request's protobuf size: a UTF-16 code unit never takes more than
 * 3 UTF-8 bytes, and no tag, length or scalar takes more than 11. Field names are counted as if
 * they were map keys, which only overestimates.
 */
function sizeBound(value: unknown): number {
  if (typeof value === "string") return 3 * value.length + 11;
  if (value === null || typeof value !== "object") return 11;
  let bytes = 11;
  for (const [key, entry] of Object.entries(value)) bytes += sizeBound(key) + sizeBound(entry);
  return bytes;
}
