import type { Amount, InsufficientCreditsError, Wallet } from "../client/index.js";
import { bindTool, type ToolBinding } from "./wallet-bindings.js";

/** A fixed amount of credits, or one computed from the tool's input. */
export type Priced<I> = Amount | ((input: I) => Amount | Promise<Amount>);

/** What a refused call knows; handed to an `onRefusal` fallback. */
export interface BudgetRefusal<I = unknown> {
  /** The wallet's name, or its id when it has none (what the model is told). */
  wallet: string;
  walletId: string;
  /** Credits the wallet had left when it refused, from the server's InsufficientCreditsError. */
  available: bigint;
  /** What the call asked for: the price, or `maxPrice` for a tool billed after the fact. */
  price: bigint;
  tool: string;
  input: I;
  /** The default model-facing text: `PAYMENT_LIMIT_REACHED: <wallet> has <n> credits left; ...`. */
  message: string;
  error: InsufficientCreditsError;
}

/**
 * Options of {@link withBudget} and of every framework adapter. `I` is the tool's input, `R` its
 * result (the last value for an async-iterable tool), `X` what a refused call returns instead.
 */
export interface BudgetOptions<I, R, X = string> {
  /** The wallet every call of this tool is charged to. */
  wallet: Wallet;
  /**
   * The tool's price, fixed or from its input. By default it is held before the tool runs and
   * captured when it succeeds, so a failed or aborted call costs nothing. A price of 0 runs the
   * tool without a charge (and without a credential). Exclusive with `maxPrice`.
   *
   * With `gateway`, optional: the catalog sets the price, and this only tells a stop condition
   * (`walletExhausted`) what one call costs; give the catalog's price.
   */
  price?: Priced<I>;
  /**
   * Route the tool's paid calls through tollgate's gateway to this catalog service instead of
   * charging here: the tool calls `paidFetch(path, init)` (from `tollgate/middleware`),
   * and the gateway charges the catalog price to `wallet` for each call, with the API key of the
   * client the wallet handle came from (an agent key bound to the wallet), adds the upstream's
   * secret (the agent never holds it) and relays the answer. A call the wallet cannot pay is
   * refused by the gateway (HTTP 402) before anything is forwarded, and answered like any
   * refusal (`onRefusal`). Each `paidFetch` of one tool call has a request id derived from the
   * call's (see `requestId`), so a framework retry of the call is charged once. After a call
   * the gateway charged, the wallet is re-read (one GetWallet), since the gateway's answer does
   * not carry the balance a stop condition needs. Needs the
   * client's `gatewayUrl`. Not with `maxPrice`, `cost`, `upfront` or `holdTtlSeconds`: the
   * catalog meters a call, and the gateway settles it.
   */
  gateway?: string;
  /**
   * For tools whose cost is known only afterwards: the most one call may cost, held before the
   * tool runs. Requires `cost`.
   */
  maxPrice?: Priced<I>;
  /**
   * The actual cost once the tool returned (or its iterator finished). Captured, clamped to
   * `maxPrice` because a capture above its hold is refused by the ledger; a clamped capture
   * carries `cost_over_max_price: "<actual>"` on its receipt line and emits a process warning
   * (`TOLLGATE_COST_OVER_MAX_PRICE`) so the under-billing is visible. A cost of 0 voids the hold.
   * Requires `maxPrice`.
   */
  cost?: (result: R, input: I) => Amount | Promise<Amount>;
  /** The `service` of every receipt line. Default: the tool name, so receipts break down by tool. */
  service?: string;
  /** The tool's name, used in request ids and the refusal message. Default: the framework's. */
  toolName?: string;
  /** Receipt-line metadata, e.g. `{ agent: "researcher" }` (the receipt's by-agent breakdown key). */
  metadata?:
    | Record<string, string>
    | ((input: I) => Record<string, string> | Promise<Record<string, string>>);
  /**
   * What a refused call (INSUFFICIENT_CREDITS) does. Default `"message"`: the tool does not run
   * and the call returns {@link BudgetRefusal.message}, text the model can reason about instead of
   * an exception that ends the run. `"throw"` rethrows the InsufficientCreditsError; a function
   * is called with the refusal and its result is returned. Every other error (unavailable,
   * wallet closed, ...) propagates and the tool does not run: the middleware fails closed.
   */
  onRefusal?: "message" | "throw" | ((refusal: BudgetRefusal<I>) => X | Promise<X>);
  /**
   * Send the charge operations as one RPC each (`"unary"`) or over the client's multiplexed
   * SpendStream (`"stream"`), via `wallet.using(mode)`. Default: the wallet handle's own mode.
   * Both give the same balances and receipts; streaming is for high call rates.
   */
  mode?: "unary" | "stream";
  /**
   * One `Spend` before the tool runs instead of hold-then-capture: one RPC instead of two, but a
   * failed call stays charged. For paid APIs that bill on attempt. Only with `price`.
   * Default false.
   */
  upfront?: boolean;
  /**
   * The request-id base of a call; the middleware appends `:authorize`, `:capture`, `:void` or
   * `:spend` (and `#<attempt>` after a failed attempt). Default: `<tool>:<tool-call id>:<input
   * fingerprint>` when the framework gives a call id, the fingerprint being the first 16 hex
   * digits of SHA-256 over the input as canonical JSON (sorted keys): a retry (same id, same
   * input) is not charged twice, while a reused id with another input (models reuse `call_0`) is
   * charged as the new call it is. Without a call id: a random UUID. Ids that are not 1..100
   * printable ASCII characters are replaced by `sha256:<hex>` of themselves. A custom base must
   * be as specific: two different calls under one base share one charge (the second runs free,
   * warned as `TOLLGATE_REPLAYED_CHARGE`).
   */
  requestId?: (input: I, toolCallId?: string) => string;
  /**
   * Lifetime of the hold in seconds. Default: the server's (300 s). A tool that may run longer
   * needs more, or its capture fails with HOLD_EXPIRED after the hold was released.
   */
  holdTtlSeconds?: number;
  /**
   * True for a result that reports a failure without throwing (an MCP `isError` result): its hold
   * is voided as if the tool had thrown, and the result is returned. Default: never.
   */
  isFailure?: (result: R) => boolean;
}

