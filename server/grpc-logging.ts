import { logVerbosity, setLogger, setLogVerbosity } from "@grpc/grpc-js";
import type { Logger } from "./logger.js";
import { redactSecrets } from "./redact-secrets.js";

/**
 * Messages grpc-js logs about a failure tollgate reports itself: logging them as well would print
 * the failure twice, the second time without the hint. A bind failure rejects
 * `startTollgateServer` (a `BindError`), which `main` prints as one line naming TOLLGATE_ADDRESS.
 */
const reportedByTollgate = [/^No address added out of total \d+ resolved$/];

/**
 * Sends everything grpc-js logs through `logger` (pino, `component: "grpc-js"`), with credentials
 * redacted ({@link redactSecrets}), instead of grpc-js's default: raw text on stderr, which quotes
 * a request's `authorization` header whole when it holds a byte that metadata does not allow.
 *
 * grpc-js's errors are logged as warnings: each is about one call or one connection (a client's
 * invalid header, a failed handshake); whatever stops the server is thrown to tollgate instead.
 * grpc-js's own verbosity follows the logger's level, so its tracers (`GRPC_TRACE`) show at
 * `debug`. grpc-js keeps one logger per process: this is for the process entry point, not for an
 * application that embeds `startTollgateServer` next to its own grpc-js logging.
 */
export function routeGrpcLogging(logger: Logger): void {
  const grpc = logger.child({ component: "grpc-js" });
  const write =
    (level: "warn" | "info" | "debug") =>
    (...parts: unknown[]): void => {
      const text = parts.map(textOf).join(" ");
      if (reportedByTollgate.some((message) => message.test(text))) return;
      grpc[level](redactSecrets(text));
    };
  setLogger({ error: write("warn"), info: write("info"), debug: write("debug") });
  setLogVerbosity(verbosityOf(logger.level));
}

/** grpc-js's verbosity for a pino level: nothing is formatted that pino would drop anyway. */
function verbosityOf(level: string): number {
  switch (level) {
    case "trace":
    case "debug":
      return logVerbosity.DEBUG;
    case "info":
      return logVerbosity.INFO;
    case "silent":
      return logVerbosity.NONE;
    default:
      return logVerbosity.ERROR;
  }
}

function textOf(part: unknown): string {
  if (part instanceof Error) return part.message;
  return typeof part === "string" ? part : String(part);
}
