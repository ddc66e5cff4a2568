import { randomBytes } from "node:crypto";
import type { Clock } from "../../domain/clock.js";
import { answerLocally } from "../answers.js";
import type { AnswerHandler, Answers } from "../coordinator.js";
import type { EtcdBus } from "./bus.js";

/** Questions and answers between replicas, on the bus (see `Coordinator.ask`). */
export interface EtcdAsks {
  answer(topic: string, handler: AnswerHandler): () => void;
  ask(topic: string, question: string, timeoutMs: number): Promise<Answers>;
}

/** What the asks need. */
export interface AsksContext {
  bus: EtcdBus;
  nodeId: string;
  clock: Clock;
  onError: (err: unknown, step: string) => void;
}

/** A question on the bus: who asks, and the id its answers carry back. */
interface Question {
  id: string;
  from: string;
  question: string;
}

/** An answer on the bus, sent to the asker's own reply topic. */
interface Reply {
  id: string;
  node: string;
  answer: string;
}

/** Bus topic names may not hold a slash (they are etcd key segments). */
const questionTopic = (topic: string) => `ask.${topic}`;
const replyTopic = (nodeId: string) => `reply.${nodeId}`;

/** A question waiting for its answers. */
interface Pending {
  expected: Set<string>;
  answers: Answers;
  done: () => void;
}

/**
 * Questions and answers over the etcd bus. A replica answering a topic subscribes to its question
 * topic, which advertises it (the bus's interest keys) to every asker; an asker answers itself in
 * process, publishes the question if other replicas answer the topic, and gathers their replies
 * on its own reply topic until each replica it knew of has answered or the time is over. A replica
 * that died keeps its interest key until its session lease expires: asks meanwhile wait for the
 * whole timeout and come back incomplete.
 */
export function createEtcdAsks(ctx: AsksContext): EtcdAsks {
  const handlers = new Map<string, { handler: AnswerHandler; stop: () => void }>();
  const pending = new Map<string, Pending>();
  // Ids are unique to this process (a restarted replica with the same node id gets another salt).
  const salt = randomBytes(4).toString("hex");
  let sequence = 0;
  let replies: Promise<void> | undefined;

  const onReply = (message: string) => {
    const reply = parse<Reply>(message, ["id", "node", "answer"]);
    const waiting = reply && pending.get(reply.id);
    if (!waiting || !waiting.expected.has(reply.node)) return;
    waiting.answers.byNode.set(reply.node, reply.answer);
    if ([...waiting.expected].every((n) => waiting.answers.byNode.has(n))) waiting.done();
  };
  /** This replica's reply topic, subscribed to once and kept: its watch must be open before a question leaves. */
  const listenForReplies = () => {
    if (!replies) {
      const topic = replyTopic(ctx.nodeId);
      ctx.bus.subscribe(topic, onReply);
      replies = ctx.bus.listening(topic).catch((err: unknown) => {
        replies = undefined;
        throw err;
      });
    }
    return replies;
  };
  const onQuestion = (topic: string) => (message: string) => {
    const q = parse<Question>(message, ["id", "from", "question"]);
    const entry = handlers.get(topic);
    // The asker answered itself in process.
    if (!q || !entry || q.from === ctx.nodeId) return;
    void Promise.resolve()
      .then(() => entry.handler(q.question))
      .then((answer) => ctx.bus.publish(replyTopic(q.from), JSON.stringify({ id: q.id, node: ctx.nodeId, answer } satisfies Reply)))
      .catch((err: unknown) => ctx.onError(err, `answer ${topic}`));
  };
  const gather = (topic: string, question: string, peers: string[], answers: Answers, timeoutMs: number) =>
    new Promise<void>((resolve) => {
      const id = `${ctx.nodeId}:${salt}:${++sequence}`;
      const timer = ctx.clock.setTimer(timeoutMs, () => done());
      const done = () => {
        timer.cancel();
        pending.delete(id);
        resolve();
      };
      pending.set(id, { expected: new Set(peers), answers, done });
      ctx.bus.publish(questionTopic(topic), JSON.stringify({ id, from: ctx.nodeId, question } satisfies Question)).catch((err: unknown) => {
        ctx.onError(err, `ask ${topic}`);
        done();
      });
    });

  return {
    answer(topic, handler) {
      handlers.get(topic)?.stop();
      const entry = { handler, stop: ctx.bus.subscribe(questionTopic(topic), onQuestion(topic)) };
      handlers.set(topic, entry);
      return () => {
        if (handlers.get(topic) !== entry) return;
        handlers.delete(topic);
        entry.stop();
      };
    },
    async ask(topic, question, timeoutMs) {
      const peers = ctx.bus.peerSubscribers(questionTopic(topic));
      const own = answerLocally(ctx.nodeId, handlers.get(topic)?.handler, question);
      if (peers.length === 0) return own;
      const answers: Answers = { byNode: new Map(), complete: false };
      try {
        await listenForReplies();
        await gather(topic, question, peers, answers, timeoutMs);
      } catch (err) {
        ctx.onError(err, `ask ${topic}`);
      }
      const mine = await own;
      for (const [node, answer] of mine.byNode) answers.byNode.set(node, answer);
      answers.complete = mine.complete && peers.every((p) => answers.byNode.has(p));
      return answers;
    },
  };
}

/** A bus message of the given shape (every key a string), or undefined. */
function parse<T>(message: string, keys: (keyof T & string)[]): T | undefined {
  try {
    const value = JSON.parse(message) as Record<string, unknown>;
    return keys.every((k) => typeof value[k] === "string") ? (value as T) : undefined;
  } catch {
    return undefined;
  }
}
