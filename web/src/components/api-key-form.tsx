/**
 * Asks for an API key when the server has keys (it answered UNAUTHENTICATED). The key stays in
 * this tab's sessionStorage only (api/api-key.ts).
 */
import { useState } from "preact/hooks";

export function ApiKeyForm({
  refusal,
  onSubmit,
}: {
  /** The server's message when a key was refused, or undefined when none was given yet. */
  refusal: string | undefined;
  onSubmit: (apiKey: string) => void;
}) {
  const [value, setValue] = useState("");
  return (
    <form
      class="key-form"
      onSubmit={(event) => {
        event.preventDefault();
        if (value.trim() !== "") onSubmit(value.trim());
      }}
    >
      <h2>API key</h2>
      <p>
        This server requires an API key (<code>TOLLGATE_API_KEYS</code>). The monitor sends it as
        the server's other clients do and keeps it in this tab only: closing the tab forgets it.
      </p>
      {refusal !== undefined && (
        <p class="error" role="alert">
          The server refused the key: {refusal}
        </p>
      )}
      <label for="api-key">API key</label>
      <div class="key-form-row">
        <input
          id="api-key"
          name="api-key"
          type="password"
          autocomplete="off"
          spellcheck={false}
          value={value}
          onInput={(event) => setValue(event.currentTarget.value)}
        />
        <button type="submit">Connect</button>
      </div>
    </form>
  );
}
