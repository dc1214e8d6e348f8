import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "../support/redis-server.js";

/**
 * The README's "Agents never hold upstream keys" runs as written: its first shell block (a paid
 * API, the catalog file, `npm start`) in the background, its second (the owner mints an agent key;
 * the agent calls with curl) in POSIX sh, then its TypeScript block with tsx. Only the addresses
 * change (tests run in parallel: free ports instead of 9000, 50051 and 8081) and the catalog file
 * goes to a temporary directory.
 */
const root = resolve(import.meta.dirname, "../..");
const run = promisify(execFile);

function section(): string {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const start = readme.indexOf("## Agents never hold upstream keys");
  const end = readme.indexOf("\n## ", start + 1);
  return readme.slice(start, end);
}

function blocks(text: string, lang: string): string[] {
  return [...text.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\\n\`\`\``, "g"))].map(
    (m) => m[1] ?? "",
  );
}

/** This process's environment without tollgate's settings, as a fresh shell has it. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !key.startsWith("TOLLGATE_") && key !== "REDIS_URL" && key !== "REDIS_CLUSTER",
    ),
  );
}

describe("the README's gateway setup", () => {
  let server: ChildProcess | undefined;
  let work: string | undefined;
  afterEach(() => {
    // The whole group: sh, the paid API, npm, tsx and the server.
    if (server?.pid !== undefined && server.exitCode === null) process.kill(-server.pid, "SIGTERM");
    server = undefined;
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
    work = undefined;
  });

  it("starts the paid API and tollgate, mints an agent key, pays through the gateway with curl and the client", {
    timeout: 180_000,
  }, async () => {
    const text = section();
    const [start = "", agent = ""] = blocks(text, "sh");
    const [snippet = ""] = blocks(text, "ts");
    const [expected = ""] = blocks(text, "console");
    expect(start).toContain("npm start");
    expect(agent).toContain("agent-keys create");
    const secret = /PAID_API_SECRET=(\S+)/.exec(start)?.[1] ?? "";
    expect(secret).not.toBe("");

    work = mkdtempSync(join(tmpdir(), "tollgate-readme-"));
    const [apiPort, grpcPort, gatewayPort] = [await freePort(), await freePort(), await freePort()];
    const here = (block: string) =>
      block
        .replaceAll("127.0.0.1:9000", `127.0.0.1:${apiPort}`)
        .replaceAll("127.0.0.1:50051", `127.0.0.1:${grpcPort}`)
        .replaceAll("127.0.0.1:8081", `127.0.0.1:${gatewayPort}`)
        .replaceAll("catalog.json", join(work ?? "", "catalog.json"));
    const env = {
      ...cleanEnv(),
      PAID_API_PORT: String(apiPort),
      TOLLGATE_ADDRESS: `127.0.0.1:${grpcPort}`,
      TOLLGATE_HTTP_ADDRESS: "127.0.0.1:0",
      TOLLGATE_GATEWAY_ADDRESS: `127.0.0.1:${gatewayPort}`,
      TOLLGATE_LOG_LEVEL: "warn",
    };

    let startErr = "";
    server = spawn("sh", ["-c", here(start)], { cwd: root, env, detached: true });
    server.stderr?.on("data", (chunk: Buffer) => {
      startErr += chunk.toString();
    });
    server.stdout?.resume();
    const deadline = Date.now() + 120_000;
    while (!/tollgate serving gRPC on/.test(startErr) || !/paid API on/.test(startErr)) {
      if (server.exitCode !== null) throw new Error(`the setup block exited: ${startErr}`);
      if (Date.now() > deadline) throw new Error(`no banner: ${startErr}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    // The second block, then its exported values for the TypeScript block.
    const shown = await run(
      "sh",
      ["-c", `${here(agent)}\necho "WALLET=$WALLET AGENT_KEY=$AGENT_KEY" >&2`],
      { cwd: root, env: { ...cleanEnv(), TOLLGATE_ADDRESS: `127.0.0.1:${grpcPort}` } },
    );
    const wallet = /WALLET=(w_\S+)/.exec(shown.stderr)?.[1] ?? "";
    const agentKey = /AGENT_KEY=(tga_\S+)/.exec(shown.stderr)?.[1] ?? "";
    expect(wallet).not.toBe("");
    expect(agentKey).not.toBe("");
    expect(JSON.parse(shown.stdout)).toEqual(JSON.parse(expected));
    expect(shown.stdout).not.toContain(secret);

    const file = join(work, "agent.mts");
    writeFileSync(
      file,
      here(snippet).replace('"tollgate/client"', JSON.stringify(join(root, "client/index.ts"))),
    );
    const tsx = async () =>
      (
        await run(process.execPath, [join(root, "node_modules/tsx/dist/cli.mjs"), file], {
          cwd: root,
          env: { ...cleanEnv(), AGENT_KEY: agentKey, WALLET: wallet },
        })
      ).stdout;
    // 20 credits at 7 a call: curl paid one, the snippet pays one, then is refused.
    expect(await tsx()).toMatch(/result: 'web_search done on wallets'/);
    expect(await tsx()).toBe("refused: 6 credits left, 7 needed\n");

    // The same x-request-id as the curl call, once answered: refused, not charged, not forwarded.
    const again = await run("sh", ["-c", `${here(agent).split("\n").slice(-2).join("\n")}`], {
      cwd: root,
      env: { ...cleanEnv(), WALLET: wallet, AGENT_KEY: agentKey },
    });
    expect(JSON.parse(again.stdout)).toMatchObject({
      error: { reason: "CREDENTIAL_ALREADY_REDEEMED" },
    });
  });
});
