import { CronError } from "../domain/cron-error.js";

/** A handler for an RPC whose behaviour lands with a later part of the product. */
export function unimplemented(rpc: string, arrivesWith: string): () => never {
  return () => {
    throw new CronError("unimplemented", `${rpc} is not implemented yet: it arrives with ${arrivesWith}`);
  };
}
