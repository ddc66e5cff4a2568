// One cronmesh node in its own process, as it ships (compiled, `dist/`), for the API and the
// million-jobs benchmarks: the load generator then has the other core. Configured by its
// environment (PORT, DATA_DIR, AUTH_MODE, …, as `npm start`); it reports over IPC
// { port, startedMs, leadingMs } once its fire loop has loaded (times in ms since the process
// started), and answers:
//   "usage"             → { cpuMs, rss, heapUsed } (CPU of this process since it started)
//   "profile:start"     → starts a V8 CPU profile of this process
//   "profile:stop:FILE" → writes the profile to FILE
//   "stop"              → stops the node and exits (answers { stopped: true } first)
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";

// BENCH_DIST: another build to measure (e.g. of an older commit), for before-and-after figures.
const dist = process.env.BENCH_DIST ? new URL(`file://${process.env.BENCH_DIST.replace(/\/?$/, "/")}src/`) : new URL("../dist/src/", import.meta.url);
const { loadConfig } = await import(new URL("config/config.js", dist).href);
const { startNode } = await import(new URL("main.js", dist).href);

const node = await startNode(loadConfig(process.env), { env: process.env });
const startedMs = performance.now();
// The fire loop's first load is queued when leadership starts (at once with the embedded coordinator).
await node.fireLoop.settled();
const leadingMs = performance.now();
process.send({ port: node.server.port, startedMs, leadingMs });

let session;
process.on("message", async (message) => {
  if (message === "usage") {
    const cpu = process.cpuUsage();
    const mem = process.memoryUsage();
    process.send({ cpuMs: (cpu.user + cpu.system) / 1000, rss: mem.rss, heapUsed: mem.heapUsed });
  } else if (message === "profile:start") {
    session = new Session();
    session.connect();
    await session.post("Profiler.enable");
    await session.post("Profiler.start");
    process.send({ profiling: true });
  } else if (typeof message === "string" && message.startsWith("profile:stop:")) {
    const { profile } = await session.post("Profiler.stop");
    writeFileSync(message.slice("profile:stop:".length), JSON.stringify(profile));
    session.disconnect();
    process.send({ profiled: true });
  } else if (message === "stop") {
    await node.stop();
    process.send({ stopped: true }, () => process.exit(0));
  }
});
