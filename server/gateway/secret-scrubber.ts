/**
 * Masks an upstream secret in a byte stream. An upstream may echo what it was sent (a debug
 * endpoint, an error quoting the request), and the agent must never read the secret the gateway
 * adds, so every answer's body passes through here on its way out.
 *
 * The mask is one `*` per byte: same length, so a `content-length` stays true and the body can be
 * streamed without buffering it. A match may straddle two chunks, so a chunk's tail that is the
 * start of the secret is held back until the next chunk (or the end) shows whether it completes
 * one. Only such a tail: holding back a fixed length would delay the last event of a stream that
 * pauses (an LLM between tokens) until the next one came.
 */
export class SecretScrubber {
  private readonly secret: Buffer;
  private readonly mask: Buffer;
  private carry: Buffer = Buffer.alloc(0);

  constructor(secret: string) {
    this.secret = Buffer.from(secret, "utf8");
    this.mask = Buffer.alloc(this.secret.length, "*");
  }

  /** The bytes of `chunk` (after those held back before) that can be sent now, masked. */
  push(chunk: Buffer): Buffer {
    const bytes = this.carry.length === 0 ? chunk : Buffer.concat([this.carry, chunk]);
    const masked = this.maskAll(bytes);
    const keep = this.startOfSecretAtEnd(masked);
    this.carry = Buffer.from(masked.subarray(masked.length - keep));
    return masked.subarray(0, masked.length - keep);
  }

  /** What is still held back, at the end of the body. */
  flush(): Buffer {
    const rest = this.carry;
    this.carry = Buffer.alloc(0);
    return rest;
  }

  /** `text` with every occurrence of the secret masked (for headers and messages). */
  scrubText(text: string): string {
    const secret = this.secret.toString("utf8");
    return text.includes(secret) ? text.replaceAll(secret, "*".repeat(this.secret.length)) : text;
  }

  /** The length of the longest tail of `bytes` that the secret starts with (0..length-1). */
  private startOfSecretAtEnd(bytes: Buffer): number {
    for (let length = Math.min(this.secret.length - 1, bytes.length); length > 0; length--) {
      if (bytes.subarray(bytes.length - length).equals(this.secret.subarray(0, length))) {
        return length;
      }
    }
    return 0;
  }

  private maskAll(bytes: Buffer): Buffer {
    let at = bytes.indexOf(this.secret);
    if (at === -1) return bytes;
    const copy = Buffer.from(bytes);
    while (at !== -1) {
      this.mask.copy(copy, at);
      at = copy.indexOf(this.secret, at + this.secret.length);
    }
    return copy;
  }
}
