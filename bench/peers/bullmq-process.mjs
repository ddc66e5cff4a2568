// The BullMQ contestant of bench/peers: a job scheduler per job (`upsertJobScheduler` with its cron
// pattern) and a worker in the same process, on the Redis the bench started (`msg.redisPort`). The
// worker's job POSTs its slot: the job id of a scheduler's job is `repeat:<scheduler>:<slot ms>`.
// Completed jobs are removed at once (`removeOnComplete`), the cheapest setting BullMQ offers;
// a run is not kept as cronmesh keeps it.
import { Queue, Worker } from "bullmq";
import { serveContestant } from "./post.mjs";

/** Jobs the worker runs at once: one per connection to the sink, as cronmesh's workers. */
const CONCURRENCY = 256;
/** Scheduler upserts in flight while setting up. */
const SETUP_CONCURRENCY = 32;
const QUEUE = "peers";

let queue;
let worker;

/** The slot of a scheduler's job (its id ends with it); the job's own delay target otherwise. */
function slotOf(job) {
  const tail = Number(String(job.id).split(":").pop());
  return Number.isFinite(tail) && tail > 1e12 ? tail : job.timestamp + (job.opts.delay ?? 0);
}

serveContestant({
  /** `msg.patterns`: one cron expression (seconds first) per job; `msg.redisPort`. */
  async schedule(msg, post) {
    const connection = { host: "127.0.0.1", port: msg.redisPort, maxRetriesPerRequest: null };
    queue = new Queue(QUEUE, { connection });
    worker = new Worker(QUEUE, (job) => post(job.data.i, slotOf(job)), { connection, concurrency: CONCURRENCY });
    let next = 0;
    const upsert = async () => {
      while (next < msg.patterns.length) {
        const i = next++;
        await queue.upsertJobScheduler(
          `job-${i}`,
          { pattern: msg.patterns[i], tz: "UTC" },
          {
            name: "fire",
            data: { i },
            opts: { removeOnComplete: true, removeOnFail: 1000 },
          },
        );
      }
    };
    await Promise.all(Array.from({ length: SETUP_CONCURRENCY }, upsert));
  },
  async stop() {
    await worker?.close(true);
    await queue?.close();
  },
});
