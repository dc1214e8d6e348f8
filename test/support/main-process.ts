import { type ChildProcess, spawn } from "node:child_process";
import { performance } from "node:perf_hooks";

/**
 * `npm start` as a real process (`npx tsx server/main.ts`), for tests of the entry point: the
 * environment it reads, its banner, its exit codes. Also runs the installed package's
 * `npx tollgate serve` (test/package), which starts the same entry point.
 */

/** A running `server/main.ts`. */
export interface Started {
  child: ChildProcess;
  /** The server process itself (npx and tsx sit in between and do not all forward signals). */
  pid: number;
  banner: string[];
  stdout: () => string;
  /** Everything written to stderr so far, the banner included. */
  stderr: () => string;
  exited: Promise<number | null>;
}

/**
 * This process's environment without any tollgate setting, as on a fresh machine, except that the
 * HTTP face binds a free port (tests run in parallel, and 8080 may be taken): a test that is
 * about the HTTP address sets TOLLGATE_HTTP_ADDRESS itself.
 */
function cleanEnv(): Record<string, string | undefined> {
  return {
    ...Object.fromEntries(
      Object.entries(process.env).filter(
        ([k]) => !k.startsWith("TOLLGATE_") && k !== "REDIS_URL" && k !== "REDIS_CLUSTER",
      ),
    ),
    TOLLGATE_HTTP_ADDRESS: "127.0.0.1:0",
  };
}

/** How to start the server: `npx <args>` in `cwd`. */
export interface Command {
  args: string[];
  cwd?: string;
}

/** `npm start`'s command, run from the repository (the working directory of the test run). */
const npmStart: Command = { args: ["tsx", "server/main.ts"] };

/**
 * `npx tsx server/main.ts` (or another `npx` command that starts the same server, such as an
 * installed package's `tollgate serve`) with only the given tollgate settings, waiting for its
 * banner.
 */
export async function startMain(
  settings: Record<string, string>,
  command: Command = npmStart,
): Promise<Started> {
  const child = spawn("npx", command.args, {
    cwd: command.cwd,
    // The gateway's default port is fixed (8081): tests that do not name one get a free port.
    env: { ...cleanEnv(), TOLLGATE_GATEWAY_ADDRESS: "127.0.0.1:0", ...settings },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (c: Buffer) => {
    stdout += c.toString();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  const banner = await new Promise<string[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner; stderr: ${stderr}`)), 20_000);
    child.stderr?.on("data", (c: Buffer) => {
      stderr += c.toString();
      const lines = stderr.split("\n");
      const at = lines.findIndex((l) => l.startsWith("tollgate serving gRPC on"));
      // The banner is one write, ending with a newline: its lines end at the first empty one.
      const end = at === -1 ? -1 : lines.indexOf("", at);
      if (end !== -1) {
        clearTimeout(timer);
        resolve(lines.slice(at, end));
      }
    });
    void exited.then((code) => reject(new Error(`exited ${code} before its banner: ${stderr}`)));
  });
  const pid = Number(/\(pid (\d+)\)/.exec(banner[0] ?? "")?.[1]);
  return { child, pid, banner, stdout: () => stdout, stderr: () => stderr, exited };
}

/** How a start-up failure ended. */
export interface Exited {
  code: number | null;
  stdout: string;
  stderr: string;
  /**
   * Milliseconds from the process's first output (its first log line, written before it opens
   * the store or binds) to its exit: how long the failing start took, without npx and tsx's own
   * start-up, which a loaded machine stretches to seconds.
   */
  afterFirstOutputMs: number | undefined;
}

/**
 * How long {@link exitOf} lets a process run: a start that was meant to fail but serves instead
 * (the behaviour a test exists to rule out) must not outlive its test, whose timeout is 30 s.
 */
const exitDeadlineMs = 25_000;

/**
 * Runs main with `settings` until it exits by itself (a start-up failure). One that is still
 * running after {@link exitDeadlineMs} is killed, with its whole process group (npx, tsx and the
 * server), and reported with code null.
 */
export async function exitOf(settings: Record<string, string>): Promise<Exited> {
  const child = spawn("npx", ["tsx", "server/main.ts"], {
    // The gateway's default port is fixed (8081): tests that do not name one get a free port.
    env: { ...cleanEnv(), TOLLGATE_GATEWAY_ADDRESS: "127.0.0.1:0", ...settings },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, so the deadline below can stop the server npx and tsx started.
    detached: true,
  });
  const deadline = setTimeout(() => {
    if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
  }, exitDeadlineMs);
  let stdout = "";
  let stderr = "";
  let firstOutputMs: number | undefined;
  const output = () => {
    firstOutputMs ??= performance.now();
  };
  child.stdout?.on("data", (c: Buffer) => {
    output();
    stdout += c.toString();
  });
  child.stderr?.on("data", (c: Buffer) => {
    output();
    stderr += c.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  clearTimeout(deadline);
  const afterFirstOutputMs =
    firstOutputMs === undefined ? undefined : performance.now() - firstOutputMs;
  return { code, stdout, stderr, afterFirstOutputMs };
}
