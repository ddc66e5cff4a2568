import type { ShownError } from "../api/errors.js";

/** An API error in words: headline, message, and the field at fault when the server named one. */
export function ErrorBox({ error, onDismiss }: { error: ShownError | undefined; onDismiss?: () => void }) {
  if (!error) return null;
  return (
    <div class="error-box" role="alert" data-code={error.code}>
      <div>
        <strong>{error.title}</strong>
        {error.field ? (
          <span class="error-field">
            {" "}
            field <code>{error.field}</code>
          </span>
        ) : null}
      </div>
      <div class="error-message">{error.message}</div>
      {onDismiss ? (
        <button type="button" class="link close" onClick={onDismiss} aria-label="dismiss">
          ×
        </button>
      ) : null}
    </div>
  );
}
