import { type DestinationStream, type Logger, pino } from "pino";
import type { LogLevel } from "./config.js";

export type { Logger } from "pino";

/**
 * How many bytes of log lines wait before one write, and for how long at most. Every unary call
 * writes one line, and a write is a system call that cost about as much CPU as the rest of the
 * line's work on the 2-core bench machine (issue 11's profile): batching makes it one write per
 * ~15 lines under load, while a quiet server still shows each line within a tenth of a second.
 */
const logBufferBytes = 4096;
const logFlushMs = 100;

/**
 * The server's logger: pino, one JSON object per line on stdout (or `destination`), so any log
 * pipeline can index calls by method, request id, wallet id and code without parsing text.
 * `base` drops pid and hostname: the process supervisor already knows both, and every call line
 * carries them for nothing otherwise. By default lines go out through {@link bufferedDestination}.
 */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = { level, base: { service: "tollgate" } };
  return pino(options, destination ?? bufferedDestination(1));
}

/**
 * A file descriptor or path written asynchronously in batches of {@link logBufferBytes}, flushed
 * every {@link logFlushMs} whatever the traffic, and synchronously when the process exits (pino
 * registers that for its destinations), so no line is lost or held back long.
 */
export function bufferedDestination(dest: number | string): DestinationStream {
  return pino.destination({
    dest,
    sync: false,
    minLength: logBufferBytes,
    periodicFlush: logFlushMs,
  });
}
