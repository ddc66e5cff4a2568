import { Code } from "@connectrpc/connect";
import { useState } from "preact/hooks";
import { describeError, type ShownError } from "../api/errors.js";
import { useConsole } from "../context.js";
import { ErrorBox } from "./error-box.js";
import { Modal } from "./modal.js";

/**
 * Asks for a token or API key, checks it with GetWhoAmI, and keeps it for this tab only when the
 * server accepts it. `onSignedIn` then reloads the page's data.
 */
export function SignIn({ onSignedIn, onClose }: { onSignedIn: () => void; onClose: () => void }) {
  const { api, credentials } = useConsole();
  const [token, setToken] = useState("");
  const [error, setError] = useState<ShownError>();
  const submit = (e: Event) => {
    e.preventDefault();
    const previous = credentials.get();
    credentials.set(token);
    api.cron.getWhoAmI({}).then(
      () => onSignedIn(),
      (err: unknown) => {
        const shown = describeError(err);
        if (shown.code === Code.Unauthenticated) {
          if (previous) credentials.set(previous);
          else credentials.clear();
          setError({ ...shown, title: "Not accepted", message: `The server refused this credential: ${shown.message}` });
        } else setError(shown);
      },
    );
  };
  return (
    <Modal title="Sign in to cronmesh" onClose={onClose}>
      <form onSubmit={submit} class="stack" data-testid="sign-in">
        <p class="muted">This server needs credentials. Paste a token (JWT) or an API key; it is kept in this tab only and sent as a Bearer token.</p>
        <label>
          Token or API key
          <input name="token" type="password" autoComplete="off" value={token} onInput={(e) => setToken(e.currentTarget.value)} autoFocus />
        </label>
        <ErrorBox error={error} />
        <div class="actions end">
          <button type="submit" class="primary" disabled={!token.trim()}>
            Sign in
          </button>
        </div>
      </form>
    </Modal>
  );
}
