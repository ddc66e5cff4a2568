// The raw contestant of bench/peers: no scheduler, a timer per instant of the plan the bench
// computed (every job due then), and a bare undici loop sending the instant's requests at once.
// The floor any scheduler is measured against.
import { serveContestant } from "./post.mjs";

const timers = [];

serveContestant({
  /** `msg.groups`: job numbers due together; `msg.fires`: [epoch ms, group] instants. */
  async schedule(msg, post) {
    for (const [at, group] of msg.fires) {
      const jobs = msg.groups[group];
      timers.push(
        setTimeout(() => {
          for (const i of jobs) void post(i, at);
        }, at - Date.now()),
      );
    }
  },
  async stop() {
    for (const t of timers) clearTimeout(t);
  },
});
