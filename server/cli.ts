#!/usr/bin/env node
/**
 * The installed package's command, the `bin` of package.json: `tollgate serve` runs the server
 * (exactly what `npm start` runs, server/main.ts, so both read the same environment and print the
 * same banner); every other command is the client CLI (client/cli), which talks to a server over
 * the typed client. The server is imported only for `serve`, so the client commands never load
 * it (nor its store drivers).
 */
import { runCli } from "../client/cli/main.js";

const outcome = await runCli(process.argv.slice(2), {
  // Importing main.js starts the server: it is the entry point of `npm start` as well, and
  // keeping it one module means the two cannot drift apart.
  serve: async () => {
    await import("./main.js");
  },
});
// Serving: the server sets the exit code itself, on a failed start or after a graceful stop.
if (outcome !== "serving") process.exitCode = outcome;
