import type { Clock } from "../domain/clock.js";
import type { IdGenerator } from "../domain/ids.js";
import type { Coordinator } from "../coordination/coordinator.js";
import type { Store } from "../store/store.js";

/** What the application services need; wired once in main.ts. */
export interface AppDeps {
  store: Store;
  clock: Clock;
  ids: IdGenerator;
  coordinator: Coordinator;
}
