import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { apiKeysFromPairs } from "../../server/auth/api-keys.js";
import { type Harness, startHarness } from "../rpc/harness.js";

const run = promisify(execFile);
const apiKey = "demo-key-0123456789abcdef";

describe("npm run demo", () => {
  let h: Harness;
  afterEach(() => h.close());

  it("spends until the critic's hard cap refuses and prints receipts that add up", async () => {
    h = await startHarness({ apiKeys: apiKeysFromPairs(`demo=${apiKey}`) });
    const { stdout } = await run("npx", ["tsx", "examples/demo.ts"], {
      env: { ...process.env, TOLLGATE_ADDRESS: h.server.address, TOLLGATE_API_KEY: apiKey },
      timeout: 60_000,
    });
    const normalised = stdout
      .replace(/\(run [0-9a-f]{8}\)/, "(run RUN)")
      .replaceAll(/w_[0-9a-f]{24}/g, "ROOT");
    expect(normalised.split("\n")).toEqual([
      `tollgate demo against ${h.server.address} (run RUN)`,
      "task wallet ROOT: budget 1000, hard cap",
      "  researcher  ROOT.w1  budget 400",
      "  writer      ROOT.w2  budget 300",
      "  critic      ROOT.w3  budget 150",
      "round 1: researcher -45 (355 left), writer -35 (265 left), critic -40 (110 left)",
      "round 2: researcher -45 (310 left), writer -35 (230 left), critic -40 (70 left)",
      "round 3: researcher -45 (265 left), writer -35 (195 left), critic -40 (30 left)",
      "round 4: researcher -45 (220 left), writer -35 (160 left), critic refused: INSUFFICIENT_CREDITS (requested 40, available 30)",
      "receipts:",
      "  researcher  180 credits in 4 calls (web_search 180)",
      "  writer      140 credits in 4 calls (llm 140)",
      "  critic      120 credits in 3 calls (llm 120)",
      "  task        440 credits in 11 calls = 180 + 140 + 120 (adds up)",
      "",
    ]);
    expect(h.logs.filter((l) => l.msg === "rpc" && l.project === "demo")).toHaveLength(
      4 + 11 + 1 + 4,
    );
  });

  it("fails with a hint when no server is listening", async () => {
    h = await startHarness();
    const address = h.server.address;
    await h.server.shutdown();
    const failed = await run("npx", ["tsx", "examples/demo.ts"], {
      env: { ...process.env, TOLLGATE_ADDRESS: address },
      timeout: 60_000,
    }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain(`is tollgate running at ${address}? start it with npm start`);
  });
});
