import { execFile } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../", import.meta.url));
const hook = pathToFileURL(fileURLToPath(new URL("./hide-packages.mjs", import.meta.url))).href;

const frameworks = ["ai", "@openai/agents", "@langchain/core", "@modelcontextprotocol/sdk"];

/**
 * Imports `entry` in a fresh Node process (through tsx) in which `hidden` packages cannot be
 * resolved, as if not installed, and returns its export names.
 */
async function importWithout(entry: string, hidden: string[]): Promise<string[]> {
  const script = [
    `import { register } from "node:module";`,
    `register(${JSON.stringify(hook)});`,
    `const m = await import(${JSON.stringify(pathToFileURL(`${root}${entry}`).href)});`,
    "console.log(JSON.stringify(Object.keys(m).sort()));",
  ].join("\n");
  const { stdout } = await run(
    process.execPath,
    ["--import", "tsx", "--input-type=module", "-e", script],
    { cwd: root, env: { ...process.env, TOLLGATE_HIDDEN_PACKAGES: JSON.stringify(hidden) } },
  );
  return JSON.parse(stdout) as string[];
}

describe("importing one middleware entry never requires another framework", () => {
  it("each entry loads with every framework but its own uninstalled", async () => {
    const others = (own?: string) => frameworks.filter((name) => name !== own);
    const [core, ai, agents, langchain, mcp] = await Promise.all([
      importWithout("middleware/index.ts", frameworks),
      importWithout("middleware/ai.ts", others("ai")),
      importWithout("middleware/openai-agents.ts", others("@openai/agents")),
      importWithout("middleware/langchain.ts", others("@langchain/core")),
      importWithout("middleware/mcp.ts", others("@modelcontextprotocol/sdk")),
    ]);
    expect(core).toEqual(["currentCharge", "paidFetch", "walletExhausted", "withBudget"]);
    expect(ai).toEqual(["budgetTool", "walletExhausted"]);
    expect(agents).toEqual(["budgetTool", "stopOnWalletExhausted"]);
    expect(langchain).toEqual(["budgetTool", "walletExhausted"]);
    expect(mcp).toEqual(["registerBudgetedTool"]);
  });

  it("the ai and MCP adapters import their framework for types only: they load without it", async () => {
    const [ai, mcp] = await Promise.all([
      importWithout("middleware/ai.ts", frameworks),
      importWithout("middleware/mcp.ts", frameworks),
    ]);
    expect(ai).toEqual(["budgetTool", "walletExhausted"]);
    expect(mcp).toEqual(["registerBudgetedTool"]);
  });

  it("the hook really hides a package (control: LangChain's adapter needs its own at runtime)", async () => {
    await expect(importWithout("middleware/langchain.ts", ["@langchain/core"])).rejects.toThrow(
      /Cannot find package '@langchain\/core\/tools' \(hidden by the test\)/,
    );
  });
});
