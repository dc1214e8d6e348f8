import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

/**
 * Every ```ts block of the README type-checks against the real exports (`tollgate/client`,
 * `tollgate/middleware/...`, resolved through package.json `exports`) and the real framework
 * packages, so the README cannot drift from the code. Each block is compiled as its own module
 * after a prelude that declares what a snippet leaves to the reader (a wallet, a paid API, a
 * model). Unused locals are allowed: a snippet shows a call, it does not have to use its result.
 */
const root = resolve(import.meta.dirname, "../..");

const imports = `import { z } from "zod";
import type { Wallet as ReadmeWallet } from "tollgate/client";
import type { McpServer as ReadmeMcpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { LanguageModel as ReadmeLanguageModel } from "ai";
import type { BaseChatModel as ReadmeChatModel } from "@langchain/core/language_models/chat_models";
`;

/** What a snippet may use without defining it, by name; left out when the snippet defines it. */
const givens: Record<string, string> = {
  wallet: "declare const wallet: ReadmeWallet;",
  researcher: "declare const researcher: ReadmeWallet;",
  model: "declare const model: ReadmeLanguageModel;",
  chatModel:
    'declare const chatModel: ReadmeChatModel & Required<Pick<ReadmeChatModel, "bindTools">>;',

  prompt: "declare const prompt: string;",
  server: "declare const server: ReadmeMcpServer;",
  runId: "declare const runId: string;",
  searchApi: "declare function searchApi(query: string, credential?: string): Promise<string>;",
  callPaidApi: "declare function callPaidApi(credential: string): Promise<void>;",
};

/** The snippet as a module: the imports and givens on one line each, so line numbers shift by a known count. */
function moduleOf(code: string): string {
  const given = Object.entries(givens)
    .filter(([name]) => !new RegExp(`\\b(const|let|function) ${name}\\b`).test(code))
    .map(([, declaration]) => declaration);
  return `${imports}${given.join(" ")}\n${code}\nexport {};\n`;
}

const preludeLines = imports.split("\n").length;

function snippets(markdown: string): { line: number; code: string }[] {
  const found: { line: number; code: string }[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== "```ts") continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end] !== "```") end++;
    found.push({ line: start + 1, code: lines.slice(start, end).join("\n") });
    i = end;
  }
  return found;
}

function typeErrors(files: Map<string, string>): string[] {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(root, "tsconfig.json"),
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
  );
  if (config === undefined) throw new Error("cannot read tsconfig.json");
  const options = { ...config.options, noUnusedLocals: false, noUnusedParameters: false };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.fileExists = (name) => files.has(name) || ts.sys.fileExists(name);
  host.readFile = (name) => files.get(name) ?? readFile(name);
  host.getSourceFile = (name, language, onError) => {
    const text = files.get(name);
    return text === undefined
      ? getSourceFile(name, language, onError)
      : ts.createSourceFile(name, text, language);
  };
  const program = ts.createProgram([...files.keys()], options, host);
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file !== undefined && files.has(d.file.fileName))
    .map((d) => {
      const { line } = d.file?.getLineAndCharacterOfPosition(d.start ?? 0) ?? { line: 0 };
      const text = ts.flattenDiagnosticMessageText(d.messageText, "\n");
      return `${d.file?.fileName.slice(root.length + 1)}:${line + 1 - preludeLines}: ${text}`;
    });
}

describe("README.md", () => {
  const blocks = snippets(readFileSync(join(root, "README.md"), "utf8"));

  it("has the client, middleware and adapter snippets", () => {
    expect(blocks.length).toBeGreaterThanOrEqual(6);
  });

  // One TypeScript program over every snippet and the frameworks' types: about 15 s alone, more
  // on a busy 2-core machine, so it gets room beyond the suite's 30 s default.
  it("every ts snippet type-checks against the real exports", { timeout: 180_000 }, () => {
    const files = new Map(
      blocks.map((b) => [join(root, `readme-line-${b.line}.ts`), moduleOf(b.code)]),
    );
    expect(typeErrors(files)).toEqual([]);
  });

  it("would catch a snippet that no longer matches the code", { timeout: 180_000 }, () => {
    const wrong = 'import { createClient } from "tollgate/client";\ncreateClient({ adress: "x" });';
    const errors = typeErrors(new Map([[join(root, "readme-line-1.ts"), moduleOf(wrong)]]));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /^readme-line-1\.ts:2: Object literal may only specify known properties/,
    );
  });
});
