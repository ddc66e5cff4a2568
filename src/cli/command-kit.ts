import type { Message } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { readFileSync } from "node:fs";
import { contextOf, type Context, type Session } from "./context.js";
import { ExitCode } from "./exit-codes.js";

/** Items per page of the list commands unless --limit says otherwise: a screenful or two. */
export const DEFAULT_PAGE_SIZE = 50;

/** A command's work: its context, its positional arguments and its own options. */
export type Action<Options = Record<string, unknown>> = (ctx: Context, args: string[], options: Options, command: Command) => Promise<void>;

/**
 * The commander action of `action`: commander passes the positional arguments, the options and
 * the command; this builds the context from the command (and the program's options) first.
 */
export function actionOf<Options>(session: Session, action: Action<Options>): (...params: unknown[]) => Promise<void> {
  return async (...params) => {
    const command = params[params.length - 1] as Command;
    const options = params[params.length - 2] as Options;
    const args = params.slice(0, -2) as string[];
    await action(contextOf(command, session), args, options, command);
  };
}

/**
 * The text of an input file, or of stdin for "-". A file that cannot be read is a usage error,
 * reported through commander (printed, then thrown as a CommanderError).
 */
export function readInput(command: Command, path: string): { text: string; source: string } {
  try {
    return path === "-" ? { text: readFileSync(0, "utf8"), source: "stdin" } : { text: readFileSync(path, "utf8"), source: path };
  } catch (err) {
    return command.error(`error: cannot read ${path}: ${(err as Error).message}`, { exitCode: ExitCode.Usage, code: "cronmesh.input" });
  }
}

/**
 * Prints one page of a list: its table, or a note that it is empty; then, when the server has
 * more, a note with the option that gets the next page (notes go to stderr, never with --json).
 */
export function showPage(ctx: Context, page: Message & { nextPageToken: string }, count: number, noun: string, table: () => string): void {
  ctx.show(page, () => (count ? table() : ""));
  if (ctx.json) return;
  if (count === 0) ctx.note(`no ${noun}`);
  if (page.nextPageToken) ctx.note(`more ${noun}: --page-token ${page.nextPageToken}`);
}
