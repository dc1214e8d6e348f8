import fc from "fast-check";

/**
 * The operations the property test draws. Wallets, holds and earlier calls are named by index
 * (taken modulo what exists when the step runs), so every drawn sequence is meaningful and
 * fast-check can shrink it freely.
 */

export type Op =
  | {
      kind: "child";
      parent: number;
      budget: number;
      hardCap: boolean | undefined;
      thresholds: number;
    }
  | {
      kind: "spend";
      wallet: number;
      amount: number;
      exact: boolean;
      service: number;
      agent: number;
    }
  | {
      kind: "authorize";
      wallet: number;
      amount: number;
      ttlSeconds: number;
      service: number;
      agent: number;
    }
  | { kind: "capture"; hold: number; amount: number; over: boolean; agent: number }
  | { kind: "void"; hold: number }
  | { kind: "addCredits"; wallet: number; amount: number }
  | { kind: "close"; wallet: number }
  | { kind: "advance"; ms: number }
  | { kind: "replay"; call: number }
  | { kind: "reuse"; call: number; wallet: number }
  | { kind: "foreign"; wallet: number; hold: number };

const index = fc.nat({ max: 50 });
export const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("child" as const),
      parent: index,
      budget: fc.integer({ min: 0, max: 400 }),
      hardCap: fc.constantFrom(undefined, true, false),
      thresholds: index,
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("spend" as const),
      wallet: index,
      amount: fc.integer({ min: 1, max: 120 }),
      exact: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
      service: index,
      agent: index,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("authorize" as const),
      wallet: index,
      amount: fc.integer({ min: 1, max: 150 }),
      ttlSeconds: fc.constantFrom(0, 1, 5, 60),
      service: index,
      agent: index,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("capture" as const),
      hold: index,
      amount: fc.integer({ min: 1, max: 150 }),
      over: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
      agent: index,
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("void" as const), hold: index }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("addCredits" as const),
      wallet: index,
      amount: fc.integer({ min: 1, max: 200 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("close" as const), wallet: index }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("advance" as const),
      ms: fc.constantFrom(1, 999, 1000, 5000, 60_000, 300_000),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("replay" as const), call: index }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("reuse" as const), call: index, wallet: index }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("foreign" as const), wallet: index, hold: index }),
  },
);

export interface Scenario {
  rootBudget: number;
  rootHardCap: boolean;
  /** Which alert thresholds the root gets (see the test's `thresholdChoices`). */
  rootThresholds: number;
  ops: Op[];
}

export const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  rootBudget: fc.integer({ min: 0, max: 1000 }),
  rootHardCap: fc.boolean(),
  rootThresholds: index,
  ops: fc.array(opArb, { minLength: 1, maxLength: 40, size: "max" }),
});
