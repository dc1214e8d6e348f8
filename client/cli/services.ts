import type { Command } from "commander";
import type { PaidService } from "../catalog.js";
import type { CliContext } from "./context.js";
import { table, writeJson, writeLine, writeNote } from "./output.js";
import type { Runner } from "./run.js";

/**
 * `tollgate services`: the project's catalog, read-only. Services are declared in the server's
 * catalog file, not through the API, so there is no `services add` (docs/credentials.md says why).
 */
export function registerServices(program: Command, runner: Runner): void {
  program
    .command("services")
    .description(
      "list the project's paid services from the server's catalog (an agent key: those it may " +
        "pay for); they are declared in the catalog file (TOLLGATE_CATALOG_FILE), never by API",
    )
    .action((_options: unknown, command: Command) => runner.run(command, (ctx) => services(ctx)));
}

/** A service for `--json`. */
function serviceRecord(service: PaidService) {
  return { ...service };
}

/** `7` for a fixed price; `up to 500, json:usage.total_tokens x 1/1000` for a metered one. */
function priceText(service: PaidService): string {
  return service.maxPrice > 0n
    ? `up to ${service.maxPrice}, ${service.meter}`
    : String(service.price);
}

async function services(ctx: CliContext): Promise<undefined> {
  const found = await ctx.tg.services();
  if (ctx.out.json) {
    writeJson(ctx.out, { services: found.map(serviceRecord) });
    return undefined;
  }
  if (found.length === 0) {
    writeNote(ctx.out, "no services: the server's catalog has none for this project");
    return undefined;
  }
  const rows = found.map((s) => [
    s.name,
    priceText(s),
    s.methods.join(","),
    s.pathPrefixes.join(","),
    `${s.timeoutMs} ms`,
  ]);
  const columns = [
    { header: "NAME" },
    { header: "PRICE" },
    { header: "METHODS" },
    { header: "PATHS" },
    { header: "TIMEOUT", align: "right" as const },
  ];
  for (const line of table(columns, rows)) writeLine(ctx.out, line);
  return undefined;
}
