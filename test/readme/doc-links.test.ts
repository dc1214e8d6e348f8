import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The documentation resolves inside the repo: every relative link of the README and of docs/
 * names a file that exists (and, for a Markdown target with a `#fragment`, a heading it has),
 * every docs/ reference in the code does too, and nothing cites the guidance documents that live
 * outside the repo. Headings are turned into anchors as GitHub does, so a link that works here
 * works when the file is read on GitHub.
 */
const root = resolve(import.meta.dirname, "../..");

const markdownFiles = [
  "README.md",
  ...readdirSync(join(root, "docs"))
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => `docs/${name}`),
];

/** Directories never searched: dependencies, generated code, VCS data, build and cache output. */
const skippedDirs = new Set(["node_modules", "gen", ".git", "dist", "coverage", "__pycache__"]);

/** Every text file of the repo outside {@link skippedDirs}, as repo-relative paths. */
function repoFiles(dir = root): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (skippedDirs.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...repoFiles(path));
    else if (entry.isFile() && !readFileSync(path).includes(0)) files.push(relative(root, path));
  }
  return files;
}

/**
 * The lines of a Markdown text with fenced code blocks blanked and inline code spans removed, so
 * that a link or heading shown as code is not taken for a real one. Line numbers are kept.
 */
function proseLines(markdown: string): string[] {
  let fenced = false;
  return markdown.split("\n").map((line) => {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      return "";
    }
    return fenced ? "" : line.replace(/`[^`]*`/g, "");
  });
}

/** A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

/** The anchors of a Markdown file's headings, with GitHub's -1, -2 ... for repeated ones. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of markdown.split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const heading = fenced ? undefined : /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const base = slug(heading.replace(/`/g, ""));
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

interface Link {
  /** `file:line` where the link is written. */
  at: string;
  target: string;
}

/** The inline links and images of a Markdown file, outside code. */
function linksOf(file: string): Link[] {
  const links: Link[] = [];
  proseLines(readFileSync(join(root, file), "utf8")).forEach((line, index) => {
    for (const match of line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      links.push({ at: `${file}:${index + 1}`, target: match[1] as string });
    }
  });
  return links;
}

/**
 * Why a link does not resolve, or undefined when it does. `from` is the repo-relative file the
 * link is written in; its target is relative to that file's directory.
 */
function brokenLink(from: string, target: string): string | undefined {
  const [pathPart = "", fragment] = target.split("#", 2);
  const path = pathPart === "" ? join(root, from) : resolve(root, dirname(from), pathPart);
  if (path !== root && !path.startsWith(root + sep)) return "points outside the repo";
  if (!existsSync(path)) return "no such file";
  if (fragment === undefined || fragment === "") return undefined;
  if (!path.endsWith(".md") || !statSync(path).isFile()) return undefined;
  const anchors = anchorsOf(readFileSync(path, "utf8"));
  return anchors.has(fragment) ? undefined : `no heading with anchor #${fragment}`;
}

/** Anything with a scheme (https:, mailto:) is not a file of the repo. */
const external = /^[a-z][a-z0-9+.-]*:/i;

describe("documentation links", () => {
  it("finds the README and the docs", () => {
    expect(markdownFiles).toEqual(
      expect.arrayContaining([
        "README.md",
        "docs/architecture.md",
        "docs/errors.md",
        "docs/ledger.md",
        "docs/limits.md",
      ]),
    );
  });

  it("every relative link of the README and docs/ resolves, anchors included", () => {
    const broken = markdownFiles.flatMap((file) =>
      linksOf(file)
        .filter((link) => !external.test(link.target))
        .flatMap((link) => {
          const why = brokenLink(file, link.target);
          return why === undefined ? [] : [`${link.at}: ${link.target}: ${why}`];
        }),
    );
    expect(broken).toEqual([]);
  });

  it("the README links every file of docs/", () => {
    const linked = new Set(
      linksOf("README.md").map((link) => link.target.split("#", 1)[0]?.replace(/^\.\//, "")),
    );
    const docs = markdownFiles.filter((file) => file.startsWith("docs/"));
    expect(docs.filter((file) => !linked.has(file))).toEqual([]);
  });

  it("every docs/ reference in the repo names an existing file and heading", () => {
    const broken: string[] = [];
    for (const file of repoFiles()) {
      const lines = readFileSync(join(root, file), "utf8").split("\n");
      lines.forEach((line, index) => {
        for (const match of line.matchAll(/(?<![\w./-])docs\/([\w.-]+\.md)(#[\w-]+)?/g)) {
          const target = `${match[1]}${match[2] ?? ""}`;
          const why = brokenLink("docs/index", target);
          if (why !== undefined) broken.push(`${file}:${index + 1}: docs/${target}: ${why}`);
        }
      });
    }
    expect(broken).toEqual([]);
  });

  it("nothing cites the guidance documents outside the repo, only docs/", () => {
    // Built from parts so that this file does not match itself.
    const guidance = new RegExp(`(?<!docs/)\\b(?:${["DESIGN", "STYLE"].join("|")})\\.md\\b`);
    const citations = repoFiles().flatMap((file) =>
      readFileSync(join(root, file), "utf8")
        .split("\n")
        .flatMap((line, index) =>
          guidance.test(line) ? [`${file}:${index + 1}: ${line.trim()}`] : [],
        ),
    );
    expect(citations).toEqual([]);
  });

  it("would catch a broken link, a missing anchor and a path outside the repo", () => {
    expect(brokenLink("README.md", "docs/ledger.md#invariants")).toBeUndefined();
    expect(brokenLink("docs/errors.md", "limits.md#fairness-limits")).toBeUndefined();
    expect(brokenLink("docs/errors.md", "#failing-closed")).toBeUndefined();
    expect(brokenLink("docs/errors.md", "nothing.md")).toBe("no such file");
    expect(brokenLink("docs/errors.md", "ledger.md#no-such-heading")).toBe(
      "no heading with anchor #no-such-heading",
    );
    expect(brokenLink("docs/errors.md", "../../outside.md")).toBe("points outside the repo");
    expect(slug("Why grpc-js")).toBe("why-grpc-js");
    expect(slug("Rules in the ledger, not in adapters")).toBe(
      "rules-in-the-ledger-not-in-adapters",
    );
    expect([...anchorsOf("# A\n## B\n```\n# not a heading\n```\n## B\n")]).toEqual([
      "a",
      "b",
      "b-1",
    ]);
  });
});
