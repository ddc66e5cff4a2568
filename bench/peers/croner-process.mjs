// The croner contestant of bench/peers: one in-process Cron per job (croner, nothing stored), each
// POSTing its slot. croner hands its callback the Cron, not the slot the call stands for; the slot
// is the target time croner checks before it triggers (`_checkTrigger(target)`, croner 11), kept
// by a subclass: exact, and no schedule maths added to croner's own (calling nextRun() in every
// callback doubles it). Times are local, and the process runs with TZ=UTC: croner's `timezone`
// option converts every date through Intl, several times slower, and a UTC server needs none.
import { Cron } from "croner";
import { serveContestant } from "./post.mjs";

class SlotCron extends Cron {
  /** The slot of the trigger under way (epoch ms). */
  slot = NaN;

  _checkTrigger(target) {
    this.slot = target.getTime();
    return super._checkTrigger(target);
  }
}

const crons = [];

serveContestant({
  /** `msg.patterns`: one cron expression (seconds first) per job. */
  async schedule(msg, post) {
    msg.patterns.forEach((pattern, i) => crons.push(new SlotCron(pattern, (self) => void post(i, self.slot))));
  },
  async stop() {
    for (const c of crons) c.stop();
  },
});
