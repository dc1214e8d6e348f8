/**
 * A scripted stand-in for an LLM, so the examples run offline with no API key: ai@6's own
 * `MockLanguageModelV3`, answering each step from a function of the conversation so far. Swap it
 * for a real provider model (`openai("gpt-4.1")`, ...) and nothing else in an example changes.
 */
import { MockLanguageModelV3 } from "ai/test";

type GenerateResult = Awaited<ReturnType<MockLanguageModelV3["doGenerate"]>>;
type Prompt = MockLanguageModelV3["doGenerateCalls"][number]["prompt"];

/** What the scripted model does next: call tools, or answer in text and end its turn. */
export type NextMove =
  | { toolCalls: { toolCallId: string; toolName: string; input: unknown }[] }
  | { text: string };

/** The text of every tool result the model has been shown, oldest first. */
export function toolResultTexts(prompt: Prompt): string[] {
  const texts: string[] = [];
  for (const message of prompt) {
    if (message.role !== "tool") continue;
    for (const part of message.content) {
      if (part.type !== "tool-result") continue;
      const output = part.output;
      texts.push(output.type === "text" ? output.value : JSON.stringify(output));
    }
  }
  return texts;
}

/** A model whose every step is decided by `next`, from the prompt it was given. */
export function scriptedModel(next: (prompt: Prompt) => NextMove): MockLanguageModelV3 {
  const usage = {
    inputTokens: { total: 0, noCache: 0, cacheRead: undefined, cacheWrite: undefined },
    outputTokens: { total: 0, text: 0, reasoning: undefined },
  };
  return new MockLanguageModelV3({
    doGenerate: async ({ prompt }): Promise<GenerateResult> => {
      const move = next(prompt);
      if ("text" in move) {
        return {
          content: [{ type: "text", text: move.text }],
          finishReason: { unified: "stop", raw: undefined },
          usage,
          warnings: [],
        };
      }
      return {
        content: move.toolCalls.map((call) => ({
          type: "tool-call" as const,
          toolCallId: call.toolCallId,
          toolName: call.toolName,
          input: JSON.stringify(call.input),
        })),
        finishReason: { unified: "tool-calls", raw: undefined },
        usage,
        warnings: [],
      };
    },
  });
}
