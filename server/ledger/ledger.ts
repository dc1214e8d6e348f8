import type { z } from "zod";
import { Catalog } from "../catalog/catalog.js";
import type {
  CredentialClaims,
  CredentialIssuer,
  IssuedCredential,
} from "../credentials/credential-issuer.js";
import type { LedgerStore } from "../store/ledger-store.js";
import { catalogPrice } from "./catalog-pricing.js";
import { fingerprint } from "./fingerprint.js";
import { rootIdFor } from "./ids.js";
import { decodePageToken, encodePageToken } from "./page-token.js";
import type {
  Breakdown,
  ChargeLine,
  ChildReceipt,
  HoldView,
  Receipt,
  WalletView,
} from "./types.js";
import {
  addCreditsInput,
  authorizeInput,
  captureInput,
  closeWalletInput,
  createWalletInput,
  listBreakdownInput,
  listChargesInput,
  listChildReceiptsInput,
  listWalletsInput,
  parse,
  spendInput,
  voidInput,
  walletInput,
} from "./validation.js";

/** Input shapes of the ledger's operations, as a transport adapter hands them over. */
export type CreateWalletInput = z.input<typeof createWalletInput>;
export type WalletInput = z.input<typeof walletInput>;
export type ListWalletsInput = z.input<typeof listWalletsInput>;
export type AddCreditsInput = z.input<typeof addCreditsInput>;
export type CloseWalletInput = z.input<typeof closeWalletInput>;
export type SpendInput = z.input<typeof spendInput>;
export type AuthorizeInput = z.input<typeof authorizeInput>;
export type CaptureInput = z.input<typeof captureInput>;
export type VoidInput = z.input<typeof voidInput>;
export type ListChargesInput = z.input<typeof listChargesInput>;
export type ListBreakdownInput = z.input<typeof listBreakdownInput>;
export type ListChildReceiptsInput = z.input<typeof listChildReceiptsInput>;

/** A page of results with the token for the next one ("" on the last page). */
export interface ListResult<T> {
  items: T[];
  nextPageToken: string;
}

/** The result of a spend: its receipt line, what is left, and the credential for the call. */
export interface SpendResult {
  line: ChargeLine;
  remaining: number;
  credential: IssuedCredential;
}

/** The result of an authorization: the open hold, what is left, and the credential. */
export interface AuthorizeResult {
  hold: HoldView;
  remaining: number;
  credential: IssuedCredential;
}

/**
 * `{ credential: false }`: charge without issuing a credential. Only for whoever spends or
 * authorizes on the caller's behalf and hands no credential out (the gateway paying from a
 * wallet): a signature nobody reads is CPU for nothing.
 */
export interface NoCredential {
  credential: false;
}

/** A spend or authorization's result without its credential. */
export type Uncredentialed<T> = Omit<T, "credential">;

export interface ClockOptions {
  /** Milliseconds since the epoch. Injected so tests can drive hold expiry. */
  now?: () => number;
  /** The paid services whose price the server sets. Default: none (callers price every spend). */
  catalog?: Catalog;
}

/**
 * The ledger: validates every request against the contract's limits, derives ids and idempotency
 * fingerprints, runs the operation as one atomic store step, and issues credentials for granted
 * spends: a MAC (HS256) that only tollgate verifies for a service in the project's catalog (the
 * gateway routes it), EdDSA that anyone verifies with the JWKS for any other service
 * (docs/credentials.md#verifying-credentials). Every project-scoped call takes the caller's
 * `project`, resolved by auth.
 */
export class Ledger {
  private readonly now: () => number;
  private readonly catalog: Catalog;

  constructor(
    private readonly store: LedgerStore,
    private readonly credentials: CredentialIssuer,
    options: ClockOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.catalog = options.catalog ?? Catalog.empty();
  }

