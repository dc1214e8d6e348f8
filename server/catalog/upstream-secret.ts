import { readFileSync } from "node:fs";
import { inspect } from "node:util";

/**
 * An upstream credential, held so that it cannot leak by accident: `String()`, `JSON.stringify`,
 * `util.inspect` (and so pino and console) all print `[redacted]`. Only the gateway asks for the
 * value, when it writes the upstream request's header.
 */
export class UpstreamSecret {
  readonly #value: string;

  private constructor(
    value: string,
    /** Where it came from (`env:NAME`, `file:/path`): safe to print. */
    readonly source: string,
  ) {
    this.#value = value;
  }

  /**
   * Reads the secret from the environment variable `env` or the file `file` (exactly one), trimmed
   * of surrounding whitespace (a trailing newline in a mounted secret file is never part of it).
   *
   * @throws Error naming the source (never the value) when it is unset, empty or unreadable.
   */
  static load(
    ref: { env?: string; file?: string },
    environment: NodeJS.ProcessEnv,
  ): UpstreamSecret {
    if (ref.env !== undefined) {
      const value = environment[ref.env]?.trim();
      if (!value) throw new Error(`environment variable ${ref.env} is unset or empty`);
      return new UpstreamSecret(value, `env:${ref.env}`);
    }
    if (ref.file !== undefined) {
      let value: string;
      try {
        value = readFileSync(ref.file, "utf8").trim();
      } catch (error) {
        throw new Error(`secret file ${ref.file} cannot be read (${(error as Error).message})`);
      }
      if (value === "") throw new Error(`secret file ${ref.file} is empty`);
      return new UpstreamSecret(value, `file:${ref.file}`);
    }
    throw new Error("names neither secretEnv nor secretFile");
  }

  /** The secret itself: for the upstream request's header, and for scrubbing it from answers. */
  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return "[redacted]";
  }

  toJSON(): string {
    return "[redacted]";
  }

  [inspect.custom](): string {
    return `UpstreamSecret(${this.source})`;
  }
}
