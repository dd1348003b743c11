/**
 * The signed-in user's name for the header. Tokens carry only ids, so the name typed at sign-in is kept
 * next to the session (per user id, so another account's name is never shown).
 */
export interface Profile {
  userId: string;
  username: string;
  displayName: string;
}

interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

const KEY = "hearth.profile";

export function loadProfile(storage: StorageLike, userId: string | undefined): Profile | null {
  if (!userId) return null;
  try {
    const v = JSON.parse(storage.getItem(KEY) ?? "null") as Partial<Profile> | null;
    if (v && v.userId === userId && typeof v.username === "string") {
      return { userId, username: v.username, displayName: typeof v.displayName === "string" ? v.displayName : "" };
    }
  } catch {
    // corrupt entry: treated as unknown
  }
  return null;
}

export function saveProfile(storage: StorageLike, profile: Profile | null): void {
  if (profile) storage.setItem(KEY, JSON.stringify(profile));
  else storage.removeItem(KEY);
}
