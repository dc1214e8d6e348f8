import { readFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The client CLI (client/cli) loads only the typed client: the server, its stores and their
 * drivers are loaded by `tollgate serve` alone (server/cli.ts lends `serve` to the CLI), so the
 * client commands start fast and a client-only build could ship without the server.
 */

const root = resolve(import.meta.dirname, "../..");

/** Every module specifier `file` imports, statically or with a literal dynamic import. */
function specifiers(file: string): string[] {
  const source = readFileSync(file, "utf8");
  const found: string[] = [];
  for (const match of source.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"/g)) {
    if (match[1] !== undefined) found.push(match[1]);
  }
  for (const match of source.matchAll(/import\(\s*"([^"]+)"\s*\)/g)) {
    if (match[1] !== undefined) found.push(match[1]);
  }
  return found;
}

/** The repository-relative source files reachable from `entry`, and the packages they import. */
function graph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    const path = relative(root, file);
    if (files.has(path)) return;
    files.add(path);
    for (const specifier of specifiers(file)) {
      if (specifier.startsWith(".")) {
        visit(resolve(dirname(file), specifier.replace(/\.js$/, ".ts")));
      } else {
        packages.add(
          specifier.startsWith("@")
            ? specifier.split("/").slice(0, 2).join("/")
            : (specifier.split("/")[0] ?? ""),
        );
      }
    }
  };
  visit(resolve(root, entry));
  return { files, packages };
}

describe("the client CLI's import graph", () => {
  it("reaches no server module and no store driver", () => {
    const { files, packages } = graph("client/cli/main.ts");
    expect(files.size).toBeGreaterThan(10);
    expect([...files].filter((f) => !/^(client|gen)\//.test(f))).toEqual([]);
    expect(files).toContain("client/client.ts");
    for (const serverOnly of ["ioredis", "pino", "jose", "zod", "prom-client"]) {
      expect(packages).not.toContain(serverOnly);
    }
  });

  it("is what the bin runs for every command but serve", () => {
    const entry = specifiers(resolve(root, "server/cli.ts"));
    expect(entry).toEqual(["../client/cli/main.js", "./main.js"]);
  });
});
