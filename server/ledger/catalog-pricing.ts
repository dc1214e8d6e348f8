import { type Catalog, catalogAmount } from "../catalog/catalog.js";
import { LedgerError } from "./ledger-error.js";
import { Reason } from "./reasons.js";

/**
 * The amount of a spend or authorization on a catalog service: the server's price, never the
 * caller's (docs/credentials.md#the-service-catalog). A caller sends 0 (or leaves it unset) and
 * gets the catalog's price; sending the price itself is accepted too, so a client written before
 * the service was catalogued keeps working while it agrees; any other amount is refused
 * INVALID_ARGUMENT, reason PRICE_SET_BY_CATALOG, with the price in metadata. A metered service is
 * paid by hold: Authorize reserves its maximum and the capture (by the gateway) posts the measured
 * cost; a Spend on it is refused, since nobody knows its cost before the call. Services outside
 * the catalog are priced by their caller, as before.
 */
export function catalogPrice(
  catalog: Catalog,
  project: string,
  operation: "spend" | "authorize",
  service: unknown,
  amount: unknown,
): unknown {
  if (typeof service !== "string") return amount;
  const entry = catalog.find(project, service);
  if (entry === undefined) return amount;
  const asked = typeof amount === "bigint" ? Number(amount) : amount;
  if (entry.price.kind === "metered" && operation === "spend") {
    throw new LedgerError(
      Reason.PriceSetByCatalog,
      `service ${service} is metered: authorize (up to ${entry.price.maxCredits}) and capture the measured cost, or call it through the gateway`,
      { field: "amount", max_price: String(entry.price.maxCredits) },
    );
  }
  const price = catalogAmount(entry);
  if (asked === undefined || asked === 0 || asked === price) return price;
  throw new LedgerError(
    Reason.PriceSetByCatalog,
    `amount: service ${service} costs ${price} per call (the catalog's price): send 0 or ${price}`,
    { field: "amount", price: String(price) },
  );
}
