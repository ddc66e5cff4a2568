/** Where the token lives: per tab, gone when the tab closes. */
const STORAGE_KEY = "cronmesh.token";

/** The credential sent with every call, and who wants to know when the server asks for one. */
export interface Credentials {
  /** The stored token or API key, or undefined. */
  get(): string | undefined;
  /** Stores a token (trimmed) for this tab. */
  set(token: string): void;
  /** Forgets the token. */
  clear(): void;
  /** Called by the transport when a call answered Unauthenticated. */
  demand(): void;
  /** Subscribes to demands; returns the unsubscribe function. */
  onDemand(listener: () => void): () => void;
}

/** Credentials kept in a Storage (sessionStorage in the page). */
export function createCredentials(storage: Pick<Storage, "getItem" | "setItem" | "removeItem">): Credentials {
  const listeners = new Set<() => void>();
  return {
    get: () => storage.getItem(STORAGE_KEY) || undefined,
    set: (token) => storage.setItem(STORAGE_KEY, token.trim()),
    clear: () => storage.removeItem(STORAGE_KEY),
    demand: () => listeners.forEach((l) => l()),
    onDemand(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** The Authorization header value for a token or API key (the server accepts both as Bearer). */
export function authorizationFor(token: string): string {
  return `Bearer ${token}`;
}
