/**
 * What stands in for a withheld value. Fixed text, so a log search for it finds every line that
 * had something withheld.
 */
export const redacted = "[REDACTED]";

/** Header names whose values are credentials (matched case-insensitively). */
const secretHeaders = "authorization|proxy-authorization|x-api-key|api-key|cookie|set-cookie";

/**
 * grpc-js refusing a request metadata entry: `Failed to add metadata entry <key>: <value>.
 * <reason, quoting the value again>. For more information see <url>`. The value may hold any
 * header, a credential included, and cannot be told apart from the reason reliably (both may
 * contain ". "), so nothing after the key is kept.
 */
const refusedEntry = /^Failed to add metadata entry ([^:]{0,64})[^:]*: /;

/** `"authorization":["Bearer ..."]` or `"authorization":"..."`, as grpc-js traces headers (JSON). */
const jsonHeader = new RegExp(
  `("(?:${secretHeaders})"\\s*:\\s*)(\\[(?:[^\\]"]|"(?:[^"\\\\]|\\\\.)*")*\\]|"(?:[^"\\\\]|\\\\.)*")`,
  "gi",
);

/** `authorization: <value>` or `authorization=<value>`, to the end of the line. */
const headerLine = new RegExp(`\\b(${secretHeaders})(\\s*[:=]\\s*)[^\\r\\n]*`, "gi");

/** A credential after its scheme, wherever it appears: `Bearer <key>`, `Basic <user:password>`. */
const schemeToken = /\b(Bearer|Basic)\s+[^\s"',;\]]+/gi;

/**
 * `text` with every credential it may quote replaced by {@link redacted}: for lines written by
 * code tollgate does not control (grpc-js), which can quote request headers verbatim. An API key
 * must never reach a log: logs are shipped, indexed and read by many more people than the keys'
 * owners, and a key is as good as the project's money.
 *
 * Redacts the value of an entry grpc-js refused (whatever its name: its reason quotes it, and a
 * misnamed header may still carry a key), the values of credential headers in JSON or
 * `name: value` form, and any `Bearer` or `Basic` token. Errs on the side of withholding.
 */
export function redactSecrets(text: string): string {
  const refused = refusedEntry.exec(text);
  if (refused !== null) {
    return `Failed to add metadata entry ${refused[1]}: ${redacted} (${refusedWhy(text)}); the entry was dropped from the request`;
  }
  return text
    .replace(jsonHeader, `$1"${redacted}"`)
    .replace(headerLine, `$1$2${redacted}`)
    .replace(schemeToken, `$1 ${redacted}`);
}

/** Why grpc-js refused an entry, in words that quote neither its key nor its value. */
function refusedWhy(text: string): string {
  if (text.includes("Metadata string value")) {
    return "the value has characters metadata does not allow: only printable ASCII";
  }
  if (text.includes("Metadata key")) return "the key has characters metadata does not allow";
  return "invalid entry";
}
