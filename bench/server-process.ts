import { createInterface } from "node:readline";
import { startTargets, type TargetSettings } from "./targets.js";

/**
 * Entry of the bench's server process (started by main.ts): runs the echo floor and the tollgate
 * server, prints their addresses as one JSON line, and shuts both down when its parent closes
 * stdin (or dies) or sends SIGTERM. Settings arrive as JSON in TOLLGATE_BENCH_TARGETS. A `cpu`
 * line on stdin is answered with the process's CPU time so far (`{"cpuMicros": n}`, user plus
 * system, every thread: libuv's pool included), so the bench can tell the servers' cost per call.
 */
const settings = JSON.parse(process.env.TOLLGATE_BENCH_TARGETS ?? "{}") as TargetSettings;
const targets = await startTargets(settings);
process.stdout.write(
  `${JSON.stringify({ echoAddress: targets.echoAddress, tollgateAddress: targets.tollgateAddress })}\n`,
);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await targets.close();
  // A normal exit, so a --cpu-prof profile is written.
  process.exit(0);
};
const commands = createInterface({ input: process.stdin });
commands.on("line", (line) => {
  if (line.trim() !== "cpu") return;
  const { user, system } = process.cpuUsage();
  process.stdout.write(`${JSON.stringify({ cpuMicros: user + system })}\n`);
});
commands.on("close", stop);
process.stdin.on("error", stop);
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