  async createWallet(project: string, input: CreateWalletInput): Promise<WalletView> {
    const { parentId, requestId, ...params } = parse(createWalletInput, input);
    // A root's unset hard_cap means true, so a retry that spells the default out is the same
    // request. A child's unset hard_cap means "inherit", which is a parameter of its own.
    const hardCap = parentId === "" ? (params.hardCap ?? true) : params.hardCap;
    const base = {
      project,
      requestId,
      nowMs: this.now(),
      fingerprint: fingerprint("createWallet", { parentId, ...params, hardCap }),
    };
    if (parentId === "") {
      return this.store.createRoot({
        ...base,
        ...params,
        rootId: rootIdFor(project, requestId),
        hardCap: hardCap ?? true,
      });
    }
    return this.store.createChild({ ...base, ...params, hardCap: params.hardCap, parentId });
  }

  async getWallet(project: string, input: WalletInput): Promise<WalletView> {
    const { walletId } = parse(walletInput, input);
    return this.store.getWallet({ project, walletId, nowMs: this.now() });
  }

  async listWallets(project: string, input: ListWalletsInput): Promise<ListResult<WalletView>> {
    const { parentId, pageSize, pageToken } = parse(listWalletsInput, input);
    const query = `wallets:${project}:${parentId}`;
    const page = await this.store.listWallets({
      project,
      parentId,
      pageSize,
      cursor: decodePageToken(pageToken, query),
      nowMs: this.now(),
    });
    return { items: page.items, nextPageToken: encodePageToken(page.nextCursor, query) };
  }

  async addCredits(project: string, input: AddCreditsInput): Promise<WalletView> {
    const { requestId, ...params } = parse(addCreditsInput, input);
    return this.store.addCredits({
      ...params,
      project,
      requestId,
      nowMs: this.now(),
      fingerprint: fingerprint("addCredits", params),
    });
  }

  async closeWallet(
    project: string,
    input: CloseWalletInput,
  ): Promise<{ wallet: WalletView; returned: number }> {
    const { requestId, ...params } = parse(closeWalletInput, input);
    return this.store.closeWallet({
      ...params,
      project,
      requestId,
      nowMs: this.now(),
      fingerprint: fingerprint("closeWallet", params),
    });
  }

  /**
   * Debits a wallet. On a catalog service the catalog sets the amount (`catalogPrice`).
   * `agentKeyId` is the agent key that asked, named in the credential so revoking it voids it.
   * With `{ credential: false }` no credential is issued (the gateway's own charges).
   */
  async spend(project: string, input: SpendInput, agentKeyId?: string): Promise<SpendResult>;
  async spend(
    project: string,
    input: SpendInput,
    agentKeyId: string | undefined,
    options: NoCredential,
  ): Promise<Uncredentialed<SpendResult>>;
  async spend(
    project: string,
    input: SpendInput,
    agentKeyId?: string,
    options?: NoCredential,
  ): Promise<SpendResult | Uncredentialed<SpendResult>> {
    const amount = catalogPrice(this.catalog, project, "spend", input.service, input.amount);
    const { requestId, ...params } = parse(spendInput, { ...input, amount } as SpendInput);
    const outcome = await this.store.spend({
      ...params,
      project,
      requestId,
      nowMs: this.now(),
      fingerprint: fingerprint("spend", params),
    });
    if (options?.credential === false) return outcome;
    const credential = await this.issue({
      project,
      walletId: outcome.line.walletId,
      subjectId: outcome.line.id,
      kind: "charge",
      service: outcome.line.service,
      amount: outcome.line.amount,
      issuedAtMs: outcome.line.createdAtMs,
      agentKeyId,
    });
    return { ...outcome, credential };
  }

