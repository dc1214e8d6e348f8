import { createHash } from "node:crypto";
import { z } from "zod";

/**
 * One configured API key: the project it is bound to and the SHA-256 of the key (lowercase hex).
 * Only hashes are held in memory, so a heap dump or a logged config never reveals a usable key.
 */
export interface ApiKey {
  project: string;
  keySha256: string;
}

/**
 * Keys shorter than this are refused at start: an API key is the only thing between a caller and
 * a project's money, and 16 random characters are out of reach of online guessing.
 */
export const apiKeyMinChars = 16;

const projectName = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, "project names are 1..64 of A-Z a-z 0-9 . _ -");

/** SHA-256 of an API key, lowercase hex: the form keys are stored and compared in. */
export function hashApiKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

/**
 * Parses `project=key,project2=key2` (the `TOLLGATE_API_KEYS` form). A project may have several
 * keys (rotation); one key may not serve two projects, since the key alone picks the project.
 *
 * @throws Error naming the offending entry (never echoing the key itself).
 */
export function apiKeysFromPairs(text: string): ApiKey[] {
  const keys = text
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "")
    .map((entry, index) => {
      const eq = entry.indexOf("=");
      if (eq <= 0) throw new Error(`entry ${index + 1} is not project=key`);
      const project = entry.slice(0, eq).trim();
      const key = entry.slice(eq + 1).trim();
      if (!projectName.safeParse(project).success) {
        throw new Error(`entry ${index + 1}: project names are 1..64 of A-Z a-z 0-9 . _ -`);
      }
      if (key.length < apiKeyMinChars) {
        throw new Error(
          `entry ${index + 1} (${project}): keys must be at least ${apiKeyMinChars} characters`,
        );
      }
      return { project, keySha256: hashApiKey(key) };
    });
  return checkUnique(keys);
}

const keyFile = z.array(
  z.object({
    project: projectName,
    keySha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, "keySha256 must be 64 hex digits")
      .transform((h) => h.toLowerCase()),
  }),
);

/** Parses the JSON of a `TOLLGATE_API_KEYS_FILE`: `[{"project":"a","keySha256":"<hex>"}]`. */
export function apiKeysFromFile(text: string): ApiKey[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error("is not valid JSON");
  }
  const parsed = keyFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`entry ${issue?.path.join(".") ?? "?"}: ${issue?.message ?? "is invalid"}`);
  }
  return checkUnique(parsed.data);
}

function checkUnique(keys: ApiKey[]): ApiKey[] {
  const seen = new Set<string>();
  for (const { project, keySha256 } of keys) {
    if (seen.has(keySha256)) throw new Error(`a key of project ${project} is configured twice`);
    seen.add(keySha256);
  }
  return keys;
}
