import { readFileSync } from "node:fs";
import { createClient, type TollgateClient } from "../client.js";
import type { ClientOptions } from "../options.js";
import { usageError } from "./exit-codes.js";
import { createOutput, type Output } from "./output.js";

/** The global flags, as commander parsed them (with their environment fallbacks). */
export interface GlobalOptions {
  address: string;
  apiKey?: string;
  timeout?: number;
  tls?: boolean;
  tlsCa?: string;
  json?: boolean;
}

/** The default server address, as for the server's own TOLLGATE_ADDRESS. */
export const defaultAddress = "127.0.0.1:50051";

/**
 * What one command runs with: its output and a client, connected on first use (so a command
 * refused before any call never opens a channel) and closed when the command ends.
 */
export class CliContext {
  readonly out: Output;
  private client: TollgateClient | undefined;

  constructor(
    readonly options: GlobalOptions,
    out?: Output,
  ) {
    this.out = out ?? createOutput({ json: options.json === true });
  }

  /** The client, created on first use from the global flags. */
  get tg(): TollgateClient {
    this.client ??= createClient(this.clientOptions());
    return this.client;
  }

  /** The ClientOptions of the global flags; a TLS file that cannot be read is a usage error. */
  clientOptions(): ClientOptions {
    const { address, apiKey, timeout, tls, tlsCa } = this.options;
    let tlsOption: ClientOptions["tls"] = tls === true;
    if (tlsCa !== undefined) {
      try {
        tlsOption = { rootCerts: readFileSync(tlsCa) };
      } catch (error) {
        throw usageError(`--tls-ca ${tlsCa}: ${(error as Error).message}`);
      }
    }
    return {
      address,
      apiKey: apiKey === "" ? undefined : apiKey,
      deadlineMs: timeout,
      tls: tlsOption,
    };
  }

  /** Closes the client if one was opened. Idempotent. */
  close(): void {
    this.client?.close();
    this.client = undefined;
  }
}
