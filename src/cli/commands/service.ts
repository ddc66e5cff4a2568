import type { Command } from "commander";
import { countArg, timeArg } from "../arguments.js";
import { actionOf } from "../command-kit.js";
import type { Session } from "../context.js";
import { clusterStatus, previewTable, whoAmI } from "../views/cluster.js";

/** Fire times `preview` lists unless told. */
const DEFAULT_PREVIEW = 10;

/** Registers `preview`, `cluster` and `whoami`. */
export function registerServiceCommands(program: Command, session: Session): void {
  program
    .command("preview")
    .description("list the next fire times of a cron expression")
    .argument("<cron>", 'cron expression: 5 fields, 6 (leading seconds) or a macro such as "@daily"')
    .option("--tz <zone>", "IANA time zone of the schedule", "UTC")
    .option("-n, --count <n>", "how many times", countArg, DEFAULT_PREVIEW)
    .option("--after <time>", "times after this instant (RFC 3339; default now)", timeArg)
    .action(
      actionOf<{ tz: string; count: number; after?: ReturnType<typeof timeArg> }>(session, async (ctx, [schedule], o) => {
        const res = await ctx.clients.cron.previewSchedule({ schedule, timezone: o.tz, count: o.count, after: o.after });
        ctx.show(res, () => previewTable(res, o.tz));
      }),
    );

  program
    .command("cluster")
    .description("show the leader, the members and the next runs")
    .option("--next <n>", "how many upcoming runs to list", countArg, 10)
    .action(
      actionOf<{ next: number }>(session, async (ctx, _args, o) => {
        const res = await ctx.clients.cron.getClusterStatus({ nextRunsLimit: o.next });
        ctx.show(res, () => clusterStatus(res));
      }),
    );

  program
    .command("whoami")
    .description("show who the server takes you for: subject, project, roles")
    .action(
      actionOf(session, async (ctx) => {
        const res = await ctx.clients.cron.getWhoAmI({});
        ctx.show(res, () => whoAmI(res));
      }),
    );

  program
    .command("serve")
    .description("run the cronmesh service (configured by environment variables: PORT, HOST, DATA_DIR, MONGODB_URI, ETCD_ENDPOINTS, …; see the README)")
    .action(async () => {
      // Imported here: the client commands need none of the service's modules.
      const { serve } = await import("../../main.js");
      await serve(process.env);
      session.serving = true;
    });
}
