import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SecretScrubber } from "../../server/gateway/secret-scrubber.js";

describe("SecretScrubber", () => {
  it("masks the secret across every way of cutting the stream, keeping the length", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 12 }),
        fc.array(fc.oneof(fc.string({ maxLength: 20 }), fc.constant("\u0000SECRET")), {
          maxLength: 10,
        }),
        fc.array(fc.nat(60), { maxLength: 8 }),
        (secret, parts, cuts) => {
          const text = parts.map((p) => p.replaceAll("\u0000SECRET", secret)).join("");
          const bytes = Buffer.from(text, "utf8");
          const scrubber = new SecretScrubber(secret);
          const points = [...new Set(cuts.map((c) => Math.min(c, bytes.length)))].sort(
            (a, b) => a - b,
          );
          const out: Buffer[] = [];
          let from = 0;
          for (const point of [...points, bytes.length]) {
            out.push(scrubber.push(bytes.subarray(from, point)));
            from = point;
          }
          out.push(scrubber.flush());
          const result = Buffer.concat(out);
          expect(result.length).toBe(bytes.length);
          expect(result.includes(Buffer.from(secret, "utf8"))).toBe(
            // Masking can only leave the secret if the mask itself spells it.
            /^\*+$/.test(secret) && result.includes(Buffer.from(secret)),
          );
        },
      ),
    );
  });

  it("masks header text", () => {
    const scrubber = new SecretScrubber("sk-live-123");
    expect(scrubber.scrubText("Bearer sk-live-123, again sk-live-123")).toBe(
      "Bearer ***********, again ***********",
    );
  });
});
