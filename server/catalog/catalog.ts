import { readFileSync } from "node:fs";
import { z } from "zod";
import { UpstreamSecret } from "./upstream-secret.js";

/**
 * The service catalog: the paid services of each project, as the operator declares them in a
 * JSON file (`TOLLGATE_CATALOG_FILE`). A file rather than RPCs on purpose: a service names an
 * upstream address and the secret sent to it, and an API that let a project key set those would
 * let whoever leaks that key point the gateway, secret and all, at a host of their choosing. The
 * file is reviewed and deployed like the rest of the configuration; `ListServices` and
 * `tollgate services` show it read-only (docs/credentials.md#the-service-catalog).
 */

/** How a metered call's cost is read from the upstream's answer. */
export type Meter =
  /** An integer response header, in credits (`x-usage-credits: 12`). */
  | { kind: "header"; header: string }
  /** A number at a dotted path of the JSON body (`usage.total_tokens`), times the rate. */
  | { kind: "json"; path: readonly string[]; rate: Rate }
  /** Units relayed to the agent: server-sent events, or newline-terminated lines, times the rate. */
  | { kind: "sse-events" | "lines"; rate: Rate };

/** `credits` per `units`, rounded up per call: integers, so a cost is exact. */
export interface Rate {
  credits: number;
  units: number;
}

/** One paid service. */
export interface CatalogService {
  project: string;
  name: string;
  /** Fixed price per call, or the most a metered call may cost (what its hold reserves). */
  price: { kind: "fixed"; credits: number } | { kind: "metered"; maxCredits: number; meter: Meter };
  /** Base URL: the gateway forwards `/<name>/<path>` to `<upstream><path>`. */
  upstream: URL;
  /** How the gateway authenticates upstream: `header: <scheme> <secret>`. */
  auth: { header: string; scheme: string; secret: UpstreamSecret } | undefined;
  /** Upper-case methods forwarded. */
  methods: readonly string[];
  /** Path prefixes forwarded (each starts with `/`). */
  pathPrefixes: readonly string[];
  /** Upstream timeout: connecting, the answer's headers, and each gap in its body. */
  timeoutMs: number;
  /** Largest request body forwarded. */
  maxRequestBytes: number;
  /** Largest JSON body read for a `json` meter. */
  maxMeteredBodyBytes: number;
}

const name = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "1..64 of A-Z a-z 0-9 . _ -");
const credits = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const rate = z
  .object({ credits: z.number().int().min(1), units: z.number().int().min(1).default(1) })
  .strict();
const meter = z.union([
  z.object({ header: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, "an HTTP header name") }).strict(),
  z
    .object({
      json: z.string().regex(/^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/, "a dotted path"),
      rate: rate.default({ credits: 1, units: 1 }),
    })
    .strict(),
  z
    .object({
      units: z.enum(["sse-events", "lines"]),
      rate: rate.default({ credits: 1, units: 1 }),
    })
    .strict(),
]);
const headerName = z.string().regex(/^[A-Za-z0-9-]{1,64}$/, "an HTTP header name");
const forbiddenAuthHeaders = new Set(["host", "connection", "content-length", "transfer-encoding"]);

