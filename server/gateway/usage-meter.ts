import type { IncomingHttpHeaders } from "node:http";
import { type CatalogService, type Meter, meteredCost } from "../catalog/catalog.js";

/** What a metered answer costs, as far as the gateway could tell. */
export type MeterReading =
  /** The cost was read: `credits` (may be 0). */
  | { kind: "cost"; credits: number }
  /** The answer did not say (no or bad header, body not JSON, path missing, body too big). */
  | { kind: "unreadable"; why: string };

/**
 * Reads the cost of one metered answer as it is relayed (docs/credentials.md#settlement):
 *
 * - `header`: an integer header of the answer, in credits;
 * - `json`: a number at a path of the JSON body times the rate, the body buffered (up to the
 *   service's `maxMeteredBodyBytes`) while it is relayed, parsed at its end;
 * - `sse-events` / `lines`: units counted in the bytes actually handed to the agent, times the
 *   rate, so an answer the agent cancels half-way costs the half it received.
 *
 * Fixed-price services need no meter: the price is the cost.
 */
export class UsageMeter {
  private units = 0;
  private json: Buffer[] = [];
  private jsonBytes = 0;
  private jsonOverflow = false;
  private headerCost: MeterReading | undefined;
  // Server-sent events parsing state (see countEvents).
  private lineEmpty = true;
  private lineIsComment = false;
  private blockHasField = false;
  private afterCR = false;

  constructor(
    private readonly meter: Meter,
    private readonly maxCredits: number,
    private readonly maxBodyBytes: number,
  ) {}

  /** A meter for `service`, or undefined for a fixed price. */
  static for(service: CatalogService): UsageMeter | undefined {
    if (service.price.kind === "fixed") return undefined;
    return new UsageMeter(
      service.price.meter,
      service.price.maxCredits,
      service.maxMeteredBodyBytes,
    );
  }

  /** True when the cost grows with what is relayed, so a cut answer costs what got through. */
  get perUnit(): boolean {
    return this.meter.kind === "sse-events" || this.meter.kind === "lines";
  }

  /** The answer's headers arrived. */
  headers(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): void {
    if (this.meter.kind !== "header") return;
    const value = headers[this.meter.header];
    const text = Array.isArray(value) ? value[0] : value;
    if (text === undefined || !/^\s*\d{1,16}\s*$/.test(text)) {
      this.headerCost = {
        kind: "unreadable",
        why: `header ${this.meter.header} is not an integer`,
      };
      return;
    }
    this.headerCost = {
      kind: "cost",
      credits: Math.min(Number(text.trim()), this.maxCredits),
    };
  }

  /** `chunk` was handed to the agent. */
  relayed(chunk: Buffer): void {
    switch (this.meter.kind) {
      case "lines":
        for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) this.units++;
        return;
      case "sse-events":
        this.countEvents(chunk);
        return;
      case "json":
        if (this.jsonOverflow) return;
        this.jsonBytes += chunk.length;
        if (this.jsonBytes > this.maxBodyBytes) {
          this.jsonOverflow = true;
          this.json = [];
          return;
        }
        this.json.push(chunk);
        return;
      default:
        return;
    }
  }

  /**
   * The cost so far. For `json`, only meaningful once the whole body was relayed; for a per-unit
   * meter, the units relayed up to now.
   */
  reading(): MeterReading {
    const meter = this.meter;
    switch (meter.kind) {
      case "header":
        return this.headerCost ?? { kind: "unreadable", why: "no answer headers" };
      case "json":
        return this.jsonCost(meter.path, meter.rate);
      default:
        return { kind: "cost", credits: meteredCost(this.units, meter.rate, this.maxCredits) };
    }
  }

  /** Units counted so far (events or lines). */
  get unitsRelayed(): number {
    return this.units;
  }

  private jsonCost(
    path: readonly string[],
    rate: { credits: number; units: number },
  ): MeterReading {
    if (this.jsonOverflow) {
      return { kind: "unreadable", why: `the body passed ${this.maxBodyBytes} bytes` };
    }
    let value: unknown;
    try {
      value = JSON.parse(Buffer.concat(this.json).toString("utf8"));
    } catch {
      return { kind: "unreadable", why: "the body is not JSON" };
    }
    for (const key of path) {
      value =
        typeof value === "object" && value !== null && Object.hasOwn(value, key)
          ? (value as Record<string, unknown>)[key]
          : undefined;
    }
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      return { kind: "unreadable", why: `${path.join(".")} is not a number` };
    }
    return { kind: "cost", credits: meteredCost(value, rate, this.maxCredits) };
  }

  /**
   * Counts server-sent events: a blank line ends an event when the lines before it held at least
   * one field (a block of `:` comments only, a keep-alive, is no event). Lines end in LF, CR or
   * CRLF (the SSE grammar); the state carries across chunks.
   */
  private countEvents(chunk: Buffer): void {
    for (const byte of chunk) {
      if (byte === 10 && this.afterCR) {
        this.afterCR = false;
        continue;
      }
      this.afterCR = byte === 13;
      if (byte === 10 || byte === 13) {
        if (this.lineEmpty) {
          if (this.blockHasField) this.units++;
          this.blockHasField = false;
        } else if (!this.lineIsComment) {
          this.blockHasField = true;
        }
        this.lineEmpty = true;
        this.lineIsComment = false;
        continue;
      }
      if (this.lineEmpty) this.lineIsComment = byte === 58; // ':'
      this.lineEmpty = false;
    }
  }
}
