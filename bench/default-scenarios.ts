import {
  echoStream,
  echoUnary,
  rawRedisScript,
  type Scenario,
  streamingSpendsStub,
  unarySpendStub,
  unarySpendThirdParty,
} from "./scenarios.js";
import { streamingSpendsTyped, unarySpendTyped } from "./typed-client-scenarios.js";
import { watchedSpends } from "./watcher-scenarios.js";

/**
 * The rows, in the order the issue lists them: each floor, then what it is the floor of (through
 * the generated stub, then the typed client), then the raw Redis script, then unary spends with 0,
 * 1 and 10 watchers attached (the events issue's measurement).
 */
export const defaultScenarios: readonly Scenario[] = [
  echoUnary,
  unarySpendStub,
  unarySpendThirdParty,
  unarySpendTyped,
  echoStream,
  streamingSpendsStub,
  streamingSpendsTyped,
  rawRedisScript,
  watchedSpends(0),
  watchedSpends(1),
  watchedSpends(10),
];