const serviceEntry = z
  .object({
    project: name.default("default"),
    name,
    upstream: z.string().transform((text, ctx) => {
      let url: URL;
      try {
        url = new URL(text);
      } catch {
        ctx.addIssue({ code: "custom", message: "is not a URL" });
        return z.NEVER;
      }
      if (url.protocol !== "http:" && url.protocol !== "https:") {
        ctx.addIssue({ code: "custom", message: "must be http: or https:" });
      }
      if (url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "") {
        ctx.addIssue({
          code: "custom",
          message: "must not carry credentials, a query or a fragment: put secrets in auth",
        });
      }
      return url;
    }),
    price: z.union([
      z.object({ credits }).strict(),
      z.object({ maxCredits: credits, meter }).strict(),
    ]),
    auth: z
      .object({
        header: headerName
          .default("authorization")
          .refine((h) => !forbiddenAuthHeaders.has(h.toLowerCase()), "cannot carry a secret"),
        scheme: z
          .string()
          .regex(/^[A-Za-z0-9-]{0,32}$/)
          .optional(),
        secretEnv: z
          .string()
          .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
          .optional(),
        secretFile: z.string().min(1).optional(),
      })
      .strict()
      .refine(
        (a) => (a.secretEnv === undefined) !== (a.secretFile === undefined),
        "name exactly one of secretEnv and secretFile",
      )
      .optional(),
    methods: z
      .array(z.enum(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]))
      .min(1)
      .default(["GET", "POST"]),
    pathPrefixes: z
      .array(z.string().regex(/^\/[A-Za-z0-9._~!$&'()*+,;=:@/-]*$/, "a path starting with /"))
      .min(1)
      .default(["/"]),
    timeoutMs: z.number().int().min(100).max(600_000).default(30_000),
    maxRequestBytes: z
      .number()
      .int()
      .min(0)
      .max(64 * 1024 * 1024)
      .default(1024 * 1024),
    maxMeteredBodyBytes: z
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(4 * 1024 * 1024),
  })
  .strict();

const catalogFile = z.object({ services: z.array(serviceEntry) }).strict();

/** The entries of a catalog file, before secrets are resolved: what tests and code build too. */
export type CatalogEntryInput = z.input<typeof serviceEntry>;

/** Every project's services, looked up by (project, name). */
export class Catalog {
  private readonly byKey = new Map<string, CatalogService>();

  private constructor(services: readonly CatalogService[]) {
    for (const service of services) {
      const key = catalogKey(service.project, service.name);
      if (this.byKey.has(key)) {
        throw new Error(`service ${service.name} of project ${service.project} is declared twice`);
      }
      this.byKey.set(key, service);
    }
  }

  /** No services: every spend is priced by its caller, and the gateway forwards nothing. */
  static empty(): Catalog {
    return new Catalog([]);
  }

  /**
   * Builds a catalog from entries (a parsed file, or code), resolving each upstream secret from
   * `environment` or its file.
   *
   * @throws Error naming the entry and field, never a secret.
   */
  static fromEntries(
    entries: readonly CatalogEntryInput[],
    environment: NodeJS.ProcessEnv = process.env,
  ): Catalog {
    const parsed = catalogFile.safeParse({ services: entries });
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.slice(1).join(".") ?? "?";
      throw new Error(`catalog entry ${where}: ${issue?.message ?? "is invalid"}`);
    }
    return new Catalog(
      parsed.data.services.map((entry, index) => {
        let auth: CatalogService["auth"];
        if (entry.auth !== undefined) {
          let secret: UpstreamSecret;
          try {
            secret = UpstreamSecret.load(
              { env: entry.auth.secretEnv, file: entry.auth.secretFile },
              environment,
            );
          } catch (error) {
            throw new Error(`catalog entry ${index} (${entry.name}): ${(error as Error).message}`);
          }
          const header = entry.auth.header.toLowerCase();
          const scheme = entry.auth.scheme ?? (header === "authorization" ? "Bearer" : "");
          auth = { header, scheme, secret };
        }
        const upstream = entry.upstream;
        if (!upstream.pathname.endsWith("/")) upstream.pathname = `${upstream.pathname}/`;
        return {
          project: entry.project,
          name: entry.name,
          price:
            "credits" in entry.price
              ? { kind: "fixed", credits: entry.price.credits }
              : {
                  kind: "metered",
                  maxCredits: entry.price.maxCredits,
                  meter: toMeter(entry.price.meter),
                },
          upstream,
          auth,
          methods: entry.methods,
          pathPrefixes: entry.pathPrefixes,
          timeoutMs: entry.timeoutMs,
          maxRequestBytes: entry.maxRequestBytes,
          maxMeteredBodyBytes: entry.maxMeteredBodyBytes,
        } satisfies CatalogService;
      }),
    );
  }

  /** Reads a catalog file: `{"services": [ ... ]}` (docs/credentials.md#the-service-catalog). */
  static fromFile(path: string, environment: NodeJS.ProcessEnv = process.env): Catalog {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(path, "utf8"));
    } catch (error) {
      throw new Error(`catalog file ${path}: ${(error as Error).message}`);
    }
    const shape = z
      .object({ services: z.array(z.unknown()) })
      .strict()
      .safeParse(json);
    if (!shape.success) throw new Error(`catalog file ${path}: must be {"services": [...]}`);
    return Catalog.fromEntries(shape.data.services as CatalogEntryInput[], environment);
  }

  /** The service `name` of `project`, or undefined. */
  find(project: string, name: string): CatalogService | undefined {
    return this.byKey.get(catalogKey(project, name));
  }

  /** The project's services, by name. */
  list(project: string): CatalogService[] {
    return [...this.byKey.values()]
      .filter((s) => s.project === project)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Every upstream secret, so the server can keep them out of logs and answers. */
  secrets(): string[] {
    return [...this.byKey.values()].flatMap((s) => (s.auth ? [s.auth.secret.reveal()] : []));
  }

  get size(): number {
    return this.byKey.size;
  }
}

/** The amount a hold on `service` reserves, or a spend on it debits. */
export function catalogAmount(service: CatalogService): number {
  return service.price.kind === "fixed" ? service.price.credits : service.price.maxCredits;
}

/** A metered cost: `units` times the rate, rounded up, capped at the service's maximum. */
export function meteredCost(units: number, rate: Rate, maxCredits: number): number {
  if (!Number.isFinite(units) || units <= 0) return 0;
  // BigInt: units x credits can pass 2^53 for a large usage figure.
  const whole = BigInt(Math.ceil(units));
  const cost = (whole * BigInt(rate.credits) + BigInt(rate.units) - 1n) / BigInt(rate.units);
  return cost > BigInt(maxCredits) ? maxCredits : Number(cost);
}

/** How a meter reads, as `ListServices` shows it: `json:usage.total_tokens x 1/1000`. */
export function describeMeter(meter: Meter): string {
  switch (meter.kind) {
    case "header":
      return `header:${meter.header}`;
    case "json":
      return `json:${meter.path.join(".")} x ${meter.rate.credits}/${meter.rate.units}`;
    default:
      return `${meter.kind} x ${meter.rate.credits}/${meter.rate.units}`;
  }
}

type MeterInput = z.output<typeof meter>;

function toMeter(input: MeterInput): Meter {
  if ("header" in input) return { kind: "header", header: input.header.toLowerCase() };
  if ("json" in input) return { kind: "json", path: input.json.split("."), rate: input.rate };
  return { kind: input.units, rate: input.rate };
}

function catalogKey(project: string, name: string): string {
  return `${project}\0${name}`;
}
