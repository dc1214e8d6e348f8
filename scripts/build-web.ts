/**
 * `npm run build:web`: the web monitor (web/) bundled by Vite into web/dist, which the server
 * serves at `/` of its HTTP port (server/http/static-files.ts). Run by `npm start` (prestart),
 * `npm run build` (so the package ships it) and the test run's global setup, each with
 * `--if-changed`: it builds only when its inputs differ from those recorded in the last build
 * (a hash of the page's sources, the generated code it imports, this script and the lockfile), so
 * a start costs nothing when nothing changed.
 *
 * A build is written to a scratch directory and swapped in, so a server running from web/dist
 * (another test, a developer's `npm start`) never serves a half-written build.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const web = join(root, "web");
const out = join(web, "dist");
/** Where a build records the hash of its inputs. A dot-file: the server never serves those. */
const stampName = ".inputs-sha256";

/** Every file the bundle depends on, in a stable order. */
function inputs(): string[] {
  const under = (dir: string) =>
    readdirSync(dir, { recursive: true, encoding: "utf8" }).map((file) => join(dir, file));
  return [
    join(web, "index.html"),
    ...under(join(web, "src")),
    ...under(join(root, "gen", "es")),
    join(root, "package-lock.json"),
    import.meta.filename,
  ].sort();
}

function inputsHash(): string {
  const hash = createHash("sha256");
  for (const file of inputs()) {
    let content: Buffer;
    try {
      content = readFileSync(file);
    } catch {
      continue; // a directory
    }
    hash.update(`${relative(root, file)}\0${content.length}\0`).update(content);
  }
  return hash.digest("hex");
}

function builtHash(): string | undefined {
  try {
    return readFileSync(join(out, stampName), "utf8").trim();
  } catch {
    return undefined;
  }
}

async function buildWeb(): Promise<void> {
  const hash = inputsHash();
  if (process.argv.includes("--if-changed") && builtHash() === hash) {
    process.stderr.write("web monitor: web/dist is up to date\n");
    return;
  }
  const scratch = join(web, `dist.building-${process.pid}`);
  rmSync(scratch, { recursive: true, force: true });
  // Loaded only to build: checking that nothing changed (every `npm start`) stays instant.
  const { build } = await import("vite");
  await build({
    configFile: false,
    root: web,
    // Relative asset URLs: the page also works when a proxy mounts tollgate under a path.
    base: "./",
    logLevel: "warn",
    esbuild: { jsx: "automatic", jsxImportSource: "preact" },
    build: {
      outDir: scratch,
      emptyOutDir: true,
      // Hashed file names under assets/: the server marks them immutable.
      assetsDir: "assets",
      target: "es2022",
      // No source maps: they would triple what the package ships for a page read, not debugged.
      sourcemap: false,
      reportCompressedSize: false,
    },
  });
  writeFileSync(join(scratch, stampName), `${hash}\n`);
  const old = join(web, `dist.old-${process.pid}`);
  if (existsSync(out)) renameSync(out, old);
  renameSync(scratch, out);
  rmSync(old, { recursive: true, force: true });
  process.stderr.write(`web monitor: built ${relative(root, out)}\n`);
}

await buildWeb();
