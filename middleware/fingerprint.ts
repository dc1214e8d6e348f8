import { createHash, randomBytes } from "node:crypto";

/**
 * 16 hex digits (64 bits) of SHA-256 over {@link canonicalJson} of a tool's input. It tells apart
 * two calls that reuse one call id with different inputs (models do reuse ids like `call_0`),
 * while a genuine retry, which resends the same input, gets the same fingerprint. 64 bits keep
 * the request id short; a collision needs the same tool and call id too.
 *
 * Never throws: an input that cannot be serialised (a getter or `toJSON` that throws, nesting too
 * deep for the stack) gets 16 random hex digits instead, with a process warning
 * `TOLLGATE_UNFINGERPRINTABLE_INPUT`. That call is then not de-duplicated: a retry of it gets
 * another random fingerprint and is charged as a new call.
 */
export function inputFingerprint(input: unknown, toolName = "a tool"): string {
  let canonical: string;
  try {
    canonical = canonicalJson(input);
  } catch (error) {
    process.emitWarning(
      `the input of ${toolName} cannot be fingerprinted (${describe(error)}); the call gets a random request id, so a retry of it is charged as a new call`,
      { code: "TOLLGATE_UNFINGERPRINTABLE_INPUT" },
    );
    return randomBytes(8).toString("hex");
  }
  return createHash("sha256").update(canonical).digest("hex").slice(0, 16);
}

function describe(error: unknown): string {
  try {
    return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  } catch {
    return "an unprintable error";
  }
}

/**
 * Starts the spelling of what JSON cannot carry (Maps, Sets, RegExps, cycles). JSON text never
 * contains a raw NUL (a string escapes it as `\u0000`), so no plain value can spell a tagged one.
 */
const tag = "\u0000";

/**
 * JSON with object keys sorted at every depth, so the same input serialises the same way however
 * its keys were ordered. Where JSON.stringify has an answer, it is followed, so an input that went
 * through a JSON round trip (a framework's retry) fingerprints like the original: an object's
 * `toJSON` (Date, Buffer) is honoured; a property whose value is undefined, a function or a symbol
 * is left out; such an array item, and `NaN`/`Infinity` anywhere, is written `null`. What JSON
 * cannot carry gets a stable spelling no JSON value can have, instead of an exception: bigints
 * (`12n`), a top-level undefined, function or symbol (`undefined`, `<function>`, `<symbol>`), and,
 * after a NUL character, a RegExp (by its source and flags), a Map or Set (entries sorted), a
 * cycle. It throws only for what cannot be read at all (a throwing getter or `toJSON`, nesting too
 * deep for the stack); {@link inputFingerprint} catches that.
 */
export function canonicalJson(value: unknown): string {
  return write(value, new Set()) ?? unrepresentable(value);
}

/** The spelling of `value`, or undefined where JSON.stringify leaves it out (undefined, functions, symbols). */
function write(value: unknown, path: Set<object>): string | undefined {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      // JSON.stringify writes NaN and ±Infinity as null.
      return Number.isFinite(value) ? JSON.stringify(value) : "null";
    case "boolean":
      return String(value);
    case "bigint":
      return `${value}n`;
    case "undefined":
    case "function":
    case "symbol":
      return undefined;
  }
  if (value === null) return "null";
  const object = value as object;
  if (path.has(object)) return `${tag}Circular`;
  path.add(object);
  try {
    if (typeof (object as { toJSON?: unknown }).toJSON === "function") {
      return write((object as { toJSON(): unknown }).toJSON(), path);
    }
    if (Array.isArray(object)) {
      return `[${object.map((item) => write(item, path) ?? "null").join(",")}]`;
    }
    if (object instanceof RegExp) return `${tag}RegExp${JSON.stringify(String(object))}`;
    if (object instanceof Map) {
      const entries = [...object].map(([k, v]) => `[${item(k, path)},${item(v, path)}]`);
      return `${tag}Map[${entries.sort().join(",")}]`;
    }
    if (object instanceof Set) {
      const items = [...object].map((member) => item(member, path));
      return `${tag}Set[${items.sort().join(",")}]`;
    }
    const fields: string[] = [];
    for (const key of Object.keys(object).sort()) {
      const field = write((object as Record<string, unknown>)[key], path);
      if (field !== undefined) fields.push(`${JSON.stringify(key)}:${field}`);
    }
    return `{${fields.join(",")}}`;
  } finally {
    path.delete(object);
  }
}

/** A Map key or value, or a Set member: JSON has no rule for these, so keep them all, distinctly. */
function item(value: unknown, path: Set<object>): string {
  return write(value, path) ?? unrepresentable(value);
}

function unrepresentable(value: unknown): string {
  return value === undefined ? "undefined" : `<${typeof value}>`;
}
