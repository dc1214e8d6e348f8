import { type DestinationStream, type Logger, pino } from "pino";
import type { LogLevel } from "./config.js";

export type { Logger } from "pino";

/**
 * The server's logger: pino, one JSON object per line on stdout (or `destination`), so any log
 * pipeline can index calls by method, request id, wallet id and code without parsing text.
 * `base` drops pid and hostname: the process supervisor already knows both, and every call line
 * carries them for nothing otherwise.
 */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = { level, base: { service: "tollgate" } };
  return destination === undefined ? pino(options) : pino(options, destination);
}