  /**
   * Reserves credits; on a catalog service the catalog sets the amount, as for {@link spend}.
   * With `{ credential: false }` no credential is issued (the gateway's own holds).
   */
  async authorize(
    project: string,
    input: AuthorizeInput,
    agentKeyId?: string,
  ): Promise<AuthorizeResult>;
  async authorize(
    project: string,
    input: AuthorizeInput,
    agentKeyId: string | undefined,
    options: NoCredential,
  ): Promise<Uncredentialed<AuthorizeResult>>;
  async authorize(
    project: string,
    input: AuthorizeInput,
    agentKeyId?: string,
    options?: NoCredential,
  ): Promise<AuthorizeResult | Uncredentialed<AuthorizeResult>> {
    const amount = catalogPrice(this.catalog, project, "authorize", input.service, input.amount);
    const { requestId, ttlSeconds, ...params } = parse(authorizeInput, {
      ...input,
      amount,
    } as AuthorizeInput);
    const outcome = await this.store.authorize({
      ...params,
      project,
      requestId,
      ttlMs: ttlSeconds * 1000,
      nowMs: this.now(),
      fingerprint: fingerprint("authorize", { ...params, ttlSeconds }),
    });
    if (options?.credential === false) return outcome;
    const credential = await this.issue({
      project,
      walletId: outcome.hold.walletId,
      subjectId: outcome.hold.id,
      kind: "hold",
      service: outcome.hold.service,
      amount: outcome.hold.amount,
      issuedAtMs: outcome.hold.createdAtMs,
      agentKeyId,
    });
    return { ...outcome, credential };
  }

  /**
   * The credential for a granted charge or hold: for the gateway (HS256) when its service is in
   * the project's catalog, since the gateway is the only way to its upstream; for anyone with the
   * JWKS (EdDSA) otherwise. The catalog is fixed for the process, so a replay gets the same kind,
   * hence the identical token.
   */
  private issue(claims: CredentialClaims): Promise<IssuedCredential> {
    const inCatalog = this.catalog.find(claims.project, claims.service) !== undefined;
    return this.credentials.issue(claims, inCatalog ? "gateway" : "public");
  }

  async capture(project: string, input: CaptureInput) {
    const { requestId, ...params } = parse(captureInput, input);
    return this.store.capture({
      ...params,
      project,
      requestId,
      nowMs: this.now(),
      fingerprint: fingerprint("capture", params),
    });
  }

  async void(project: string, input: VoidInput) {
    const { requestId, ...params } = parse(voidInput, input);
    return this.store.void({
      ...params,
      project,
      requestId,
      nowMs: this.now(),
      fingerprint: fingerprint("void", params),
    });
  }

  async getReceipt(project: string, input: WalletInput): Promise<Receipt> {
    const { walletId } = parse(walletInput, input);
    return this.store.getReceipt({ project, walletId, nowMs: this.now() });
  }

  async listBreakdown(project: string, input: ListBreakdownInput): Promise<ListResult<Breakdown>> {
    const { walletId, dimension, pageSize, pageToken } = parse(listBreakdownInput, input);
    const query = `breakdown:${project}:${walletId}:${dimension}`;
    const page = await this.store.listBreakdown({
      project,
      walletId,
      dimension,
      pageSize,
      cursor: decodePageToken(pageToken, query),
      nowMs: this.now(),
    });
    return { items: page.items, nextPageToken: encodePageToken(page.nextCursor, query) };
  }

  async listChildReceipts(
    project: string,
    input: ListChildReceiptsInput,
  ): Promise<ListResult<ChildReceipt>> {
    const { walletId, pageSize, pageToken } = parse(listChildReceiptsInput, input);
    const query = `children:${project}:${walletId}`;
    const page = await this.store.listChildReceipts({
      project,
      walletId,
      pageSize,
      cursor: decodePageToken(pageToken, query),
      nowMs: this.now(),
    });
    return { items: page.items, nextPageToken: encodePageToken(page.nextCursor, query) };
  }

  async listCharges(project: string, input: ListChargesInput): Promise<ListResult<ChargeLine>> {
    const { walletId, includeDescendants, pageSize, pageToken } = parse(listChargesInput, input);
    const query = `charges:${project}:${walletId}:${includeDescendants}`;
    const page = await this.store.listCharges({
      project,
      walletId,
      includeDescendants,
      pageSize,
      cursor: decodePageToken(pageToken, query),
      nowMs: this.now(),
    });
    return { items: page.items, nextPageToken: encodePageToken(page.nextCursor, query) };
  }
}
