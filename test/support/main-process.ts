import { type ChildProcess, spawn } from "node:child_process";

/**
 * `npm start` as a real process (`npx tsx server/main.ts`), for tests of the entry point: the
 * environment it reads, its banner, its exit codes.
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

/** This process's environment without any tollgate setting, as on a fresh machine. */
function cleanEnv(): Record<string, string | undefined> {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !k.startsWith("TOLLGATE_") && k !== "REDIS_URL" && k !== "REDIS_CLUSTER",
    ),
  );
}

/** `npx tsx server/main.ts` with only the given tollgate settings, waiting for its banner. */
export async function startMain(settings: Record<string, string>): Promise<Started> {
  const child = spawn("npx", ["tsx", "server/main.ts"], {
    env: { ...cleanEnv(), ...settings },
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
      if (at !== -1 && lines.length >= at + 6) {
        clearTimeout(timer);
        resolve(lines.slice(at, at + 5));
      }
    });
    void exited.then((code) => reject(new Error(`exited ${code} before its banner: ${stderr}`)));
  });
  const pid = Number(/\(pid (\d+)\)/.exec(banner[0] ?? "")?.[1]);
  return { child, pid, banner, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Runs main with `settings` until it exits by itself (a start-up failure). */
export async function exitOf(
  settings: Record<string, string>,
): Promise<{ code: number | null; stderr: string }> {
  const child = spawn("npx", ["tsx", "server/main.ts"], {
    env: { ...cleanEnv(), ...settings },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  return { code, stderr };
}
