import { useEffect, useRef, type ReactNode } from "react";
import { useHearth } from "./hearth";
import { hasNavigatedInApp, Link, useLocationKey } from "./router";

/** Header (brand, connection state, user, sign out) around every signed-in screen. */
export function Shell({ children }: { children: ReactNode }) {
  const { connection, profile, signOut, reconnect } = useHearth();
  const pathname = useLocationKey().split("?")[0];
  const mainRef = useRef<HTMLElement>(null);

  // After an in-app navigation (a link, signing in, a created room) the focused element is usually gone
  // and focus falls back to <body>: start keyboard and screen-reader users at the new screen's main
  // landmark instead, as a page load starts them at the top. A fresh load keeps the browser's default.
  useEffect(() => {
    if (hasNavigatedInApp()) mainRef.current?.focus({ preventScroll: true });
  }, [pathname]);

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="app-header">
        <Link to="/" className="brand" aria-label="Hearth home">
          <span aria-hidden="true" className="brand-mark">
            ◆
          </span>{" "}
          Hearth
        </Link>
        <div className="header-right">
          <span className={`conn conn-${connection}`} title="Connection to Hearth">
            <span className="conn-dot" aria-hidden="true" />
            <span className="visually-hidden">Connection: </span>
            <span data-testid="connection-state">{connection}</span>
          </span>
          {connection === "closed" && (
            <button type="button" className="btn btn-small" onClick={reconnect}>
              Reconnect
            </button>
          )}
          <span className="user-name" data-testid="user-name">
            {profile ? profile.displayName || profile.username : "Signed in"}
          </span>
          <button type="button" className="btn btn-ghost btn-small" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" ref={mainRef} tabIndex={-1}>
        {children}
      </main>
    </>
  );
}
