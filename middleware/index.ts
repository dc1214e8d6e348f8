/**
 * tollgate/middleware: charge every tool call of an agent to a tollgate wallet. This core imports
 * no agent framework; the adapters (`tollgate/middleware/ai`, `/openai-agents`, `/langchain`,
 * `/mcp`) each import only their own.
 */
export { type ActiveCharge, currentCharge } from "./charge-context.js";
export { type PaidFetchOptions, paidFetch } from "./gateway-route.js";
export type { BudgetOptions, BudgetRefusal, Priced } from "./options.js";
export { walletExhausted } from "./wallet-exhausted.js";
export type { WalletStopOptions } from "./wallet-stop.js";
export { type Budgeted, type Settled, type WithBudgetOptions, withBudget } from "./with-budget.js";
