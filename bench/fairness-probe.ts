import { openSync, writeSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";

/**
 * Preloaded (`--import`) into the tollgate server and B's spender by `npm run bench:fairness`:
 * every 250 ms it appends one JSON line to FAIRNESS_PROBE_FILE with the window's end (epoch ms),
 * the longest event-loop delay in it (ms, 1 ms resolution) and the CPU the process used in it
 * (ms, all threads). The bench reads the file to tell whether a slow spend of B's was the
 * server's event loop being busy or a wait elsewhere (Redis). Changes nothing in the server.
 */
export interface ProbeWindow {
  t: number;
  maxMs: number;
  cpuMs: number;
}

const file = process.env.FAIRNESS_PROBE_FILE;
if (file !== undefined && file !== "") {
  const fd = openSync(file, "a");
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  let cpu = process.cpuUsage();
  setInterval(() => {
    const used = process.cpuUsage(cpu);
    cpu = process.cpuUsage();
    const window: ProbeWindow = {
      t: Date.now(),
      maxMs: Math.round(delay.max / 1e4) / 100,
      cpuMs: Math.round((used.user + used.system) / 1000),
    };
    delay.reset();
    writeSync(fd, `${JSON.stringify(window)}\n`);
  }, 250).unref();
}
