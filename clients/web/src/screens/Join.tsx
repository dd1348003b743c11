import { useEffect, useState } from "react";
import { navigate } from "../app/router";
import { ProblemPage } from "../components/ProblemPage";
import { inviteProblem, rememberInvite, resolveInvite, type InviteResolution } from "../lib/invite";
import { roomPath } from "../lib/routes";

/**
 * `/join/<code>`: resolves the invite's room through the public preview, then moves to /rooms/<id>, whose
 * screen enters with the code (`enter_room {roomId, inviteCode, join: true}`), making the user a member.
 */
export function Join({ code }: { code: string }) {
  const [res, setRes] = useState<InviteResolution | null>(null);

  useEffect(() => {
    let cancelled = false;
    void resolveInvite(code).then((r) => {
      if (cancelled) return;
      if (r.ok) {
        rememberInvite(r.roomId, code);
        navigate(roomPath(r.roomId), { replace: true });
      } else {
        setRes(r);
      }
    });
    return () => {
      cancelled = true;
    };
  }, [code]);

  if (!res || res.ok) {
    return (
      <div className="page narrow" aria-busy="true">
        <h1>Joining…</h1>
        <p className="muted">Checking your invite.</p>
      </div>
    );
  }
  return <ProblemPage title="Cannot join" message={inviteProblem(res.reason)} />;
}
