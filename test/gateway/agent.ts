import { connect } from "node:net";
import { expect } from "vitest";
import type { GatewayHarness } from "./harness.js";
import { upstreamSecret } from "./harness.js";

/** An answer as the agent saw it. */
export interface AgentAnswer {
  status: number;
  headers: Record<string, string>;
  text: string;
  json(): { error?: { code: string; reason: string; message: string } } & Record<string, unknown>;
}

/**
 * Everything the agent side has seen in this process: answers, raw bytes, error messages. The
 * secret-hygiene test scans it (with the logs and metrics) for the upstream secret.
 */
export const seenByAgent: string[] = [];

/** A call to the gateway the way an agent makes it (fetch, redirects not followed). */
export async function agentCall(
  baseUrl: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<AgentAnswer> {
  let response: Response;
  try {
    response = await fetch(`${baseUrl}${path}`, {
      method: init.method ?? "GET",
      headers: init.headers,
      body: init.body,
      redirect: "manual",
    });
  } catch (error) {
    seenByAgent.push(String(error), String((error as Error).cause));
    throw error;
  }
  const text = await response.text();
  const headers = Object.fromEntries(response.headers.entries());
  seenByAgent.push(JSON.stringify(headers), text);
  return { status: response.status, headers, text, json: () => JSON.parse(text) };
}

/** Raw bytes to the gateway on a fresh connection; resolves with everything it answered. */
export function rawCall(
  port: number,
  bytes: string | Buffer,
  endAfterMs?: number,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.on("data", (chunk) => chunks.push(chunk));
    socket.on("error", reject);
    socket.on("close", () => {
      const text = Buffer.concat(chunks).toString("latin1");
      seenByAgent.push(text);
      resolve(text);
    });
    socket.write(bytes);
    if (endAfterMs !== undefined) setTimeout(() => socket.end(), endAfterMs);
  });
}

/** The refusal's status and reason, and that it is the gateway's JSON error. */
export function expectRefusal(answer: AgentAnswer, status: number, reason: string): void {
  expect({ status: answer.status, reason: answer.json().error?.reason }).toEqual({
    status,
    reason,
  });
  expect(answer.headers["content-type"]).toMatch(/^application\/json/);
}

/** Fails if the secret appears anywhere the agent or an operator's tooling can read. */
export async function expectNoSecretAnywhere(harness: GatewayHarness): Promise<void> {
  const metrics = await harness.metrics();
  const places = { agent: seenByAgent.join("\n"), logs: harness.logs.join("\n"), metrics };
  for (const [where, text] of Object.entries(places)) {
    expect(text.includes(upstreamSecret), `the upstream secret leaked into ${where}`).toBe(false);
  }
}
