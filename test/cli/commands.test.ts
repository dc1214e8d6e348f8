import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../support/redis-server.js";
import { type CliServer, cli, json, serveForCli } from "./support.js";

/**
 * `tollgate wallets|spend|receipt` as a script runs them: child processes against a real server,
 * asserting stdout, stderr and the exit codes scripts branch on.
 */

interface WalletJson {
  id: string;
  name: string;
  parentId: string;
  rootId: string;
  budget: string;
  spent: string;
  available: string;
  totalSpent: string;
  allocated: string;
  closed: boolean;
  hardCap: boolean;
  metadata: Record<string, string>;
  alertThresholds: number[];
}

// Each test runs the CLI several times, a second or two per process on a loaded machine.
describe("tollgate CLI", { timeout: 90_000 }, () => {
  let served: CliServer;
  beforeAll(async () => {
    served = await serveForCli();
  });
  afterAll(async () => {
    await served?.dispose();
  });

  /** A root with `budget`, made by the typed client (the CLI's own create is tested below). */
  async function root(budget: number, name = "task") {
    return served.tg.wallets.create({ name, budget });
  }

  it("creates, gets, lists, tops up and closes wallets", async () => {
    const created = await served.run([
      "wallets",
      "create",
      "--name",
      "task",
      "--budget",
      "1000",
      "--alert",
      "25,50",
      "--meta",
      "team=search",
      "--meta",
      "env=test",
      "--request-id",
      "cli-create-1",
    ]);
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    const id = /^created (w_\S+)$/m.exec(created.stdout)?.[1] ?? "";
    expect(id).not.toBe("");
    expect(created.stdout).toMatch(/^budget\s+1000$/m);
    expect(created.stdout).toMatch(/^metadata\s+team=search, env=test$/m);
    expect(created.stdout).toMatch(/^alerts\s+25%, 50%$/m);
    const wallet = await served.tg.wallets.get(id);
    expect(wallet).toMatchObject({ name: "task", budget: 1000n, hardCap: true });
    expect(wallet.alertThresholds).toEqual([25, 50]);
    expect(wallet.metadata).toEqual({ team: "search", env: "test" });

    // The same request id again: the first wallet, not a second one.
    const again = await served.run([
      "wallets",
      "create",
      "--name",
      "task",
      "--budget",
      "1000",
      "--alert",
      "25,50",
      "--meta",
      "team=search",
      "--meta",
      "env=test",
      "--request-id",
      "cli-create-1",
      "--json",
    ]);
    expect(again.code).toBe(0);
    expect(json<WalletJson>(again).id).toBe(id);

    const child = await served.run([
      "wallets",
      "create",
      "--name",
      "researcher",
      "--budget",
      "400",
      "--parent",
      id,
      "--json",
    ]);
    expect(child.code).toBe(0);
    const childJson = json<WalletJson>(child);
    expect(childJson).toMatchObject({
      name: "researcher",
      parentId: id,
      rootId: id,
      budget: "400",
      available: "400",
      closed: false,
    });

    const got = await served.run(["wallets", "get", id]);
    expect(got.code).toBe(0);
    expect(got.stdout).toMatch(new RegExp(`^id\\s+${id}$`, "m"));
    expect(got.stdout).toMatch(/^allocated\s+400$/m);
    expect(got.stdout).toMatch(/^available\s+600$/m);
    const gotJson = json<WalletJson>(await served.run(["wallets", "get", id, "--json"]));
    expect(gotJson).toMatchObject({ id, budget: "1000", allocated: "400", available: "600" });

    const listed = await served.run(["wallets", "list", "--parent", id]);
    expect(listed.code).toBe(0);
    const [header, row, ...rest] = listed.stdout.trimEnd().split("\n");
    expect(header).toMatch(/^ID\s+NAME\s+BUDGET\s+SPENT\s+HELD\s+AVAILABLE\s+STATUS$/);
    expect(row).toMatch(
      new RegExp(`^${childJson.id}\\s+researcher\\s+400\\s+0\\s+0\\s+400\\s+open`),
    );
    expect(rest).toEqual([]);
    // Columns line up: each header starts where its values start (numbers are right-aligned,
    // so they end where their header ends).
    expect(row?.indexOf("researcher")).toBe(header?.indexOf("NAME"));
    const soft = json<WalletJson>(
      await served.run([
        "wallets",
        "create",
        "--name",
        "soft",
        "--budget",
        "5",
        "--soft-cap",
        "--json",
      ]),
    );
    expect(soft).toMatchObject({ name: "soft", hardCap: false });
    const roots = json<{ wallets: WalletJson[]; more: boolean }>(
      await served.run(["wallets", "list", "--json", "--all"]),
    );
    expect(roots.more).toBe(false);
    expect(roots.wallets.map((w) => w.id)).toContain(id);
    expect(roots.wallets.map((w) => w.id)).not.toContain(childJson.id);

    const topped = await served.run(["wallets", "top-up", id, "500", "--request-id", "refill-1"]);
    expect(topped.code).toBe(0);
    expect(topped.stdout).toMatch(new RegExp(`^added 500 to ${id}$`, "m"));
    expect(topped.stdout).toMatch(/^budget\s+1500$/m);
    const drawn = json<WalletJson>(
      await served.run(["wallets", "top-up", childJson.id, "100", "--json"]),
    );
    expect(drawn).toMatchObject({ budget: "500", available: "500" });

    const closed = await served.run(["wallets", "close", childJson.id]);
    expect(closed.code).toBe(0);
    expect(closed.stdout).toBe(`closed ${childJson.id}; 500 returned to ${id}\n`);
    const closedRoot = json<{ returned: string; wallet: WalletJson }>(
      await served.run(["wallets", "close", id, "--json"]),
    );
    expect(closedRoot).toMatchObject({ returned: "0", wallet: { id, closed: true } });
  });

  it("spends, printing the line and what remains, and never the credential unless asked in JSON", async () => {
    const wallet = await root(100);
    const spent = await served.run([
      "spend",
      wallet.id,
      "30",
      "--service",
      "web_search",
      "--agent",
      "researcher",
      "--meta",
      "q=grpc",
    ]);
    expect(spent.stderr).toBe("");
    expect(spent.code).toBe(0);
    expect(spent.stdout).toMatch(
      new RegExp(
        `^spent 30 on web_search by researcher from ${wallet.id}: charge \\S+, 70 remaining\\n$`,
      ),
    );
    expect(spent.stdout).not.toMatch(/eyJ/);

    const quiet = json<Record<string, unknown>>(
      await served.run(["spend", wallet.id, "5", "--service", "web_search", "--json"]),
    );
    expect(quiet).toMatchObject({ remaining: "65", charge: { amount: "5", kind: "SPEND" } });
    expect(quiet).not.toHaveProperty("credential");

    const withCredential = json<{ credential: string; charge: { metadata: object } }>(
      await served.run([
        "spend",
        wallet.id,
        "5",
        "--service",
        "web_search",
        "--request-id",
        "spend-cred-1",
        "--json",
        "--credential",
      ]),
    );
    expect(withCredential.credential.split(".")).toHaveLength(3);

    const refusedFlag = await served.run([
      "spend",
      wallet.id,
      "5",
      "--service",
      "web_search",
      "--credential",
    ]);
    expect(refusedFlag.code).toBe(2);
    expect(refusedFlag.stderr).toBe(
      "tollgate: --credential needs --json (the credential is a bearer token)\n",
    );

    const lines = [];
    for await (const page of wallet.listCharges()) lines.push(...page);
    expect(lines.map((l) => [l.amount, l.metadata])).toEqual([
      [30n, { agent: "researcher", q: "grpc" }],
      [5n, {}],
      [5n, {}],
    ]);
  });

  it("exits 4 with the reason when a spend is refused for credits, or on a closed wallet", async () => {
    const wallet = await root(50);
    const refused = await served.run(["spend", wallet.id, "80", "--service", "web_search"]);
    expect(refused.code).toBe(4);
    expect(refused.stdout).toBe("");
    expect(refused.stderr).toMatch(/^tollgate: INSUFFICIENT_CREDITS: .*50.*80.*\n$/);
    expect(refused.stderr.split("\n")).toHaveLength(2);
    expect((await served.tg.wallets.get(wallet.id)).available).toBe(50n);

    await wallet.close();
    const closed = await served.run(["spend", wallet.id, "1", "--service", "web_search"]);
    expect(closed.code).toBe(4);
    expect(closed.stderr).toMatch(/^tollgate: WALLET_CLOSED: /);
  });

  it("refuses bad amounts with exit 2 before contacting any server", async () => {
    // Nothing listens there: a call would fail with 6, not 2.
    const nowhere = { TOLLGATE_ADDRESS: `127.0.0.1:${await freePort()}` };
    const runs = await Promise.all(
      ["1.5", "-3", "abc", "1e3", "0x10", "9007199254740992"].map((amount) =>
        cli(["spend", "w_000000000000000000000000", amount, "--service", "s"], nowhere),
      ),
    );
    for (const ran of runs) {
      expect(ran.code, ran.stderr).toBe(2);
      expect(ran.stdout).toBe("");
      expect(ran.stderr).toMatch(/^tollgate: amount: must be /);
      expect(ran.stderr.split("\n")).toHaveLength(2);
    }
    expect(runs[0]?.stderr).toBe(
      'tollgate: amount: must be a whole number of credits (digits only: no sign, fraction or exponent), got "1.5"\n',
    );
    const budget = await cli(["wallets", "create", "--name", "t", "--budget", "1.5"], nowhere);
    expect(budget.code).toBe(2);
    expect(budget.stderr).toMatch(/^tollgate: --budget: must be a whole number/);
    const topUp = await cli(["wallets", "top-up", "w_000000000000000000000000", "-3"], nowhere);
    expect(topUp.code).toBe(2);
  });

  it("exits 2 on usage errors: unknown commands and options, missing arguments, bad flag values", async () => {
    const runs = await Promise.all([
      cli([]),
      cli(["sevre"]),
      cli(["spend", "w_000000000000000000000000", "5"]),
      cli(["wallets", "get"]),
      cli(["wallets", "create", "--name", "x", "--budget", "5", "--bogus"]),
      cli(["wallets", "create", "--name", "x", "--budget", "5", "--meta", "novalue"]),
      cli(["--timeout", "soon", "wallets", "list"]),
    ]);
    for (const ran of runs) expect(ran.code, ran.stderr).toBe(2);
    expect(runs[1]?.stderr).toBe("tollgate: unknown command 'sevre' (Did you mean serve?)\n");
    expect(runs[2]?.stderr).toBe("tollgate: required option '--service <name>' not specified\n");
    expect(runs[3]?.stderr).toBe("tollgate: missing required argument 'wallet'\n");
    expect(runs[5]?.stderr).toBe('tollgate: --meta: must be key=value, got "novalue"\n');
  });

  it("exits 3 for an unknown wallet, 5 for a wrong API key, 6 when the server is down", async () => {
    const [missing, missingSpend, wrongKey, noKey] = await Promise.all([
      served.run(["wallets", "get", "w_000000000000000000000000"]),
      served.run(["spend", "w_000000000000000000000000", "5", "--service", "s"]),
      served.run(["wallets", "list"], { TOLLGATE_API_KEY: "wrong-key-0123456789abcdef" }),
      cli(["wallets", "list"], { TOLLGATE_ADDRESS: served.server.address }),
    ]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/^tollgate: WALLET_NOT_FOUND: .*w_000000000000000000000000/);
    expect(missingSpend.code).toBe(3);
    expect(wrongKey.code).toBe(5);
    expect(wrongKey.stderr).toMatch(/^tollgate: UNAUTHENTICATED: /);
    expect(noKey.code).toBe(5);

    const port = await freePort();
    const [down, downSpend] = await Promise.all([
      cli(["wallets", "list"], { TOLLGATE_ADDRESS: `127.0.0.1:${port}` }),
      cli(
        ["--address", `127.0.0.1:${port}`, "spend", "w_000000000000000000000000", "5"].concat([
          "--service",
          "s",
        ]),
      ),
    ]);
    for (const ran of [down, downSpend]) {
      expect(ran.code, ran.stderr).toBe(6);
      expect(ran.stderr).toMatch(/^tollgate: UNAVAILABLE: .*ECONNREFUSED/);
      expect(ran.stderr.split("\n")).toHaveLength(2);
    }
  });

  it("prints receipts as aligned tables by agent, by service and by child, and as JSON", async () => {
    const task = await root(1000, "team");
    const researcher = await task.createChild({ name: "researcher", budget: 400 });
    const writer = await task.createChild({ name: "writer", budget: 300 });
    await researcher.spend(45, { service: "web_search" });
    await researcher.spend(45, { service: "web_search" });
    await writer.spend(30, { service: "llm", metadata: { agent: "editor" } });
    await task.spend(5, { service: "llm" });

    const ran = await served.run(["receipt", task.id]);
    expect(ran.stderr).toBe("");
    expect(ran.code).toBe(0);
    const out = ran.stdout;
    expect(out).toContain(`receipt ${task.id} (team)\n`);
    expect(out).toMatch(/^ {2}spent\s+125 of 1000 in 4 calls$/m);
    const section = (title: string) => {
      const start = out.indexOf(`\n${title}`);
      return (
        out
          .slice(start + 1)
          .split("\n\n")[0]
          ?.split("\n") ?? []
      );
    };
    expect(section("by agent")).toEqual([
      "by agent (3)",
      "  AGENT       CREDITS  CALLS",
      "  researcher       90      2",
      "  editor           30      1",
      "  team              5      1",
    ]);
    expect(section("by service")).toEqual([
      "by service (2)",
      "  SERVICE     CREDITS  CALLS",
      "  web_search       90      2",
      "  llm              35      2",
    ]);
    const children = section("by child");
    expect(children[0]).toBe("by child (2)");
    expect(children[1]).toMatch(/^ {2}ID\s+NAME\s+BUDGET\s+CREDITS\s+CALLS\s+AVAILABLE\s+STATUS$/);
    expect(children[2]).toMatch(
      new RegExp(`^  ${researcher.id}\\s+researcher\\s+400\\s+90\\s+2\\s+310\\s+open$`),
    );
    expect(children[3]).toMatch(
      new RegExp(`^  ${writer.id}\\s+writer\\s+300\\s+30\\s+1\\s+270\\s+open$`),
    );

    const asJson = json<Record<string, unknown>>(await served.run(["receipt", task.id, "--json"]));
    expect(asJson).toMatchObject({
      walletId: task.id,
      totalCredits: "125",
      callCount: "4",
      byAgent: [
        { key: "researcher", credits: "90", callCount: "2" },
        { key: "editor", credits: "30", callCount: "1" },
        { key: "team", credits: "5", callCount: "1" },
      ],
      childCount: "2",
      complete: false,
    });
  });

  it("shows the top 20 plus an other row, and every row with --all", async () => {
    const task = await root(10_000, "wide");
    for (let i = 0; i < 23; i++) {
      await task.spend(100 - i, { service: `svc-${String(i).padStart(2, "0")}` });
    }
    const top = await served.run(["receipt", task.id]);
    expect(top.code).toBe(0);
    const services = top.stdout.slice(top.stdout.indexOf("by service")).split("\n\n")[0] ?? "";
    const rows = services.split("\n");
    expect(rows[0]).toBe("by service (23)");
    expect(rows).toHaveLength(2 + 20 + 1);
    // 3 services left out: 80 + 79 + 78 credits, one call each.
    expect(rows.at(-1)).toMatch(/^ {2}\(3 others; --all lists them\)\s+237\s+3$/);

    const all = await served.run(["receipt", task.id, "--all"]);
    const every = all.stdout.slice(all.stdout.indexOf("by service")).split("\n\n")[0] ?? "";
    expect(every.split("\n")).toHaveLength(2 + 23);
    expect(every).not.toContain("others");
    const allJson = json<{ byService: unknown[]; complete: boolean }>(
      await served.run(["receipt", task.id, "--all", "--json"]),
    );
    expect(allJson.byService).toHaveLength(23);
    expect(allJson.complete).toBe(true);
  });

  it("takes --address and --api-key flags over the environment", async () => {
    const wallet = await root(10);
    const ran = await cli(
      [
        "--address",
        served.server.address,
        "--api-key",
        served.env.TOLLGATE_API_KEY ?? "",
        "--timeout",
        "3000",
        "wallets",
        "get",
        wallet.id,
        "--json",
      ],
      { TOLLGATE_ADDRESS: "127.0.0.1:1", TOLLGATE_API_KEY: "wrong-key-0123456789abcdef" },
    );
    expect(ran.code, ran.stderr).toBe(0);
    expect(json<WalletJson>(ran).budget).toBe("10");
  });

  it("documents the exit codes and the environment in --help", async () => {
    const help = await cli(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: tollgate \[options\] \[command\]/);
    for (const command of ["serve", "wallets", "spend", "receipt"]) {
      expect(help.stdout).toMatch(new RegExp(`^ {2}${command}\\b`, "m"));
    }
    expect(help.stdout).toContain("TOLLGATE_ADDRESS");
    expect(help.stdout).toContain("TOLLGATE_API_KEY");
    for (const code of [0, 1, 2, 3, 4, 5, 6, 7]) {
      expect(help.stdout).toMatch(new RegExp(`^ {2}${code} {2}\\S`, "m"));
    }
    const sub = await cli(["wallets", "create", "--help"]);
    expect(sub.code).toBe(0);
    expect(sub.stdout).toContain("--soft-cap");
  });
});
