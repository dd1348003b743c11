/** How the player should load a direct media URL. */
export type MediaKind = "hls" | "dash" | "progressive";

/** Classifies a stream URL by its path extension (query and fragment ignored). */
export function classifyMediaUrl(url: string): MediaKind {
  let path = url;
  try {
    path = new URL(url, "http://localhost").pathname;
  } catch {
    // keep the raw string: a relative or odd URL is still worth a guess
  }
  const lower = path.toLowerCase();
  if (lower.endsWith(".m3u8") || lower.endsWith(".m3u")) return "hls";
  if (lower.endsWith(".mpd")) return "dash";
  return "progressive";
}

export type MediaPlan =
  | { kind: "native-hls"; url: string }
  | { kind: "hls.js"; url: string }
  | { kind: "progressive"; url: string }
  | { kind: "unsupported"; url: string; reason: string };

/**
 * Picks the playback path: native HLS where the browser says it can (Safari, some TVs), else hls.js
 * where Media Source Extensions exist, else nothing. DASH needs a DASH player the reference app does not ship.
 */
export function planMedia(url: string, canPlayNativeHls: boolean, hlsJsSupported: boolean): MediaPlan {
  const kind = classifyMediaUrl(url);
  if (kind === "hls") {
    if (canPlayNativeHls) return { kind: "native-hls", url };
    if (hlsJsSupported) return { kind: "hls.js", url };
    return { kind: "unsupported", url, reason: "This browser cannot play HLS streams." };
  }
  if (kind === "dash") {
    return { kind: "unsupported", url, reason: "DASH streams are played by the operator's player, not this app." };
  }
  return { kind: "progressive", url };
}

/** What to say when the room's media is a catalog reference rather than a URL. */
export function catalogMediaNote(kind: "channelId" | "assetId" | "programmeId"): string {
  const what = kind === "channelId" ? "channel" : kind === "assetId" ? "title" : "programme";
  return `This ${what} plays in your TV provider's player. Hearth keeps the room, chat and polls in sync here.`;
}

/**
 * The media's title worth showing: the summary's, unless it merely repeats the catalog id (the rooms
 * service falls back to the id when it knows no name, e.g. "hearth-news"), which means nothing to viewers.
 */
export function mediaTitle(
  media: { kind: { case?: string | undefined; value?: unknown } } | undefined,
  summaryTitle: string | undefined,
): string | undefined {
  const title = summaryTitle?.trim();
  if (!title) return undefined;
  const kind = media?.kind;
  if (kind && kind.case !== "url" && typeof kind.value === "string" && kind.value === title) return undefined;
  return title;
}
