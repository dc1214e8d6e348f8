import {
  echoStream,
  echoUnary,
  rawRedisScript,
  type Scenario,
  streamingSpendsStub,
  unarySpendStub,
} from "./scenarios.js";
import { streamingSpendsTyped, unarySpendTyped } from "./typed-client-scenarios.js";

/**
 * The rows, in the order the issue lists them: each floor, then what it is the floor of (through
 * the generated stub, then the typed client), then the raw Redis script.
 */
export const defaultScenarios: readonly Scenario[] = [
  echoUnary,
  unarySpendStub,
  unarySpendTyped,
  echoStream,
  streamingSpendsStub,
  streamingSpendsTyped,
  rawRedisScript,
];
