import { Command, Option } from "commander";
import { durationArg } from "./arguments.js";
import { PROTOCOLS } from "./client.js";
import { registerJobCommands } from "./commands/jobs.js";
import { registerRunCommands } from "./commands/runs.js";
import { registerServiceCommands } from "./commands/service.js";
import type { Session } from "./context.js";
import { ExitCode, failureOf } from "./exit-codes.js";

/** Deadline of each call unless --timeout says otherwise. */
const DEFAULT_TIMEOUT = "30s";

const EXIT_CODES_HELP = `
Exit status:
  0 success                   6 not allowed in the current state
  1 other failure             7 unauthenticated
  2 usage error               8 permission denied
  3 invalid input             9 server unavailable
  4 not found                10 waited-for run did not succeed
  5 conflict                 11 timed out`;

/** The `cronmesh` command line: the program's options and every command. */
export function createProgram(session: Session): Command {
  const program = new Command("cronmesh")
    .description("cronmesh: run and manage a distributed cron service")
    .addOption(new Option("-s, --server <url>", "base URL of the service").env("CRONMESH_SERVER").default("http://localhost:8080"))
    .addOption(new Option("--token <token>", "bearer token or API key sent with every call").env("CRONMESH_TOKEN"))
    .addOption(new Option("--protocol <protocol>", "wire protocol").choices(PROTOCOLS).env("CRONMESH_PROTOCOL").default("connect"))
    .option("--json", "print the proto JSON of the response (runs watch: one object per line)")
    .addOption(new Option("--timeout <duration>", "deadline of each call").argParser(durationArg).default(durationArg(DEFAULT_TIMEOUT), DEFAULT_TIMEOUT))
    .configureHelp({ showGlobalOptions: true })
    .addHelpText("after", EXIT_CODES_HELP)
    .showHelpAfterError("(add --help for usage)")
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text) });
  registerJobCommands(program, session);
  registerRunCommands(program, session);
  registerServiceCommands(program, session);
  // Every subcommand ends in exitOverride too, so a usage error anywhere reaches runCli as a throw.
  const override = (command: Command): void => {
    command.exitOverride();
    command.commands.forEach(override);
  };
  override(program);
  return program;
}

/**
 * Runs one `cronmesh` invocation and returns its exit status, having printed its output and, on
 * failure, one line "error: …" on stderr. Returns undefined when the process must live on (serve).
 */
export async function runCli(argv: readonly string[]): Promise<ExitCode | undefined> {
  const session: Session = { exitCode: ExitCode.Ok };
  const program = createProgram(session);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return session.serving ? undefined : session.exitCode;
  } catch (err) {
    const failure = failureOf(err, program.opts<{ server: string }>().server);
    if (failure.message) process.stderr.write(`error: ${failure.message}\n`);
    return failure.exitCode;
  }
}
