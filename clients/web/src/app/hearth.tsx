import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { HearthAuth, HearthClient, LocalStorageTokenStorage, type ConnectionState, type Session } from "@hearth/sdk";
import { loadProfile, saveProfile, type Profile } from "../lib/profile";

/** What the header's `connection-state` read-out may say (docs: exactly one of these four). */
export type UiConnectionState = "connecting" | "open" | "reconnecting" | "closed";

export function uiConnectionState(s: ConnectionState): UiConnectionState {
  return s === "idle" ? "connecting" : s;
}

interface HearthContextValue {
  auth: HearthAuth;
  session: Session | null;
  /** One WebSocket client per signed-in session; null while signed out. */
  client: HearthClient | null;
  connection: UiConnectionState;
  profile: Profile | null;
  signIn(username: string, password: string): Promise<void>;
  signUp(username: string, password: string, displayName: string): Promise<void>;
  signOut(): Promise<void>;
  reconnect(): void;
}

const HearthContext = createContext<HearthContextValue | null>(null);

/** The gateway serves the app, so the SDK talks to the page's own origin. */
const auth = new HearthAuth({ baseUrl: window.location.origin, storage: new LocalStorageTokenStorage() });

export function HearthProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null>(() => auth.session);
  const [client, setClient] = useState<HearthClient | null>(null);
  const [connection, setConnection] = useState<UiConnectionState>("connecting");
  const [profile, setProfile] = useState<Profile | null>(() => loadProfile(localStorage, auth.session?.userId));

  useEffect(() => auth.onChange((s) => setSession(s)), []);

  useEffect(() => {
    setProfile(loadProfile(localStorage, session?.userId));
  }, [session?.userId]);

  // A new client per user: tokens are refreshed by the SDK on every (re)connect, so a refresh
  // (same user, new token) must not tear the connection down.
  const userId = session?.userId;
  useEffect(() => {
    if (!userId) {
      setClient(null);
      return;
    }
    const c = new HearthClient({ url: window.location.origin, accessToken: () => auth.accessToken() });
    setClient(c);
    setConnection(uiConnectionState(c.state));
    const off = c.on("state", (s) => setConnection(uiConnectionState(s)));
    c.connect().catch(() => {
      // The state read-out shows "closed"; a refused token has already signed the session out.
    });
    return () => {
      off();
      c.close();
    };
  }, [userId]);

  const value = useMemo<HearthContextValue>(
    () => ({
      auth,
      session,
      client,
      connection,
      profile,
      async signIn(username, password) {
        const s = await auth.login(username, password);
        const p = { userId: s.userId, username, displayName: "" };
        saveProfile(localStorage, p);
        setProfile(p);
      },
      async signUp(username, password, displayName) {
        const s = await auth.register(username, password, displayName || undefined);
        const p = { userId: s.userId, username, displayName };
        saveProfile(localStorage, p);
        setProfile(p);
      },
      async signOut() {
        client?.close();
        try {
          await auth.logout();
        } catch {
          // The SDK signs out locally even when the server cannot be told; nothing else to do.
        } finally {
          saveProfile(localStorage, null);
          setProfile(null);
        }
      },
      reconnect() {
        client?.connect().catch(() => undefined);
      },
    }),
    [session, client, connection, profile],
  );

  return <HearthContext.Provider value={value}>{children}</HearthContext.Provider>;
}

export function useHearth(): HearthContextValue {
  const v = useContext(HearthContext);
  if (!v) throw new Error("useHearth outside HearthProvider");
  return v;
}

/** The connected client; screens under the signed-in shell only render once it exists. */
export function useClient(): HearthClient {
  const { client } = useHearth();
  if (!client) throw new Error("useClient while signed out");
  return client;
}
