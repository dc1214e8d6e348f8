import { createHash } from "node:crypto";

/**
 * 16 hex digits (64 bits) of SHA-256 over {@link canonicalJson} of a tool's input. It tells apart
 * two calls that reuse one call id with different inputs (models do reuse ids like `call_0`),
 * while a genuine retry, which resends the same input, gets the same fingerprint. 64 bits keep
 * the request id short; a collision needs the same tool and call id too.
 */
export function inputFingerprint(input: unknown): string {
  return createHash("sha256").update(canonicalJson(input)).digest("hex").slice(0, 16);
}

/**
 * JSON with object keys sorted at every depth, so the same input serialises the same way however
 * its keys were ordered. What JSON cannot carry still gets a stable, distinct spelling instead
 * of an exception (the input of a paid call must never fail to fingerprint): `undefined`,
 * `NaN`/`Infinity` and bigints (`12n`) unquoted, a function or symbol by its type, Maps and Sets
 * as tagged arrays, a cycle as `"[Circular]"`. An object's `toJSON` (Date, Buffer) is honoured,
 * and a property whose value is undefined is left out, as JSON.stringify does, so an input that
 * went through a JSON round trip (a framework's retry) fingerprints like the original.
 */
export function canonicalJson(value: unknown): string {
  return write(value, new Set());
}

function write(value: unknown, path: Set<object>): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      return Number.isFinite(value) ? JSON.stringify(value) : String(value);
    case "boolean":
      return String(value);
    case "bigint":
      return `${value}n`;
    case "undefined":
      return "undefined";
    case "function":
    case "symbol":
      return `<${typeof value}>`;
  }
  if (value === null) return "null";
  const object = value as object;
  if (path.has(object)) return '"[Circular]"';
  path.add(object);
  try {
    if (typeof (object as { toJSON?: unknown }).toJSON === "function") {
      return write((object as { toJSON(): unknown }).toJSON(), path);
    }
    if (Array.isArray(object)) return `[${object.map((item) => write(item, path)).join(",")}]`;
    if (object instanceof Map) {
      const entries = [...object].map(([k, v]) => `[${write(k, path)},${write(v, path)}]`);
      return `{"<Map>":[${entries.sort().join(",")}]}`;
    }
    if (object instanceof Set) {
      const items = [...object].map((item) => write(item, path));
      return `{"<Set>":[${items.sort().join(",")}]}`;
    }
    const fields = Object.keys(object)
      .sort()
      .filter((key) => (object as Record<string, unknown>)[key] !== undefined)
      .map(
        (key) => `${JSON.stringify(key)}:${write((object as Record<string, unknown>)[key], path)}`,
      );
    return `{${fields.join(",")}}`;
  } finally {
    path.delete(object);
  }
}
