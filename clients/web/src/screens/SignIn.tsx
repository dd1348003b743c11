import { useId, useState, type FormEvent } from "react";
import { useHearth } from "../app/hearth";
import { describeError } from "../lib/errors";

/** Sign in or create an account (docs/protocol.md "HTTP auth API"); App returns to `next` afterwards. */
export function SignIn({ next }: { next: string }) {
  const { signIn, signUp } = useHearth();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [busy, setBusy] = useState<"signin" | "signup" | null>(null);
  const [error, setError] = useState<string | null>(null);
  const hintId = useId();
  const pwHintId = useId();

  const run = async (mode: "signin" | "signup") => {
    setError(null);
    setBusy(mode);
    try {
      if (mode === "signin") await signIn(username.trim(), password);
      else await signUp(username.trim(), password, displayName.trim());
    } catch (err) {
      setError(describeError(err, "auth"));
      setBusy(null);
    }
  };

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    void run("signin");
  };

  return (
    <div className="signin-page">
      <main id="main" className="signin-card">
        <p className="brand brand-large" aria-hidden="true">
          <span className="brand-mark">◆</span> Hearth
        </p>
        <h1>Sign in to Hearth</h1>
        <p className="muted">
          {next.startsWith("/join/") ? "Sign in to join the watch party you were invited to." : "Watch together with friends."}
        </p>
        <form onSubmit={onSubmit} className="form" noValidate>
          <div className="field">
            <label htmlFor="signin-username">Username</label>
            <input
              id="signin-username"
              name="username"
              autoComplete="username"
              autoCapitalize="none"
              spellCheck={false}
              required
              value={username}
              onChange={(e) => setUsername(e.target.value)}
            />
          </div>
          <div className="field">
            <label htmlFor="signin-password">Password</label>
            <input
              id="signin-password"
              name="password"
              type="password"
              autoComplete="current-password"
              required
              aria-describedby={pwHintId}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
            <p id={pwHintId} className="hint">
              New accounts need at least 10 characters.
            </p>
          </div>
          <div className="field">
            <label htmlFor="signin-display-name">Display name</label>
            <input
              id="signin-display-name"
              name="displayName"
              autoComplete="nickname"
              aria-describedby={hintId}
              value={displayName}
              onChange={(e) => setDisplayName(e.target.value)}
            />
            <p id={hintId} className="hint">
              Optional, only when creating an account.
            </p>
          </div>
          {error && (
            <p role="alert" className="alert">
              {error}
            </p>
          )}
          <div className="actions">
            <button type="submit" className="btn btn-primary" disabled={busy !== null}>
              {busy === "signin" ? "Signing in…" : "Sign in"}
            </button>
            <button type="button" className="btn" disabled={busy !== null} onClick={() => void run("signup")}>
              {busy === "signup" ? "Creating account…" : "Create account"}
            </button>
          </div>
        </form>
      </main>
    </div>
  );
}
