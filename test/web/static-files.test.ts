import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type Server,
} from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { staticFiles } from "../../server/http/static-files.js";
import { webMonitorDirectory } from "../../server/http/web-monitor-files.js";
import { type HttpHarness, startHttpHarness } from "../http/harness.js";

/** A raw HTTP/1.1 request: the path goes out exactly as given (fetch would normalise `..`). */
function raw(
  port: number,
  path: string,
  method = "GET",
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path, method, headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("the web monitor's files on the HTTP face", () => {
  let h: HttpHarness;
  let port: number;
  beforeAll(async () => {
    h = await startHttpHarness({ logLevel: "silent" });
    port = h.server.httpPort ?? 0;
  });
  afterAll(async () => {
    await h.close();
  });

  it("serves index.html at / as HTML, revalidated every time, same-origin only", async () => {
    const page = await raw(port, "/");
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(page.headers["cache-control"]).toBe("no-cache");
    expect(page.headers["x-content-type-options"]).toBe("nosniff");
    expect(page.headers["content-security-policy"]).toContain("default-src 'self'");
    expect(page.body).toContain("<title>tollgate monitor</title>");
    expect((await raw(port, "/index.html")).body).toBe(page.body);

    const etag = page.headers.etag ?? "";
    expect(etag).not.toBe("");
    const again = await raw(port, "/", "GET", { "if-none-match": etag });
    expect(again.status).toBe(304);
    expect(again.body).toBe("");
  });

  it("serves the hashed assets with their content types, immutable", async () => {
    const page = (await raw(port, "/")).body;
    const script = /src="\.\/(assets\/[^"]+\.js)"/.exec(page)?.[1];
    const style = /href="\.\/(assets\/[^"]+\.css)"/.exec(page)?.[1];
    expect(script).toBeDefined();
    expect(style).toBeDefined();
    const js = await raw(port, `/${script}`);
    expect(js.status).toBe(200);
    expect(js.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(js.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(js.body).toBe(readFileSync(join(webMonitorDirectory(), script ?? ""), "utf8"));
    const css = await raw(port, `/${style}`);
    expect(css.headers["content-type"]).toBe("text/css; charset=utf-8");
    expect(css.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
  });

  it("answers HEAD with the headers only, and refuses other methods on its files (405)", async () => {
    const head = await raw(port, "/", "HEAD");
    expect(head.status).toBe(200);
    expect(Number(head.headers["content-length"])).toBeGreaterThan(0);
    expect(head.body).toBe("");
    for (const method of ["POST", "PUT", "DELETE"]) {
      const refused = await raw(port, "/index.html", method);
      expect(refused.status).toBe(405);
      expect(refused.headers.allow).toBe("GET, HEAD");
    }
  });

  it.each([
    "/../package.json",
    "/../../package.json",
    "/assets/../../package.json",
    "/..%2fpackage.json",
    "/..%2F..%2Fpackage.json",
    "/%2e%2e/package.json",
    "/%2e%2e%2f%2e%2e%2fpackage.json",
    "/assets/%2e%2e/%2e%2e/package.json",
    "/%252e%252e/package.json",
    "/..\\package.json",
    "/..%5c..%5cpackage.json",
    "/assets/..%5c..%5c..%5cpackage.json",
    "/.inputs-sha256",
    "/%2einputs-sha256",
    "/index.html%00.js",
    "/%E0%A4%A",
    "//etc/passwd",
    "/assets/../index.html",
  ])("never serves a file outside the build, nor its own records: %s", async (path) => {
    const answer = await raw(port, path);
    expect(answer.status).toBe(404);
    expect(answer.body).not.toContain('"name": "tollgate"');
    expect(answer.body).not.toMatch(/^[0-9a-f]{64}$/m);
    expect(answer.body).not.toContain("root:");
  });

  it("keeps the other routes: RPC over Connect, /metrics, and 404 for a path that names nothing", async () => {
    const listed = await raw(port, "/nothing-here");
    expect(listed.status).toBe(404);
    expect(listed.body).toContain("GET / (the web monitor)");
    const rpc = await fetch(`${h.baseUrl}/tollgate.v1.WalletService/ListWallets`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(rpc.status).toBe(200);
    expect(await rpc.json()).toEqual({});
    expect((await raw(port, "/tollgate.v1.WalletService/Nope", "POST")).status).toBe(404);
    const metrics = await raw(port, "/metrics");
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain("# TYPE");
  });
});

describe("staticFiles on a directory", () => {
  let dir: string;
  let server: Server;
  let port: number;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tollgate-static-"));
    const files = staticFiles(dir, "not built: run npm run build:web\n");
    server = createServer((request, response) => {
      const path = (request.url ?? "").split("?", 1)[0] ?? "";
      files.serve(request, response, path, () => {
        response.writeHead(404);
        response.end("nothing here\n");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers 503 saying how to build while the monitor is not built, and 404 to other methods", async () => {
    for (const path of ["/", "/index.html", "/assets/app.js"]) {
      const answer = await raw(port, path);
      expect(answer.status).toBe(503);
      expect(answer.headers["content-type"]).toBe("text/plain; charset=utf-8");
      expect(answer.body).toBe("not built: run npm run build:web\n");
    }
    expect((await raw(port, "/", "POST")).status).toBe(404);
  });

  it("serves the build once it is there, with a default type for unknown extensions", async () => {
    mkdirSync(join(dir, "assets"), { recursive: true });
    writeFileSync(join(dir, "index.html"), "<!doctype html><title>x</title>");
    writeFileSync(join(dir, "assets", "data.bin"), "\u0001\u0002");
    writeFileSync(join(dir, "robots.txt"), "User-agent: *\n");
    expect((await raw(port, "/")).status).toBe(200);
    const bin = await raw(port, "/assets/data.bin");
    expect(bin.headers["content-type"]).toBe("application/octet-stream");
    const text = await raw(port, "/robots.txt");
    expect(text.headers["content-type"]).toBe("text/plain; charset=utf-8");
    expect(text.headers["cache-control"]).toBe("no-cache");
    expect((await raw(port, "/assets")).status).toBe(404);
    expect((await raw(port, "/missing.js")).body).toBe("nothing here\n");
  });
});
