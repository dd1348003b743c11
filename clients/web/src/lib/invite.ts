/**
 * Resolving an invite code to its room. `enter_room` needs the room id (gateway.proto EnterRoom.room_id is
 * required), and the code alone is not a room id, so the app asks the gateway's public invite preview
 * (`GET /i/<code>` with `Accept: application/json` → `{"preview": {status, roomId, title, …}}`, proto3 JSON).
 */
export type InviteResolution =
  | { ok: true; roomId: string; title: string }
  | { ok: false; reason: "expired" | "revoked" | "exhausted" | "not_found" | "unavailable" };

const STATUS_REASON: Record<string, "expired" | "revoked" | "exhausted"> = {
  INVITE_STATUS_EXPIRED: "expired",
  INVITE_STATUS_REVOKED: "revoked",
  INVITE_STATUS_EXHAUSTED: "exhausted",
};

/** Interprets the preview response (status code + parsed JSON body, or null when unparseable). */
export function interpretPreview(httpStatus: number, body: unknown): InviteResolution {
  const preview = (body as { preview?: { status?: unknown; roomId?: unknown; title?: unknown } } | null)?.preview;
  const status = typeof preview?.status === "string" ? preview.status : undefined;
  if (httpStatus === 200 && status === "INVITE_STATUS_VALID" && typeof preview?.roomId === "string" && preview.roomId) {
    return { ok: true, roomId: preview.roomId, title: typeof preview.title === "string" ? preview.title : "" };
  }
  if (status && STATUS_REASON[status]) return { ok: false, reason: STATUS_REASON[status] };
  if (httpStatus === 410) return { ok: false, reason: "expired" };
  if (httpStatus === 404) return { ok: false, reason: "not_found" };
  return { ok: false, reason: "unavailable" };
}

export async function resolveInvite(code: string, fetchFn: typeof fetch = fetch): Promise<InviteResolution> {
  let res: Response;
  try {
    res = await fetchFn(`/i/${encodeURIComponent(code)}`, { headers: { Accept: "application/json" } });
  } catch {
    return { ok: false, reason: "unavailable" };
  }
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  return interpretPreview(res.status, body);
}

export function inviteProblem(reason: Exclude<InviteResolution, { ok: true }>["reason"]): string {
  switch (reason) {
    case "expired":
      return "This invite link has expired. Ask for a new one.";
    case "revoked":
      return "This invite link was revoked.";
    case "exhausted":
      return "This invite link has been used up. Ask for a new one.";
    case "not_found":
      return "This invite link is not valid.";
    case "unavailable":
      return "Cannot check this invite right now. Try again in a moment.";
  }
}

/**
 * Invite codes resolved by /join/<code>, handed to the room screen after the redirect to /rooms/<id>
 * (so the address bar shows the room, and a reload does not spend the invite again).
 */
const pendingInvites = new Map<string, string>();

export function rememberInvite(roomId: string, code: string): void {
  pendingInvites.set(roomId, code);
}

export function pendingInvite(roomId: string): string | undefined {
  return pendingInvites.get(roomId);
}

export function forgetInvite(roomId: string): void {
  pendingInvites.delete(roomId);
}
