import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { Api } from "./api/clients.js";
import type { Credentials } from "./api/credentials.js";

/** A short message at the corner of the page. */
export interface Toast {
  id: number;
  kind: "ok" | "error";
  text: string;
}

/** What every view reaches: the API clients, the credentials, and the toasts. */
export interface ConsoleContext {
  api: Api;
  credentials: Credentials;
  notify(kind: Toast["kind"], text: string): void;
}

/** Provided once by the App. */
export const Console = createContext<ConsoleContext | undefined>(undefined);

/** The console context; only inside the App. */
export function useConsole(): ConsoleContext {
  const ctx = useContext(Console);
  if (!ctx) throw new Error("useConsole outside <App>");
  return ctx;
}
