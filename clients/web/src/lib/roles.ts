import { PlaybackPolicy, RoomRole } from "./proto";

/** Role order from docs/rooms.md: OWNER > HOST > MODERATOR > MEMBER; a guest has no role (UNSPECIFIED). */
export function roleRank(role: RoomRole): number {
  switch (role) {
    case RoomRole.OWNER:
      return 4;
    case RoomRole.HOST:
      return 3;
    case RoomRole.MODERATOR:
      return 2;
    case RoomRole.MEMBER:
      return 1;
    default:
      return 0;
  }
}

/** Hosts are the owner and every HOST (co-host). */
export function isHost(role: RoomRole): boolean {
  return roleRank(role) >= roleRank(RoomRole.HOST);
}

/** Moderators and stronger: chat moderation tools, poll/quiz management, mod-only events. */
export function isModerator(role: RoomRole): boolean {
  return roleRank(role) >= roleRank(RoomRole.MODERATOR);
}

/**
 * Who may send play/pause/seek/set_rate (docs/rooms.md "Playback policy"): hosts always;
 * under EVERYONE every member too, never guests. UNSPECIFIED policy means the default, HOST_ONLY.
 */
export function canControlPlayback(role: RoomRole, policy: PlaybackPolicy | undefined): boolean {
  if (isHost(role)) return true;
  return policy === PlaybackPolicy.EVERYONE && roleRank(role) >= roleRank(RoomRole.MEMBER);
}

/** Kick, ban and role changes apply only to strictly weaker roles (`insufficient_role` otherwise). */
export function canActOn(actor: RoomRole, target: RoomRole): boolean {
  return isModerator(actor) && roleRank(actor) > roleRank(target);
}

export function roleLabel(role: RoomRole): string {
  switch (role) {
    case RoomRole.OWNER:
      return "Owner";
    case RoomRole.HOST:
      return "Host";
    case RoomRole.MODERATOR:
      return "Moderator";
    case RoomRole.MEMBER:
      return "Member";
    default:
      return "Guest";
  }
}
