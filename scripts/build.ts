/**
 * `npm run build` (and `prepack`, so `npm pack` and `npm publish` always ship a fresh build): the
 * installable package in dist/. tsc compiles what tsconfig.build.json includes; then every Lua
 * script is copied next to its compiled loader, because server/store/redis/script-loader reads
 * them at runtime relative to its own URL. The dev flow (tsx, vitest) never reads dist/.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const dist = join(root, "dist");

// From scratch: a file left by an earlier build of a since-deleted source would otherwise be packed.
rmSync(dist, { recursive: true, force: true });

const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
execFileSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json")], {
  cwd: root,
  stdio: "inherit",
});

// The source directories are the ones tsc emitted: no second list to keep in step with the
// tsconfig, and any .lua file added under them (a new script, a new include) is picked up.
let copied = 0;
for (const top of readdirSync(dist)) {
  for (const file of readdirSync(join(root, top), { recursive: true, encoding: "utf8" })) {
    if (!file.endsWith(".lua")) continue;
    const target = join(dist, top, file);
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(join(root, top, file), target);
    copied++;
  }
}
// stderr: `npm pack --json` prints its JSON to stdout, and prepack output would corrupt it.
process.stderr.write(`built dist/ (${copied} Lua scripts copied)\n`);
