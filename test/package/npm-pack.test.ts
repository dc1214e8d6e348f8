import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { deleteKeys, testKeyPrefix } from "../support/key-prefix.js";
import { type Started, startMain } from "../support/main-process.js";

/**
 * The package as someone else gets it: `npm pack` (which builds, through prepack), the tarball
 * installed into a fresh project outside this repository, then used there only through what it
 * installed: plain `node` imports, `tsc` on a consumer file, `npx tollgate serve` spending on
 * Redis (so the Lua scripts must have been packed where the compiled loader looks for them), and
 * the `tollgate` client commands against it.
 */
const root = resolve(import.meta.dirname, "../..");
const execFileAsync = promisify(execFile);

/** A command's stdout; on failure an error carrying both streams (tsc reports on stdout). */
async function run(file: string, args: string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await execFileAsync(file, args, { cwd, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${file} ${args.join(" ")} failed:\n${stdout ?? ""}\n${stderr ?? ""}`, {
      cause: error,
    });
  }
}

/** A package's version as package-lock.json pins it, so the consumer gets what we test with. */
function locked(name: string): string {
  const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as {
    packages: Record<string, { version?: string }>;
  };
  const version = lock.packages[`node_modules/${name}`]?.version;
  if (version === undefined) throw new Error(`${name} is not in package-lock.json`);
  return version;
}

interface Packed {
  filename: string;
  files: { path: string }[];
}

/** A consumer's TypeScript: the README's imports, with probes that fail if the types were `any`. */
const consumer = `import { tool } from "ai";
import { z } from "zod";
import { createClient, InsufficientCreditsError, type Wallet } from "tollgate/client";
import { budgetTool } from "tollgate/middleware/ai";
import { type VerifiedCredential, verifyCredential } from "tollgate/verify";

export async function remaining(wallet: Wallet): Promise<bigint> {
  try {
    await wallet.spend(45, { service: "web_search" });
    return wallet.available;
  } catch (error) {
    if (!(error instanceof InsufficientCreditsError)) throw error;
    const available: bigint = error.available;
    return available;
  }
}

export function searchTool(wallet: Wallet) {
  return budgetTool(
    tool({ inputSchema: z.object({ q: z.string() }), execute: async ({ q }) => \`results for \${q}\` }),
    { wallet, price: 30, toolName: "web_search" },
  );
}

export const client = createClient({ address: "127.0.0.1:50051" });

export async function verified(token: string): Promise<VerifiedCredential> {
  const { jwks } = await client.signingKeys();
  return verifyCredential(token, { jwks, service: "web_search" });
}

// @ts-expect-error: verifyCredential needs the service, if tollgate/verify's declarations resolved.
verifyCredential("token", { url: "http://127.0.0.1:8080/.well-known/jwks.json" });

// @ts-expect-error: a misspelt option is refused only if the client's declarations resolved.
createClient({ adress: "127.0.0.1:50051" });

export function unnamed(wallet: Wallet) {
  const search = tool({ inputSchema: z.object({ q: z.string() }), execute: async () => "" });
  // @ts-expect-error: the ai adapter requires toolName (an ai@6 tool does not know its name).
  return budgetTool(search, { wallet, price: 30 });
}
`;

/** Plain Node ESM in the consumer project: a wallet, a spend, a refused spend, a receipt. */
const spendScript = `import { createClient, InsufficientCreditsError } from "tollgate/client";

const tg = createClient({ address: process.argv[2] });
const wallet = await tg.wallets.create({ name: "task", budget: 100, hardCap: true });
const { credential } = await wallet.spend(30, { service: "web_search" });
let refused;
try {
  await wallet.spend(100, { service: "web_search" });
} catch (error) {
  if (!(error instanceof InsufficientCreditsError)) throw error;
  refused = String(error.available);
}
const read = await tg.wallets.get(wallet.id);
const receipt = await wallet.getReceipt();
tg.close();
console.log(JSON.stringify({
  available: String(read.available),
  refused,
  spent: String(receipt.totalCredits),
  credentialParts: credential.split(".").length,
}));
`;

describe("the packed package, installed into a fresh project", () => {
  let work: string | undefined;
  let app = "";
  let packed: Packed;
  let server: Started | undefined;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "tollgate-pack-"));
    app = join(work, "app");
    const out = await run("npm", ["pack", "--json", "--pack-destination", work], root);
    [packed] = JSON.parse(out) as [Packed];
    mkdirSync(app);
    writeFileSync(
      join(app, "package.json"),
      `${JSON.stringify({ name: "consumer", private: true, type: "module" }, null, 2)}\n`,
    );
    // ai and zod: the ai adapter's peers; @types/node: what any TypeScript project on Node has.
    await run(
      "npm",
      [
        "install",
        join(work, packed.filename),
        `ai@${locked("ai")}`,
        `zod@${locked("zod")}`,
        `@types/node@${locked("@types/node")}`,
        "--no-audit",
        "--no-fund",
        "--prefer-offline",
      ],
      app,
    );
  }, 300_000);

  afterEach(async () => {
    if (server && server.child.exitCode === null) {
      process.kill(server.pid, "SIGKILL");
      await server.exited;
    }
    server = undefined;
  });

  afterAll(() => {
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  it("packs the build, the Lua scripts, the contract and the README, and no sources or tests", () => {
    const paths = packed.files.map((f) => f.path);
    const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
      exports: Record<string, { types: string; default: string }>;
      bin: Record<string, string>;
    };
    const targets = [
      ...Object.values(manifest.exports).flatMap((e) => [e.types, e.default]),
      ...Object.values(manifest.bin),
    ].map((p) => p.replace(/^\.\//, ""));
    expect(paths).toEqual(expect.arrayContaining(targets));
    // Every Lua file of the repository, next to the compiled loader that reads it at runtime.
    const lua = readdirSync(join(root, "server"), { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith(".lua"))
      .map((f) => `dist/server/${f}`);
    expect(lua.length).toBeGreaterThan(0);
    expect(paths).toEqual(expect.arrayContaining(lua));

    expect(
      paths.filter((p) => !/^(dist|proto|web\/dist)\/|^(README\.md|package\.json)$/.test(p)),
    ).toEqual([]);
    // The web monitor, built (npm run build:web), which `tollgate serve` serves at `/`.
    expect(paths).toContain("web/dist/index.html");
    expect(paths.some((p) => /^web\/dist\/assets\/index-[\w-]+\.js$/.test(p))).toBe(true);
    expect(paths.filter((p) => p.endsWith(".ts") && !p.endsWith(".d.ts"))).toEqual([]);
    expect(new Set(paths.filter((p) => p.startsWith("dist/")).map((p) => p.split("/")[1]))).toEqual(
      new Set(["client", "gen", "middleware", "server"]),
    );
  });

  it("imports tollgate/client and the middleware with plain node (ESM), no TypeScript loader", async () => {
    const out = await run(
      "node",
      [
        "--input-type=module",
        "-e",
        `const client = await import("tollgate/client");
         const middleware = await import("tollgate/middleware");
         const ai = await import("tollgate/middleware/ai");
         const verify = await import("tollgate/verify");
         console.log(JSON.stringify([client, middleware, ai, verify].map((m) => Object.keys(m))));`,
      ],
      app,
    );
    const [client, middleware, ai, verify] = JSON.parse(out) as string[][];
    expect(client).toEqual(
      expect.arrayContaining(["createClient", "InsufficientCreditsError", "TollgateError"]),
    );
    expect(middleware).toEqual(expect.arrayContaining(["withBudget", "currentCharge"]));
    expect(ai).toEqual(expect.arrayContaining(["budgetTool", "walletExhausted"]));
    expect(verify).toEqual(expect.arrayContaining(["verifyCredential", "CredentialError"]));
  });

  it("type-checks a consumer file with tsc (strict, NodeNext) against the packed declarations", async () => {
    writeFileSync(join(app, "consumer.ts"), consumer);
    const compilerOptions = {
      target: "ES2022",
      module: "NodeNext",
      moduleResolution: "NodeNext",
      strict: true,
      noEmit: true,
      types: ["node"],
      // ai@6's own declarations import json-schema, whose types it does not install; the
      // expect-error probes in consumer.ts still fail if ours did not resolve.
      skipLibCheck: true,
    };
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({ compilerOptions, files: ["consumer.ts"] }, null, 2),
    );
    await run(join(root, "node_modules/.bin/tsc"), ["-p", "tsconfig.json"], app);
  }, 120_000);

  it("serves with `npx tollgate serve` on Redis, takes a spend from plain node, stops on SIGTERM with 0", async () => {
    const redisUrl = inject("redisUrl");
    const prefix = testKeyPrefix();
    const redis = new Redis(redisUrl);
    try {
      server = await startMain(
        {
          TOLLGATE_ADDRESS: "127.0.0.1:0",
          REDIS_URL: redisUrl,
          TOLLGATE_KEY_PREFIX: prefix,
          TOLLGATE_LOG_LEVEL: "warn",
        },
        { args: ["tollgate", "serve"], cwd: app },
      );
      const address = /^tollgate serving gRPC on (\S+) /.exec(server.banner[0] ?? "")?.[1];
      expect(address).toMatch(/^127\.0\.0\.1:[1-9]\d*$/);
      expect(server.banner[1]).toMatch(/^\s+store:\s+redis rediss?:\/\//);
      // The installed package serves its built web monitor where the banner says.
      const monitorLine = server.banner.find((line) => line.startsWith("  web monitor:"));
      const monitorUrl = /^\s+web monitor: (http:\S+)$/.exec(monitorLine ?? "")?.[1];
      const page = await fetch(monitorUrl ?? "");
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("<title>tollgate monitor</title>");

      writeFileSync(join(app, "spend.mjs"), spendScript);
      const result = JSON.parse(await run("node", ["spend.mjs", address ?? ""], app)) as unknown;
      expect(result).toEqual({ available: "70", refused: "70", spent: "30", credentialParts: 3 });

      // The client CLI of the same bin, compiled JavaScript only, against the same server.
      const bin = join(app, "node_modules/.bin/tollgate");
      const created = JSON.parse(
        await run(
          bin,
          [
            "--address",
            address ?? "",
            "wallets",
            "create",
            "--name",
            "cli",
            "--budget",
            "10",
            "--json",
          ],
          app,
        ),
      ) as { id: string; budget: string };
      expect(created.budget).toBe("10");
      const spent = await run(
        bin,
        ["--address", address ?? "", "spend", created.id, "4", "--service", "web_search"],
        app,
      );
      expect(spent).toMatch(/^spent 4 on web_search from \S+: charge \S+, 6 remaining\n$/);
      const refusedSpend = await execFileAsync(
        bin,
        ["--address", address ?? "", "spend", created.id, "7", "--service", "web_search"],
        { cwd: app },
      ).then(
        () => undefined,
        (error: { code?: number; stderr?: string }) => error,
      );
      expect(refusedSpend?.code).toBe(4);
      expect(refusedSpend?.stderr).toMatch(/^tollgate: INSUFFICIENT_CREDITS: /);
      expect((await redis.keys(`${prefix}*`)).length).toBeGreaterThan(0);

      process.kill(server.pid, "SIGTERM");
      expect(await server.exited).toBe(0);
    } finally {
      await deleteKeys(redis, prefix);
      redis.disconnect();
    }
  }, 120_000);

  it("prints the usage for --help (exit 0) and refuses an unknown command (exit 2)", async () => {
    const bin = join(app, "node_modules/.bin/tollgate");
    const help = await run(bin, ["--help"], app);
    expect(help).toMatch(/^Usage: tollgate \[options\] \[command\]/);
    expect(help).toMatch(/^ {2}serve\b/m);
    expect(help).toMatch(/^Exit codes:$/m);
    const refused = await execFileAsync(bin, ["sevre"], { cwd: app }).then(
      () => undefined,
      (error: { code?: number; stderr?: string }) => error,
    );
    expect(refused?.code).toBe(2);
    expect(refused?.stderr).toBe("tollgate: unknown command 'sevre' (Did you mean serve?)\n");
  });
});
