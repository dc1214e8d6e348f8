import { createServer, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { exitOf } from "../support/main-process.js";

describe("npm start on an address already in use", () => {
  let holder: Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => holder?.close(resolve) ?? resolve(undefined));
    holder = undefined;
  });

  const holdPort = async () => {
    const listening = createServer();
    holder = listening;
    return new Promise<number>((resolve) =>
      listening.listen(0, "127.0.0.1", () => {
        const address = listening.address();
        resolve(typeof address === "object" && address !== null ? address.port : 0);
      }),
    );
  };

  it("prints one line naming TOLLGATE_ADDRESS, nothing from grpc-js, and exits 1", async () => {
    const port = await holdPort();
    const exited = await exitOf({ TOLLGATE_ADDRESS: `127.0.0.1:${port}` });

    expect(exited.code).toBe(1);
    // npx may add notices of its own; everything else on stderr is the one line.
    expect(exited.stderr.split("\n").filter((l) => l !== "" && !l.startsWith("npm "))).toEqual([
      `tollgate failed to start: TOLLGATE_ADDRESS 127.0.0.1:${port} is already in use (EADDRINUSE); set TOLLGATE_ADDRESS to a free host:port`,
    ]);
    // stdout is JSON log lines only, and none of them is grpc-js repeating the failure.
    const lines = exited.stdout
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.msg)).toEqual([
      "no TOLLGATE_SIGNING_KEY: generated a signing key; credentials die with this process",
    ]);
  });

  it("names TOLLGATE_HTTP_ADDRESS when the HTTP face's port is taken, and exits 1", async () => {
    const port = await holdPort();
    const exited = await exitOf({
      TOLLGATE_ADDRESS: "127.0.0.1:0",
      TOLLGATE_HTTP_ADDRESS: `127.0.0.1:${port}`,
    });

    expect(exited.code).toBe(1);
    expect(exited.stderr.split("\n").filter((l) => l !== "" && !l.startsWith("npm "))).toEqual([
      `tollgate failed to start: TOLLGATE_HTTP_ADDRESS 127.0.0.1:${port} is already in use (EADDRINUSE); set TOLLGATE_HTTP_ADDRESS to a free host:port`,
    ]);
  });
});
