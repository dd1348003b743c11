import type { HearthClient, RoomSession } from "@hearth/sdk";
import { useState } from "react";
import { userName } from "../lib/chat";
import { describeError } from "../lib/errors";
import { integerText } from "../lib/format";
import { readinessText } from "../lib/members";
import { RoomRole } from "../lib/proto";
import { canActOn, roleLabel, roleRank } from "../lib/roles";
import { MessageMenu, type MenuAction } from "./MessageMenu";

/** Who is here and whether their player is ready: the group waits for those who hold it. */
export function Members({ session, client }: { session: RoomSession; client: HearthClient }) {
  const [error, setError] = useState<string | null>(null);
  const me = client.userId;
  const members = [...session.onlineMembers].sort(
    (a, b) => roleRank(b.role) - roleRank(a.role) || userName(a.user).localeCompare(userName(b.user)),
  );
  const myRole = session.myRole;

  const act = (fn: () => Promise<unknown>) => {
    setError(null);
    fn().catch((err: unknown) => setError(describeError(err)));
  };

  return (
    <section aria-labelledby="h-people" className="panel">
      <div className="panel-head">
        <h2 id="h-people">People</h2>
        <span className="muted small">{integerText(session.presence.onlineUsers)} online</span>
      </div>
      {members.length === 0 ? (
        <p className="muted">Nobody else is here yet.</p>
      ) : (
        <ul className="people">
          {members.map((m) => {
            const r = readinessText(m.playback);
            const uid = m.user?.userId ?? "";
            const actions: MenuAction[] = [];
            if (uid && uid !== me && canActOn(myRole, m.role)) {
              actions.push({ label: "Kick", run: () => act(() => client.request("kickMember", { roomId: session.roomId, userId: uid })) });
              actions.push({
                label: "Ban from room",
                danger: true,
                run: () => act(() => client.request("banMember", { roomId: session.roomId, userId: uid })),
              });
            }
            if (uid && uid !== me && (myRole === RoomRole.OWNER || myRole === RoomRole.HOST) && roleRank(m.role) < roleRank(myRole)) {
              if (m.role === RoomRole.MEMBER)
                actions.push({
                  label: "Make moderator",
                  run: () => act(() => client.request("setMemberRole", { roomId: session.roomId, userId: uid, role: RoomRole.MODERATOR })),
                });
              if (myRole === RoomRole.OWNER && m.role !== RoomRole.HOST)
                actions.push({
                  label: "Make co-host",
                  run: () => act(() => client.request("setMemberRole", { roomId: session.roomId, userId: uid, role: RoomRole.HOST })),
                });
            }
            return (
              <li key={uid} className="person" data-testid="member" data-user-id={uid}>
                <span className="person-name">
                  <span>{userName(m.user)}</span>
                  {uid === me && <span className="muted small">(you)</span>}
                  {m.role !== RoomRole.MEMBER && <span className="badge badge-role">{roleLabel(m.role)}</span>}
                </span>
                <span className="row">
                  <span className={`ready ready-${r.tone}`} data-testid="readiness">
                    {r.text}
                  </span>
                  {actions.length > 0 && <MessageMenu label={`Manage ${userName(m.user)}`} actions={actions} />}
                </span>
              </li>
            );
          })}
        </ul>
      )}
      {session.onlineMembersTruncated && <p className="muted small">Showing the first members only.</p>}
      {error && (
        <p role="alert" className="alert">
          {error}
        </p>
      )}
    </section>
  );
}
