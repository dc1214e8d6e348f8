import { describe, expect, it } from "vitest";
import { UsageMeter } from "../../server/gateway/usage-meter.js";

const rate = { credits: 1, units: 1 };

describe("UsageMeter", () => {
  it("counts server-sent events across chunks, ignoring comment-only blocks", () => {
    const meter = new UsageMeter({ kind: "sse-events", rate }, 100, 1024);
    const stream = "data: a\n\n: keepalive\n\ndata: b\r\n\r\nevent: x\ndata: c\r\rdata: d\n";
    for (const ch of stream) meter.relayed(Buffer.from(ch));
    expect(meter.unitsRelayed).toBe(3);
    expect(meter.reading()).toEqual({ kind: "cost", credits: 3 });
  });

  it("counts lines, rounds the rate up and caps at the maximum", () => {
    const meter = new UsageMeter({ kind: "lines", rate: { credits: 1, units: 2 } }, 2, 1024);
    meter.relayed(Buffer.from("a\nb\nc"));
    expect(meter.reading()).toEqual({ kind: "cost", credits: 1 });
    meter.relayed(Buffer.from("\nd\ne\nf\ng\n"));
    expect(meter.reading()).toEqual({ kind: "cost", credits: 2 });
  });

  it("reads a JSON usage field at the end of the body", () => {
    const meter = new UsageMeter(
      { kind: "json", path: ["usage", "total_tokens"], rate: { credits: 1, units: 100 } },
      50,
      1024,
    );
    meter.relayed(Buffer.from('{"usage":{"total_'));
    meter.relayed(Buffer.from('tokens": 250}}'));
    expect(meter.reading()).toEqual({ kind: "cost", credits: 3 });
  });

  it("says when a JSON cost cannot be read", () => {
    const big = new UsageMeter({ kind: "json", path: ["n"], rate }, 50, 1024);
    big.relayed(Buffer.alloc(2000, 32));
    expect(big.reading().kind).toBe("unreadable");
    const missing = new UsageMeter({ kind: "json", path: ["n"], rate }, 50, 1024);
    missing.relayed(Buffer.from('{"m": 1}'));
    expect(missing.reading().kind).toBe("unreadable");
  });

  it("reads an integer header, capped", () => {
    const meter = new UsageMeter({ kind: "header", header: "x-usage" }, 10, 1024);
    meter.headers({ "x-usage": "4" });
    expect(meter.reading()).toEqual({ kind: "cost", credits: 4 });
    meter.headers({ "x-usage": "40" });
    expect(meter.reading()).toEqual({ kind: "cost", credits: 10 });
    meter.headers({ "x-usage": "4.5" });
    expect(meter.reading().kind).toBe("unreadable");
  });
});
