import { useState, type FormEvent } from "react";
import { RoomKind, RoomVisibility } from "../lib/proto";
import { useClient } from "../app/hearth";
import { navigate } from "../app/router";
import { describeError } from "../lib/errors";
import { roomPath } from "../lib/routes";
import { Dialog } from "./Dialog";

/** Creates a watch party on a direct media URL and opens it. */
export function NewPartyDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const client = useClient();
  const [title, setTitle] = useState("");
  const [mediaUrl, setMediaUrl] = useState("");
  const [visibility, setVisibility] = useState<RoomVisibility>(RoomVisibility.PRIVATE);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // One idempotency key per dialog opening: a retried create after a timeout returns the same room.
  const [requestId] = useState(() => `web-${crypto.randomUUID()}`);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    if (!title.trim()) return setError("Give the party a title.");
    if (!/^https?:\/\/\S+$/i.test(mediaUrl.trim())) return setError("Enter the media's full http(s) URL.");
    setBusy(true);
    try {
      const res = await client.request("createRoom", {
        kind: RoomKind.WATCH_PARTY,
        visibility,
        title: title.trim(),
        media: { kind: { case: "url", value: mediaUrl.trim() } },
        requestId,
      });
      const id = res.room?.roomId;
      if (!id) throw new Error("no room in reply");
      onClose();
      navigate(roomPath(id));
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };

  return (
    <Dialog title="New watch party" open={open} onClose={onClose}>
      <form className="form" onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor="party-title">Title</label>
          <input id="party-title" required maxLength={120} value={title} onChange={(e) => setTitle(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="party-media">Media URL</label>
          <input
            id="party-media"
            type="url"
            inputMode="url"
            required
            placeholder="https://…/stream.m3u8"
            aria-describedby="party-media-hint"
            value={mediaUrl}
            onChange={(e) => setMediaUrl(e.target.value)}
          />
          <p id="party-media-hint" className="hint">
            An HLS stream (.m3u8) or a video file (.mp4, .webm).
          </p>
        </div>
        <div className="field">
          <label htmlFor="party-visibility">Visibility</label>
          <select
            id="party-visibility"
            value={visibility}
            onChange={(e) => setVisibility(Number(e.target.value) as RoomVisibility)}
          >
            <option value={RoomVisibility.PRIVATE}>Private: invite only</option>
            <option value={RoomVisibility.UNLISTED}>Unlisted: anyone with the link</option>
            <option value={RoomVisibility.PUBLIC}>Public: listed for everyone</option>
          </select>
        </div>
        {error && (
          <p role="alert" className="alert">
            {error}
          </p>
        )}
        <div className="actions">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            Create
          </button>
          <button type="button" className="btn btn-ghost" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}
