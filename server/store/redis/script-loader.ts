import { readFileSync } from "node:fs";

/**
 * Reads the Lua scripts at runtime (the server runs under tsx with no build step), relative to
 * this module so it works from any working directory.
 */
const scriptsDir = new URL("./scripts/", import.meta.url);

/** `--- @include "name"` on a line of its own: replaced by `scripts/includes/name.lua`. */
const includeLine = /^--- @include "([a-z0-9-]+)"[ \t]*$/gm;

/**
 * The source of `scripts/<name>.lua` with its includes resolved, as Redis will run it.
 *
 * Each include is emitted once, where it is first mentioned, with its own includes expanded
 * ahead of it: a Lua `local` is visible only below its declaration, so a helper's dependencies
 * must come first, and a second copy would redeclare them. `generated` supplies includes made
 * in TypeScript rather than read from a file (the key layout, from keys.ts).
 */
export function loadScript(name: string, generated: Readonly<Record<string, string>>): string {
  const emitted = new Set<string>();
  const expand = (source: string): string =>
    source.replace(includeLine, (_line, include: string) => {
      if (emitted.has(include)) return `-- @include "${include}": already above`;
      emitted.add(include);
      const text = generated[include] ?? readInclude(name, include);
      return `-- begin include "${include}"\n${expand(text)}\n-- end include "${include}"`;
    });
  return expand(readFileSync(new URL(`${name}.lua`, scriptsDir), "utf8"));
}

function readInclude(script: string, include: string): string {
  try {
    return readFileSync(new URL(`includes/${include}.lua`, scriptsDir), "utf8");
  } catch (error) {
    throw new Error(`${script}.lua includes "${include}", which does not exist`, { cause: error });
  }
}
