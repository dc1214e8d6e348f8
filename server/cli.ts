#!/usr/bin/env node
/**
 * The installed package's command (`npx tollgate serve`, the `bin` of package.json). `serve` runs
 * exactly what `npm start` runs, server/main.ts, so both read the same environment and print the
 * same banner; anything else prints the usage.
 */

const usage = `Usage: tollgate serve     serve gRPC (WalletService, ReceiptService, health, reflection)
       tollgate --help    show this text

Settings are environment variables, as for \`npm start\`: TOLLGATE_ADDRESS (default
127.0.0.1:50051; port 0 picks a free one), REDIS_URL (default: an embedded in-memory store whose
balances are lost on exit), REDIS_CLUSTER, TOLLGATE_API_KEYS, TOLLGATE_SIGNING_KEY, and more: see
"Configuration" in the README. The banner goes to stderr, JSON log lines to stdout. SIGTERM or
SIGINT stops the server gracefully (exit code 0).
`;

const args = process.argv.slice(2);
if (args.length === 1 && args[0] === "serve") {
  // Importing main.js starts the server: it is the entry point of `npm start` as well, and keeping
  // it one module means the two cannot drift apart.
  await import("./main.js");
} else if (args.length === 1 && (args[0] === "--help" || args[0] === "-h" || args[0] === "help")) {
  process.stdout.write(usage);
} else {
  const problem = args.length === 0 ? "no command given" : `unknown command: ${args.join(" ")}`;
  process.stderr.write(`tollgate: ${problem}\n\n${usage}`);
  // 2, as shells and most command-line tools do for a usage error: 1 is a failed start.
  process.exitCode = 2;
}
