/**
 * A start-up failure whose message says it all in one line: the setting at fault, what went wrong
 * and what to do. `main` prints it as it is, without its cause, which the message already states
 * in words an operator can act on.
 */
export class StartError extends Error {
  override readonly name = "StartError";
}

/**
 * The one line `main` prints when the server cannot start: a {@link StartError}'s message as it
 * is; for any other error its message, followed by its cause's unless the message already quotes
 * it (wrapped errors often do, and the line would say the same thing twice).
 */
export function startFailureLine(error: unknown): string {
  if (error instanceof StartError) return `tollgate failed to start: ${error.message}\n`;
  const message = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : "";
  const because = cause !== "" && !message.includes(cause) ? `: ${cause}` : "";
  return `tollgate failed to start: ${message}${because}\n`;
}
