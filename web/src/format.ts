/** How figures and times read on the page. */
import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";

/** Credits with thousands separators, e.g. `1,000` (exact: bigint, never a float). */
export function credits(amount: bigint): string {
  return amount.toLocaleString("en-US");
}

/** A commit time as local `HH:MM:SS.mmm`: events come several a second. */
export function clockTime(timestamp: Timestamp | undefined): string {
  if (timestamp === undefined) return "";
  const date = timestampDate(timestamp);
  const hms = date.toLocaleTimeString("en-GB", { hour12: false });
  return `${hms}.${String(date.getMilliseconds()).padStart(3, "0")}`;
}

/** A full local date and time, for details. */
export function dateTime(timestamp: Timestamp | undefined): string {
  return timestamp === undefined ? "" : timestampDate(timestamp).toLocaleString("en-GB");
}

/** A wallet's name, or its id when it has none. */
export function walletLabel(name: string | undefined, id: string): string {
  return name !== undefined && name !== "" ? name : id;
}
