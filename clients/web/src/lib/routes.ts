/** Routes of the app (history API; the gateway serves index.html for unknown paths). */
export type Route =
  | { name: "home" }
  | { name: "signin"; next: string }
  | { name: "room"; roomId: string }
  | { name: "join"; code: string }
  | { name: "notFound"; path: string };

/** Invite codes are 22 characters of base64url; room ids are UUIDs. Both are checked loosely, the server decides. */
const SEGMENT = /^[A-Za-z0-9_-]{1,128}$/;

/** Parses a location into a route. `search` is only read for the sign-in screen's return path. */
export function parseRoute(pathname: string, search = ""): Route {
  const path = pathname.replace(/\/+$/, "") || "/";
  if (path === "/") return { name: "home" };
  if (path === "/signin") {
    const next = new URLSearchParams(search).get("next");
    return { name: "signin", next: safeNext(next) };
  }
  const parts = path.split("/").slice(1);
  if (parts.length === 2 && parts[1] !== undefined && SEGMENT.test(parts[1])) {
    const id = decodeURIComponent(parts[1]);
    if (parts[0] === "rooms") return { name: "room", roomId: id };
    if (parts[0] === "join") return { name: "join", code: id };
  }
  return { name: "notFound", path };
}

/**
 * Only same-origin absolute paths are accepted as a post-sign-in destination, so a crafted
 * `?next=//evil.example` or `?next=https://…` link cannot send a fresh session elsewhere.
 */
export function safeNext(next: string | null | undefined): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/";
  if (next === "/signin" || next.startsWith("/signin?")) return "/";
  return next;
}

/** The sign-in URL that returns to `path` afterwards. */
export function signInPath(path: string): string {
  const next = safeNext(path);
  return next === "/" ? "/signin" : `/signin?next=${encodeURIComponent(next)}`;
}

export function roomPath(roomId: string): string {
  return `/rooms/${encodeURIComponent(roomId)}`;
}

/** The shareable invite link: the gateway's preview page, which links on to /join/<code>. */
export function inviteLink(origin: string, code: string): string {
  return `${origin.replace(/\/+$/, "")}/i/${encodeURIComponent(code)}`;
}
