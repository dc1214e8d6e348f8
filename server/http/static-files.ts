import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join, sep } from "node:path";
import { pipeline } from "node:stream";

/**
 * Serves the files of one directory (the built web monitor) on the HTTP face: GET and HEAD, with
 * content types, cache headers and revalidation, and never a file outside the directory.
 *
 * - `/` is `index.html`.
 * - A path is split on `/` and each segment decoded on its own: a segment that is `.` or `..`,
 *   starts with a dot (the build's own records), or decodes to a `/`, `\` or NUL is refused, so
 *   no spelling (`..`, `%2e%2e`, `..%2f`, `%5c`) reaches outside.
 * - Files under `assets/` have content-hashed names (Vite): immutable for a year. Anything else
 *   (index.html) is `no-cache`: revalidated every time (ETag), so a new build shows at once.
 * - When the directory has no `index.html` (not built yet) every page answers 503 with how to
 *   build it, instead of a bare 404.
 */
export interface StaticFiles {
  /**
   * Answers `request` for `path` (its URL path, without the query). `notFound` answers a path
   * that names no file, so the HTTP face keeps one 404 for everything it does not serve.
   */
  serve(
    request: IncomingMessage,
    response: ServerResponse,
    path: string,
    notFound: () => void,
  ): void;
}

const contentTypes: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

/** Same origin only: the page talks to the server that served it and runs no inline code. */
const contentSecurityPolicy =
  "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'self'; form-action 'none'";

export function staticFiles(directory: string, missingBuildHint: string): StaticFiles {
  const root = directory.endsWith(sep) ? directory : directory + sep;
  return {
    serve(request, response, path, notFound) {
      const file = fileFor(root, path);
      if (file === undefined) {
        notFound();
        return;
      }
      void answer(request, response, root, file, missingBuildHint, notFound);
    },
  };
}

/** The file `path` names inside `root`, or undefined when it may not name one. */
function fileFor(root: string, path: string): string | undefined {
  if (!path.startsWith("/")) return undefined;
  const segments: string[] = [];
  for (const raw of path.slice(1).split("/")) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (segment === "") continue;
    if (segment.startsWith(".") || /[/\\\0]/.test(segment)) return undefined;
    segments.push(segment);
  }
  if (segments.length === 0 || path.endsWith("/")) segments.push("index.html");
  const file = join(root, ...segments);
  // Belt and braces: the checks above already keep every path inside.
  return file.startsWith(root) ? file : undefined;
}

async function answer(
  request: IncomingMessage,
  response: ServerResponse,
  root: string,
  file: string,
  missingBuildHint: string,
  notFound: () => void,
): Promise<void> {
  const read = request.method === "GET" || request.method === "HEAD";
  const found = await stat(file).catch(() => undefined);
  if (found === undefined || !found.isFile()) {
    const built = read && (await stat(join(root, "index.html")).catch(() => undefined));
    if (read && built === undefined) {
      response.writeHead(503, { "content-type": "text/plain; charset=utf-8", "retry-after": "10" });
      response.end(missingBuildHint);
      return;
    }
    notFound();
    return;
  }
  if (!read) {
    response.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" });
    response.end("the web monitor's files are read with GET or HEAD\n");
    return;
  }
  const immutable = file.startsWith(join(root, "assets") + sep);
  const etag = `W/"${found.size.toString(16)}-${Math.floor(found.mtimeMs).toString(16)}"`;
  const headers: Record<string, string> = {
    "content-type": contentTypes[extname(file)] ?? "application/octet-stream",
    "cache-control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
    etag,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
  };
  if (extname(file) === ".html") headers["content-security-policy"] = contentSecurityPolicy;
  if (request.headers["if-none-match"] === etag) {
    response.writeHead(304, headers);
    response.end();
    return;
  }
  headers["content-length"] = String(found.size);
  response.writeHead(200, headers);
  if (request.method === "HEAD") {
    response.end();
    return;
  }
  // pipeline, not pipe: a browser that goes away mid-file closes the file too.
  pipeline(createReadStream(file), response, () => {});
}
