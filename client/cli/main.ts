import { Command, CommanderError, Option } from "commander";
import { registerAgentKeys } from "./agent-keys.js";
import { parseMilliseconds } from "./arguments.js";
import { registerAudit } from "./audit.js";
import { defaultAddress } from "./context.js";
import { CliError, ExitCode, type ExitCodeValue, errorLine, exitCodeHelp } from "./exit-codes.js";
import { registerJwks } from "./jwks.js";
import { registerReceipt } from "./receipt.js";
import { Runner } from "./run.js";
import { registerServices } from "./services.js";
import { registerSpend } from "./spend.js";
import { registerWallets } from "./wallets.js";
import { registerWatch } from "./watch.js";

/**
 * The `tollgate` command line: wallets, spends, receipts (and `serve`, which the entry point
 * supplies, so the server stays out of this module's import graph). Built only on the typed
 * client: what the CLI can do, any program can.
 */

/** What the entry point lends the CLI. */
export interface CliHooks {
  /**
   * Starts the server in this process (`tollgate serve`); absent when the CLI runs without the
   * server (then `serve` says so, exit 2). It owns the process from then on: its own signals and
   * exit codes.
   */
  serve?: () => Promise<void>;
}

/** The outcome of one run: an exit code, or "serving" when the server took over the process. */
export type CliOutcome = ExitCodeValue | "serving";

const description = `Spend control for AI agents: hard-capped wallets, atomic spends, receipts.

Talks to a tollgate server (start one with \`tollgate serve\`) over gRPC.`;

const environmentHelp = `Environment:
  TOLLGATE_ADDRESS   host:port of the server (default ${defaultAddress}); for \`serve\`, where to listen
  TOLLGATE_API_KEY   API key sent as "authorization: Bearer <key>": a project key, or an agent
                     key (tga_..., limited to its wallet's subtree); prefer it to --api-key, which
                     other users of the machine can see in the process list
  NO_COLOR           set: never color the output (color is used only when stdout is a terminal)`;

const examples = `Example:
  $ export TOLLGATE_ADDRESS=127.0.0.1:50051
  $ tollgate wallets create --name task --budget 1000 --json | jq -r .id
  $ tollgate spend <wallet> 45 --service web_search --agent researcher
  $ tollgate receipt <wallet>`;

/** The program, with every command; `runner` collects the exit code of the one that runs. */
export function buildProgram(runner: Runner, hooks: CliHooks = {}): Command {
  const program = new Command("tollgate");
  program
    .description(description)
    .configureOutput({
      // Commander's "error: ..." (and its "(Did you mean ...?)" on a second line) as the one
      // "tollgate: ..." line every failure gets.
      outputError: (text, write) =>
        write(
          `tollgate: ${text
            .replace(/^error: /, "")
            .replace(/\s*\n\s*/g, " ")
            .trim()}\n`,
        ),
    })
    // Usage errors surface as CommanderError, mapped to exit 2 in runCli, never process.exit.
    .exitOverride()
    .showSuggestionAfterError(true)
    .addOption(
      new Option("--address <host:port>", "server address")
        .env("TOLLGATE_ADDRESS")
        .default(defaultAddress),
    )
    .addOption(new Option("--api-key <key>", "API key").env("TOLLGATE_API_KEY"))
    .addOption(
      new Option("--timeout <ms>", "deadline of each call attempt (default 5000)").argParser(
        parseMilliseconds,
      ),
    )
    .option("--tls", "connect with TLS, verified against the system's roots")
    .option("--tls-ca <file>", "connect with TLS, verified against this CA certificate (PEM)")
    .option("--json", "machine-readable output: one JSON document (watch: one object per line)")
    .addHelpText("after", `\n${environmentHelp}\n\n${exitCodeHelp}\n\n${examples}`);

  program
    .command("serve")
    .description("run the tollgate server (configured by environment variables: see the README)")
    .addHelpText(
      "after",
      `
Settings are environment variables, as for \`npm start\`: TOLLGATE_ADDRESS (default
${defaultAddress}; port 0 picks a free one; --address sets it too), REDIS_URL (default: an embedded
in-memory store whose balances are lost on exit), REDIS_CLUSTER, TOLLGATE_API_KEYS,
TOLLGATE_SIGNING_KEY, and more: see "Configuration" in the README. The banner goes to stderr, JSON
log lines to stdout. SIGTERM or SIGINT stops the server gracefully (exit code 0); a start that
cannot work exits 1.`,
    )
    .action(async (_options: unknown, command: Command) => {
      if (hooks.serve === undefined) {
        return program.error("serve is not available in this build of the CLI", {
          exitCode: ExitCode.usage,
          code: "tollgate.noServer",
        });
      }
      // --address on the command line is where to listen; the server reads its environment.
      if (command.optsWithGlobals().address !== undefined) {
        const source = program.getOptionValueSource("address");
        if (source === "cli") process.env.TOLLGATE_ADDRESS = program.opts().address;
      }
      runner.serving = true;
      await hooks.serve();
    });

  registerWallets(program, runner);
  registerSpend(program, runner);
  registerReceipt(program, runner);
  registerWatch(program, runner);
  registerAudit(program, runner);
  registerAgentKeys(program, runner);
  registerServices(program, runner);
  registerJwks(program, runner);
  return program;
}

/**
 * Runs the CLI on `argv` (the arguments after the program name) and resolves with its exit
 * code, after the command is done and its client closed. Never calls process.exit.
 */
export async function runCli(argv: readonly string[], hooks: CliHooks = {}): Promise<CliOutcome> {
  const runner = new Runner();
  const program = buildProgram(runner, hooks);
  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (error) {
    // A parser's refusal of an argument (a bad amount): before any call.
    if (error instanceof CliError) {
      process.stderr.write(errorLine(error));
      return error.exitCode;
    }
    if (!(error instanceof CommanderError)) throw error;
    // --help and --version print and succeed; `tollgate` alone prints the help and fails.
    if (error.code === "commander.helpDisplayed" || error.code === "commander.version") {
      return ExitCode.ok;
    }
    return ExitCode.usage;
  }
  return runner.serving ? "serving" : runner.exitCode;
}
