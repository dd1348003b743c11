import type { HearthClient } from "@hearth/sdk";
import { useState } from "react";
import { describeError } from "../lib/errors";
import { inviteLink } from "../lib/routes";

/** Creates an invite (create_invite) and shows its shareable link; copies it when the browser allows. */
export function InvitePanel({ client, roomId }: { client: HearthClient; roomId: string }) {
  const [link, setLink] = useState<string | null>(null);
  const [status, setStatus] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const create = async () => {
    setError(null);
    setStatus("");
    setBusy(true);
    try {
      const res = await client.request("createInvite", { roomId });
      const code = res.invite?.code;
      if (!code) throw new Error("no invite in reply");
      const url = inviteLink(window.location.origin, code);
      setLink(url);
      try {
        await navigator.clipboard.writeText(url);
        setStatus("Link copied to the clipboard.");
      } catch {
        setStatus("Copy the link below to share it.");
      }
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="invite-row">
      <button type="button" className="btn" onClick={() => void create()} disabled={busy}>
        Copy invite link
      </button>
      {link && (
        <div className="field">
          <label htmlFor="invite-link" className="visually-hidden">
            Invite link
          </label>
          <input id="invite-link" readOnly value={link} onFocus={(e) => e.currentTarget.select()} />
        </div>
      )}
      <span className="visually-hidden" aria-live="polite">
        {status}
      </span>
      {error && (
        <p role="alert" className="alert">
          {error}
        </p>
      )}
    </div>
  );
}
