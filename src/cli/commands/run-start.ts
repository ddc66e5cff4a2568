import { Option, type Command } from "commander";
import { RunStatus, type Run } from "../../../gen/cronmesh/v1/run_pb.js";
import { durationArg } from "../arguments.js";
import type { Context } from "../context.js";
import { ExitCode } from "../exit-codes.js";
import { runEnded } from "../views/runs.js";
import { waitForRun } from "../wait.js";

/** Default bound of `--wait`: long enough for retries with backoff, short enough to end a stuck script. */
const DEFAULT_WAIT_TIMEOUT = "1h";

/** The `--wait` options of the commands that start a run. */
export function addWaitOptions(command: Command): Command {
  return command
    .option("--wait", "wait until the run is final; exit 10 unless it succeeded")
    .addOption(
      new Option("--wait-timeout <duration>", "give up waiting after this long (exit 11)")
        .argParser(durationArg)
        .default(durationArg(DEFAULT_WAIT_TIMEOUT), DEFAULT_WAIT_TIMEOUT),
    );
}

/**
 * With `--wait`, waits for `run` to be final, prints it (with `--json`, `response` with its run
 * replaced by the final one) and sets exit 10 unless it succeeded; without, prints `response`.
 */
export async function showRunStart<R extends { run?: Run }>(
  ctx: Context,
  response: R & { $typeName: string },
  options: { wait?: boolean; waitTimeout: number },
  started: () => string,
): Promise<void> {
  const run = response.run;
  if (!options.wait || !run) return ctx.show(response, started);
  if (!ctx.json) ctx.print(started());
  const final = await waitForRun(ctx.clients.runs, run.runId, options.waitTimeout);
  ctx.show({ ...response, run: final }, () => runEnded(final));
  if (final.status !== RunStatus.SUCCEEDED) ctx.exitWith(ExitCode.RunNotSucceeded);
}
