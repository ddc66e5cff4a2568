import type { AnswerHandler, Answers } from "./coordinator.js";

/** This replica's own answer to a question: complete unless its handler failed (no handler: nothing to answer). */
export async function answerLocally(nodeId: string, handler: AnswerHandler | undefined, question: string): Promise<Answers> {
  const byNode = new Map<string, string>();
  if (!handler) return { byNode, complete: true };
  try {
    byNode.set(nodeId, await handler(question));
    return { byNode, complete: true };
  } catch {
    return { byNode, complete: false };
  }
}
