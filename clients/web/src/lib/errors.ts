/** Turns SDK errors (HearthError, HearthAuthError, network failures) into sentences for people. */

interface ErrorLike {
  code?: unknown;
  message?: unknown;
  field?: unknown;
  retryAfterMs?: unknown;
  status?: unknown;
}

/** The service's stable reason: the text before the first ":" of `message` (docs/protocol.md §4). */
export function errorReason(err: unknown): string | undefined {
  const m = (err as ErrorLike | null)?.message;
  if (typeof m !== "string") return undefined;
  const i = m.indexOf(":");
  if (i <= 0) return undefined;
  const reason = m.slice(0, i).trim();
  return /^[a-z][a-z0-9_]*$/.test(reason) ? reason : undefined;
}

export function errorCode(err: unknown): string | undefined {
  const c = (err as ErrorLike | null)?.code;
  return typeof c === "string" ? c : undefined;
}

function seconds(err: unknown): string | undefined {
  const ms = (err as ErrorLike | null)?.retryAfterMs;
  return typeof ms === "number" && ms > 0 ? `${Math.ceil(ms / 1000)} s` : undefined;
}

const REASONS: Record<string, string> = {
  room_not_found: "This room does not exist, or it is private.",
  invite_not_found: "This invite link is not valid.",
  invite_expired: "This invite link has expired.",
  invite_revoked: "This invite link was revoked.",
  invite_exhausted: "This invite link has been used up.",
  invite_not_yours: "This invite was made for someone else.",
  banned: "You are banned from this room.",
  room_full: "This room is full.",
  room_archived: "This room is archived: it is read-only now.",
  room_not_open: "This room is not open yet.",
  not_entitled: "Your TV subscription does not include this.",
  not_host: "Only hosts can control playback.",
  not_member: "Join the room first.",
  not_manager: "Only hosts and moderators can do that.",
  members_only: "Only members can chat here.",
  emote_only: "Chat is in emote-only mode.",
  reactions_only: "Chat is in reactions-only mode.",
  blocked_term: "That message contains a blocked word.",
  chat_banned: "You are banned from this chat.",
  timed_out: "You are timed out.",
  followers_only: "Only followers can chat here right now.",
  slow_mode: "Slow mode is on.",
  text_too_long: "That message is too long.",
  too_many_lines: "That message has too many lines.",
  text_empty: "Type a message first.",
  already_voted: "You have already voted.",
  poll_closed: "This poll is closed.",
  poll_not_open: "This poll is not open yet.",
  version_conflict: "Someone else changed playback at the same moment. Try again.",
  no_media: "This room has nothing to play yet.",
  live_media: "Live channels cannot be paused or seeked.",
  too_many_rooms: "You have too many rooms.",
  too_many_invites: "This room has too many active invites.",
  insufficient_role: "You can only act on people with a weaker role.",
};

const CODES: Record<string, string> = {
  unauthenticated: "Your session has ended. Please sign in again.",
  permission_denied: "You are not allowed to do that.",
  not_found: "Not found.",
  rate_limited: "Slow down a little and try again.",
  unavailable: "Hearth is temporarily unavailable. Try again in a moment.",
  deadline_exceeded: "Hearth took too long to answer. Try again.",
  internal: "Something went wrong on Hearth's side.",
  unsupported: "This feature is not available here.",
  timeout: "No answer from Hearth. Check your connection.",
  disconnected: "Connection lost. Reconnecting…",
  invalid_argument: "Please check what you entered.",
  already_exists: "That already exists.",
  failed_precondition: "That is not possible right now.",
  conflict: "Something changed at the same time. Try again.",
};

/** A short user-facing sentence; `context` adjusts messages that depend on the screen (sign-in). */
export function describeError(err: unknown, context: "auth" | "general" = "general"): string {
  const code = errorCode(err);
  const reason = errorReason(err);
  const wait = seconds(err);
  if (context === "auth") {
    if (code === "unauthenticated") return "Wrong username or password.";
    if (code === "already_exists") return "That username is taken.";
    if (code === "rate_limited") return `Too many attempts. Try again${wait ? ` in ${wait}` : " later"}.`;
    if (code === "invalid_argument") {
      const m = (err as ErrorLike | null)?.message;
      return typeof m === "string" && m ? m.charAt(0).toUpperCase() + m.slice(1) : "Please check what you entered.";
    }
  }
  const base = (reason && REASONS[reason]) ?? (code && CODES[code]);
  if (base) return wait ? `${base} Try again in ${wait}.` : base;
  if (err instanceof TypeError) return "Cannot reach Hearth. Check your connection.";
  return "Something went wrong. Try again.";
}
