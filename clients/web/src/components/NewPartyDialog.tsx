import { useState, type FormEvent } from "react";
import { RoomKind, RoomVisibility } from "../lib/proto";
import { useClient } from "../app/hearth";
import { useAction } from "../app/hooks";
import { navigate } from "../app/router";
import { roomPath } from "../lib/routes";
import { Dialog } from "./Dialog";
import { FormActions } from "./FormActions";

/** Creates a watch party on a direct media URL and opens it. */
export function NewPartyDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const client = useClient();
  const [title, setTitle] = useState("");
  const [mediaUrl, setMediaUrl] = useState("");
  const [visibility, setVisibility] = useState<RoomVisibility>(RoomVisibility.PRIVATE);
  const { busy, error, setError, run } = useAction();
  // One idempotency key per dialog opening: a retried create after a timeout returns the same room.
  const [requestId] = useState(() => `web-${crypto.randomUUID()}`);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!title.trim()) return setError("Give the party a title.");
    if (!/^https?:\/\/\S+$/i.test(mediaUrl.trim())) return setError("Enter the media's full http(s) URL.");
    void run(async () => {
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
    });
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
        <FormActions error={error} busy={busy} submitLabel="Create" onCancel={onClose} />
      </form>
    </Dialog>
  );
}
