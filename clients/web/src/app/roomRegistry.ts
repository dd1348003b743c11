import type { HearthClient, RoomSession } from "@hearth/sdk";
import { errorCode, errorReason } from "../lib/errors";

/**
 * Reference-counted room entry. React (StrictMode, fast route changes) may unmount and remount a room
 * screen within one tick: exiting at once would race the re-entry (the gateway would run enter, then
 * exit), so the exit waits a tick, is skipped when the room was acquired again meanwhile, and never
 * overtakes an enter still in flight.
 */
interface Entry {
  count: number;
  entering: Promise<unknown>;
}
const entries = new Map<string, Entry>();

async function enter(client: HearthClient, roomId: string, inviteCode: string | undefined): Promise<RoomSession> {
  try {
    // Members may vote, answer and ask (docs/protocol.md §10), so the app joins; an invite implies it.
    return await client.enterRoom(roomId, inviteCode ? { join: true, inviteCode } : { join: true });
  } catch (err) {
    // A full room can still be watched as a guest when it is public or unlisted (docs/rooms.md "Capacity").
    if (errorCode(err) === "rate_limited" && errorReason(err) === "room_full" && !inviteCode) {
      return client.enterRoom(roomId, { join: false });
    }
    throw err;
  }
}

export function acquireRoom(client: HearthClient, roomId: string, inviteCode: string | undefined): Promise<RoomSession> {
  const p = enter(client, roomId, inviteCode);
  const e = entries.get(roomId);
  entries.set(roomId, { count: (e?.count ?? 0) + 1, entering: p });
  return p;
}

export function releaseRoom(client: HearthClient, roomId: string): void {
  const e = entries.get(roomId);
  if (!e) return;
  if (e.count > 1) {
    e.count -= 1;
    return;
  }
  entries.delete(roomId);
  const entering = e.entering;
  window.setTimeout(() => {
    if (entries.has(roomId)) return;
    void entering
      .catch(() => undefined)
      .then(() => {
        if (!entries.has(roomId)) return client.exitRoom(roomId);
      })
      .catch(() => undefined);
  }, 0);
}
