import type { Command } from "commander";
import { CliContext, type GlobalOptions } from "./context.js";
import { ExitCode, type ExitCodeValue, errorLine, exitCodeOf } from "./exit-codes.js";

/** The body of a command: does its work with the context; throws to fail. */
export type Body = (ctx: CliContext) => Promise<ExitCodeValue | undefined>;

/**
 * Runs command bodies for one invocation and keeps its exit code: a body's failure becomes one
 * line on stderr and the exit code of its error, and the client is closed however it ends.
 */
export class Runner {
  exitCode: ExitCodeValue = ExitCode.ok;
  /** `serve` ran: the server owns the process (its signals, its exit code). */
  serving = false;

  /** The action of `command`: runs `body` with a context built from the global flags. */
  async run(command: Command, body: Body): Promise<void> {
    quietOnClosedPipe();
    const ctx = new CliContext(command.optsWithGlobals<GlobalOptions>());
    try {
      this.exitCode = (await body(ctx)) ?? ExitCode.ok;
    } catch (error) {
      this.exitCode = exitCodeOf(error);
      ctx.out.stderr.write(errorLine(error));
    } finally {
      ctx.close();
    }
  }
}

/**
 * `tollgate ... | head`: once the reader has gone, stop quietly (exit 0, as `cat` does under a
 * shell that ignores SIGPIPE) instead of crashing on EPIPE with a stack trace.
 */
let pipeWatched = false;
function quietOnClosedPipe(): void {
  if (pipeWatched) return;
  pipeWatched = true;
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(ExitCode.ok);
    throw error;
  });
}
