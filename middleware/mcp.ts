import type {
  McpServer,
  RegisteredTool,
  ToolCallback,
} from "@modelcontextprotocol/sdk/server/mcp.js";
import type {
  AnySchema,
  SchemaOutput,
  ShapeOutput,
  ZodRawShapeCompat,
} from "@modelcontextprotocol/sdk/server/zod-compat.js";
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import type {
  CallToolResult,
  ServerNotification,
  ServerRequest,
  ToolAnnotations,
} from "@modelcontextprotocol/sdk/types.js";
import { budgetedCall } from "./budgeted-call.js";
import { type BudgetOptions, type BudgetRefusal, resolveBudget } from "./options.js";

/** The arguments an MCP tool callback receives for an input schema (undefined without one). */
export type McpToolArgs<A> = A extends ZodRawShapeCompat
  ? ShapeOutput<A>
  : A extends AnySchema
    ? SchemaOutput<A>
    : undefined;

/** `McpServer.registerTool`'s config. */
export interface McpToolConfig<InputArgs, OutputArgs> {
  title?: string;
  description?: string;
  inputSchema?: InputArgs;
  outputSchema?: OutputArgs;
  annotations?: ToolAnnotations;
  _meta?: Record<string, unknown>;
}

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/**
 * `server.registerTool(name, config, cb)` with every call paid from a wallet.
 *
 * - A refusal answers `isError: true`, the `PAYMENT_LIMIT_REACHED: ...` text as content and the
 *   figures (`{ error, wallet, walletId, available, price, tool }`, credits as decimal strings
 *   since JSON numbers cannot carry int64) in `structuredContent` and in `_meta["tollgate/refusal"]`.
 *   A tool with an `outputSchema` gets them in `_meta` only: the SDK's Client validates any
 *   `structuredContent` against the tool's output schema even on an error result, so the refusal
 *   would reach the caller as a validation failure. `onRefusal: "throw"` lets the SDK turn the
 *   error into a plain `isError` text result; a function may return any CallToolResult.
 * - A result with `isError: true` (or no result object at all) is a failed call: its hold is
 *   voided, as for a throw.
 * - `extra.signal` (the client's `notifications/cancelled`) voids the hold.
 * - Request ids: JSON-RPC ids are only unique within one session (every stdio or in-memory
 *   connection counts from 0 again), so `<tool>:<sessionId>:<JSON-RPC id>:<input fingerprint>`
 *   is used when the transport has a session id (Streamable HTTP), and a random UUID per call
 *   otherwise; reusing a bare JSON-RPC id would replay another connection's charge. MCP itself
 *   never retries a request under the same id, so nothing is lost by this.
 */
export function registerBudgetedTool<
  OutputArgs extends ZodRawShapeCompat | AnySchema,
  InputArgs extends undefined | ZodRawShapeCompat | AnySchema = undefined,
>(
  server: McpServer,
  name: string,
  config: McpToolConfig<InputArgs, OutputArgs>,
  budget: BudgetOptions<McpToolArgs<InputArgs>, CallToolResult, CallToolResult>,
  cb: ToolCallback<InputArgs>,
): RegisteredTool {
  const onRefusal = budget.onRefusal ?? "message";
  const refusalResult = refusalResultFor(config.outputSchema === undefined);
  const resolved = resolveBudget<McpToolArgs<InputArgs>, CallToolResult, CallToolResult>(
    {
      ...budget,
      onRefusal: onRefusal === "message" ? refusalResult : onRefusal,
      // A callback that returned no result object failed as surely as one that threw.
      isFailure:
        budget.isFailure ??
        ((result) => typeof result !== "object" || result === null || result.isError === true),
    },
    name,
  );
  const hasInput = config.inputSchema !== undefined;
  const run = (args: McpToolArgs<InputArgs>, extra: Extra) =>
    budgetedCall(
      resolved,
      {
        input: args,
        toolCallId:
          extra.sessionId === undefined
            ? undefined
            : `${extra.sessionId}:${String(extra.requestId)}`,
        signal: extra.signal,
      },
      () =>
        hasInput
          ? (cb as (a: unknown, e: Extra) => CallToolResult | Promise<CallToolResult>)(args, extra)
          : (cb as (e: Extra) => CallToolResult | Promise<CallToolResult>)(extra),
    ) as Promise<CallToolResult>;
  // The SDK calls (args, extra) with an input schema and (extra) without one.
  const wrapped = hasInput
    ? (args: McpToolArgs<InputArgs>, extra: Extra) => run(args, extra)
    : (extra: Extra) => run(undefined as McpToolArgs<InputArgs>, extra);
  return server.registerTool(name, config, wrapped as ToolCallback<InputArgs>);
}

/** The default refusal: a tool error the client (and its model) can read and act on. */
function refusalResultFor(structured: boolean) {
  return (refusal: BudgetRefusal<unknown>): CallToolResult => {
    const figures = {
      error: "PAYMENT_LIMIT_REACHED",
      wallet: refusal.wallet,
      walletId: refusal.walletId,
      available: refusal.available.toString(),
      price: refusal.price.toString(),
      tool: refusal.tool,
    };
    return {
      isError: true,
      content: [{ type: "text", text: refusal.message }],
      ...(structured ? { structuredContent: figures } : {}),
      _meta: { "tollgate/refusal": figures },
    };
  };
}
