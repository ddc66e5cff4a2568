#!/usr/bin/env node
import { runCli } from "./program.js";

// A reader that goes away (`cronmesh runs watch | head`) is not an error of ours.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

const status = await runCli(process.argv.slice(2));
// Exit at once: idle keep-alive connections would otherwise hold the process open for seconds.
if (status !== undefined) process.exit(status);
