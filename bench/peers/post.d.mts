/** Connections to the sink: the same for every contestant. */
export declare const CONNECTIONS: number;
/** The headers of cronmesh's request for job number `i` and slot `slot` (ISO 8601), values of the same lengths. */
export declare function serviceLikeHeaders(i: number, slot: string): Record<string, string>;
/** A client POSTing cronmesh's request to `sinkUrl`. */
export declare function createPoster(sinkUrl: string): { post(i: number, slotMs: number): Promise<void>; close(): Promise<void> };
/** Serves a contestant process's side of the bench protocol over IPC. */
export declare function serveContestant(contestant: {
  schedule(msg: Record<string, unknown>, post: (i: number, slotMs: number) => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}): void;