/** {@link BudgetOptions} after defaults and checks, for one tool. */
export interface ResolvedBudget<I, R, X> {
  wallet: Wallet;
  toolName: string;
  /** The catalog service the tool's calls go to through the gateway; undefined: charged here. */
  gateway: string | undefined;
  service: string | undefined;
  /** The amount held (or spent upfront) for an input. */
  amount: (input: I) => Promise<bigint>;
  /** One Spend before the tool runs instead of a hold (never with `cost`). */
  upfront: boolean;
  cost: ((result: R, input: I) => Amount | Promise<Amount>) | undefined;
  metadata: (input: I) => Promise<Record<string, string>>;
  onRefusal: "message" | "throw" | ((refusal: BudgetRefusal<I>) => X | Promise<X>);
  requestId: ((input: I, toolCallId?: string) => string) | undefined;
  holdTtlSeconds: number | undefined;
  isFailure: (result: R) => boolean;
  /** This tool among the wallet's budgeted tools; what its charges last heard of the balance. */
  binding: ToolBinding;
}

/**
 * Fills in defaults and rejects contradictory options when the tool is wrapped, not on its first
 * call, so a misconfigured tool fails at start-up.
 */
export function resolveBudget<I, R, X>(
  options: BudgetOptions<I, R, X>,
  frameworkToolName: string | undefined,
): ResolvedBudget<I, R, X> {
  const { price, maxPrice, cost } = options;
  if (options.gateway !== undefined) checkGatewayOptions(options);
  else if ((price === undefined) === (maxPrice === undefined)) {
    throw new TypeError("withBudget: give exactly one of `price` and `maxPrice`");
  }
  if ((maxPrice === undefined) !== (cost === undefined)) {
    throw new TypeError("withBudget: `maxPrice` and `cost` go together");
  }
  if (options.upfront && price === undefined) {
    throw new TypeError("withBudget: `upfront` needs a fixed or input-priced `price`");
  }
  const toolName = options.toolName ?? frameworkToolName;
  if (toolName === undefined || toolName === "") {
    throw new TypeError("withBudget: the tool has no name; pass `toolName`");
  }
  // In gateway mode without a price: 0 here means "not known", never "free" (see binding below).
  const priced = (price ?? maxPrice ?? 0) as Priced<I>;
  // Checked here too, so a bad fixed price fails when the tool is wrapped.
  const fixed = typeof priced === "function" ? undefined : toCredits(priced, "price");
  const metadata = options.metadata;
  return {
    wallet: options.mode === undefined ? options.wallet : options.wallet.using(options.mode),
    toolName,
    gateway: options.gateway,
    service: options.service,
    amount:
      typeof priced === "function"
        ? async (input) => toCredits(await priced(input), "price")
        : async () => toCredits(priced, "price"),
    upfront: options.upfront === true,
    cost,
    metadata: async (input) =>
      typeof metadata === "function" ? await metadata(input) : (metadata ?? {}),
    onRefusal: options.onRefusal ?? "message",
    requestId: options.requestId,
    holdTtlSeconds: options.holdTtlSeconds,
    isFailure: options.isFailure ?? (() => false),
    // A gateway tool without a price has an unknown one: a stop condition counts it as 1 credit.
    binding: bindTool(
      options.wallet.id,
      toolName,
      options.gateway !== undefined && price === undefined ? undefined : fixed,
    ),
  };
}

/** The options a gateway-routed tool cannot have: the gateway charges, meters and settles. */
function checkGatewayOptions<I, R, X>(options: BudgetOptions<I, R, X>): void {
  if (typeof options.gateway !== "string" || !/^[A-Za-z0-9._-]{1,64}$/.test(options.gateway)) {
    throw new TypeError(
      "withBudget: `gateway` must name a catalog service (1..64 of A-Z a-z 0-9 . _ -)",
    );
  }
  for (const name of ["maxPrice", "cost", "upfront", "holdTtlSeconds"] as const) {
    if (options[name] !== undefined && options[name] !== false) {
      throw new TypeError(
        `withBudget: \`${name}\` does not apply with \`gateway\`: the catalog prices and the gateway settles each call`,
      );
    }
  }
}

/** An Amount as bigint; a fractional, negative or unsafe `number` is a programming error. */
export function toCredits(amount: Amount, what: string): bigint {
  if (typeof amount === "bigint") {
    if (amount < 0n) throw new RangeError(`withBudget: ${what} must not be negative`);
    return amount;
  }
  if (!Number.isSafeInteger(amount) || amount < 0) {
    throw new RangeError(`withBudget: ${what} must be a non-negative safe integer, got ${amount}`);
  }
  return BigInt(amount);
}
