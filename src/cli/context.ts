import { createRegistry, toJsonString, type Message } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { file_cronmesh_v1_cron_service } from "../../gen/cronmesh/v1/cron_service_pb.js";
import { file_cronmesh_v1_job } from "../../gen/cronmesh/v1/job_pb.js";
import { file_cronmesh_v1_run } from "../../gen/cronmesh/v1/run_pb.js";
import { file_cronmesh_v1_run_service } from "../../gen/cronmesh/v1/run_service_pb.js";
import { createApiClients, type ApiClients, type Protocol } from "./client.js";
import { ExitCode } from "./exit-codes.js";

/** Every message the CLI prints as JSON, by type name. */
const registry = createRegistry(file_cronmesh_v1_cron_service, file_cronmesh_v1_run_service, file_cronmesh_v1_job, file_cronmesh_v1_run);

/** The options every command takes (see program.ts). */
export interface GlobalOptions {
  server: string;
  token?: string;
  protocol: Protocol;
  json?: boolean;
  /** Deadline of each call, ms. */
  timeout: number;
}

/** State of one invocation that outlives its command's action. */
export interface Session {
  /** The exit status when the command returns without throwing. */
  exitCode: ExitCode;
  /** Set by `serve`: the process lives on after the command returns. */
  serving?: boolean;
}

/** What a command's action works with. */
export interface Context {
  clients: ApiClients;
  /** `--json`: print proto JSON instead of text for people. */
  json: boolean;
  /** The server's base URL, for messages. */
  server: string;
  /** Prints `message` as its proto JSON document with `--json`, else the text `forPeople` makes. */
  show(message: Message, forPeople: () => string): void;
  /** Prints `message` as one compact JSON line (NDJSON). */
  showLine(message: Message): void;
  /** Prints text for people on stdout. */
  print(text: string): void;
  /** Prints a remark on stderr (never part of the output scripts read). */
  note(text: string): void;
  /** Ends the invocation with `code` once the action returns. */
  exitWith(code: ExitCode): void;
}

function jsonOf(message: Message, pretty: boolean): string {
  const desc = registry.getMessage(message.$typeName);
  if (!desc) throw new Error(`no schema for ${message.$typeName}`);
  return toJsonString(desc, message, { prettySpaces: pretty ? 2 : 0 });
}

/** The context of the command being run, from its options and the program's. */
export function contextOf(command: Command, session: Session): Context {
  const options = command.optsWithGlobals<GlobalOptions>();
  const print = (text: string) => void process.stdout.write(text);
  return {
    clients: createApiClients({ server: options.server, protocol: options.protocol, token: options.token, timeoutMs: options.timeout }),
    json: options.json === true,
    server: options.server,
    show: (message, forPeople) => print(options.json ? `${jsonOf(message, true)}\n` : forPeople()),
    showLine: (message) => print(`${jsonOf(message, false)}\n`),
    print,
    note: (text) => void process.stderr.write(text.endsWith("\n") ? text : `${text}\n`),
    exitWith: (code) => void (session.exitCode = code),
  };
}
