import type { Writable } from "node:stream";

/**
 * How the CLI writes: human text (aligned tables, color on a terminal) or JSON (one document per
 * command, or one object per line for `watch`), with every bigint as a decimal string, since
 * JSON numbers past 2^53 are rounded by most readers.
 */

/** Where output goes and how it looks; built once per run from the global flags. */
export interface Output {
  /** --json: machine-readable output only. */
  readonly json: boolean;
  /** ANSI colors: stdout is a terminal and NO_COLOR is not set (and not --json). */
  readonly color: boolean;
  readonly stdout: Writable;
  readonly stderr: Writable;
}

export function createOutput(
  options: { json: boolean; color?: boolean },
  stdout: Writable & { isTTY?: boolean } = process.stdout,
  stderr: Writable = process.stderr,
): Output {
  const color =
    options.color ??
    (!options.json && stdout.isTTY === true && (process.env.NO_COLOR ?? "") === "");
  return { json: options.json, color, stdout, stderr };
}

/** JSON.stringify's replacer for the CLI: bigints as decimal strings (Dates use their toJSON). */
export function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

/** `value` as one line of JSON (NDJSON-safe: no newline inside). */
export function toJsonLine(value: unknown): string {
  return JSON.stringify(value, jsonReplacer);
}

/** One JSON document, indented for reading; still one `JSON.parse` away for scripts. */
export function writeJson(out: Output, value: unknown): void {
  out.stdout.write(`${JSON.stringify(value, jsonReplacer, 2)}\n`);
}

/** One line of text on stdout. */
export function writeLine(out: Output, line = ""): void {
  out.stdout.write(`${line}\n`);
}

/** A note on stderr (hints, progress), so stdout stays the result. */
export function writeNote(out: Output, line: string): void {
  out.stderr.write(`${line}\n`);
}

const codes = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
} as const;

export type Style = keyof typeof codes;

/** `text` in `style` when the output has color, else as is. */
export function paint(out: Output, style: Style, text: string): string {
  if (!out.color) return text;
  const [on, off] = codes[style];
  return `\u001b[${on}m${text}\u001b[${off}m`;
}

/** Visible width: ANSI escapes take no column. */
function width(text: string): number {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI escapes is the point.
  return text.replace(/\u001b\[[0-9;]*m/g, "").length;
}

/** A column of a table: numbers are right-aligned. */
export interface Column {
  header: string;
  align?: "left" | "right";
}

/**
 * Aligned columns, two spaces apart, the header first; the last column is not padded (no
 * trailing spaces). Cells are plain strings (bigints already formatted).
 */
export function table(columns: readonly Column[], rows: readonly (readonly string[])[]): string[] {
  const widths = columns.map((column, i) =>
    Math.max(width(column.header), ...rows.map((row) => width(row[i] ?? ""))),
  );
  const render = (cells: readonly string[]) =>
    cells
      .map((cell, i) => {
        const pad = " ".repeat(Math.max(0, (widths[i] ?? 0) - width(cell)));
        if (columns[i]?.align === "right") return pad + cell;
        return i === cells.length - 1 ? cell : cell + pad;
      })
      .join("  ")
      .trimEnd();
  return [render(columns.map((c) => c.header)), ...rows.map(render)];
}

/** `key  value` lines with the keys aligned, for one object (a wallet). */
export function fields(pairs: readonly (readonly [string, string])[]): string[] {
  const keyWidth = Math.max(...pairs.map(([key]) => key.length));
  return pairs.map(([key, value]) => `${key.padEnd(keyWidth)}  ${value}`.trimEnd());
}

/** `k=v, k2=v2`, or "-" for none. */
export function formatMetadata(metadata: Record<string, string>): string {
  const entries = Object.entries(metadata);
  return entries.length === 0 ? "-" : entries.map(([k, v]) => `${k}=${v}`).join(", ");
}
