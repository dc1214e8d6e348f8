import type { Command } from "commander";
import type { CliContext } from "./context.js";
import { writeJson, writeNote } from "./output.js";
import type { Runner } from "./run.js";

/**
 * `tollgate jwks`: the JWK Set credentials are verified against, for a verifier that cannot reach
 * the HTTP port's `/.well-known/jwks.json` (the same document, over gRPC; no API key needed).
 */
export function registerJwks(program: Command, runner: Runner): void {
  program
    .command("jwks")
    .description(
      "print the public keys credentials are signed with, as a JWK Set (the document " +
        "/.well-known/jwks.json serves): `tollgate jwks > jwks.json`",
    )
    .action((_options: unknown, command: Command) => runner.run(command, (ctx) => jwks(ctx)));
}

async function jwks(ctx: CliContext): Promise<undefined> {
  const { jwks, currentKeyId } = await ctx.tg.signingKeys();
  // The JWK Set itself in both modes: it is already the machine-readable document a verifier
  // loads, so `--json` has nothing to add; which key signs now is a note for people.
  writeJson(ctx.out, jwks);
  if (!ctx.out.json) {
    const retired = jwks.keys.length - 1;
    writeNote(
      ctx.out,
      `new credentials are signed with ${currentKeyId}` +
        (retired > 0 ? `; ${retired} retired key(s) still verify unexpired credentials` : ""),
    );
  }
  return undefined;
}
