import { createHash } from "node:crypto";

/**
 * Digest of an operation's parameters, stored with its request id: a replay must match it exactly,
 * or the call fails IDEMPOTENCY_KEY_REUSED. Object keys are sorted so that metadata given in a
 * different order is still the same request.
 */
export function fingerprint(operation: string, params: Record<string, unknown>): string {
  return createHash("sha256")
    .update(canonicalJson([operation, params]))
    .digest("base64url")
    .slice(0, 22);
}

function canonicalJson(value: unknown): string {
  if (typeof value === "bigint") return value.toString();
  if (value === undefined) return "null";
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}
