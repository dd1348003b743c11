import { MediaSync, type RoomClosedReason, type RoomSession } from "@hearth/sdk";
import { useCallback, useEffect, useRef, useState } from "react";
import { useClient } from "../app/hearth";
import { useRerenderOn } from "../app/hooks";
import { acquireRoom, releaseRoom } from "../app/roomRegistry";
import { Chat } from "../components/Chat";
import { InvitePanel } from "../components/InvitePanel";
import { LiveBursts, LiveReactionBar } from "../components/LiveReactions";
import { Members } from "../components/Members";
import { ModerationPanel } from "../components/ModerationPanel";
import { NewPollDialog } from "../components/NewPollDialog";
import { NewQuizDialog } from "../components/NewQuizDialog";
import { Player } from "../components/Player";
import { PlayerControls } from "../components/PlayerControls";
import { PollOverlay } from "../components/PollOverlay";
import { ProblemPage } from "../components/ProblemPage";
import { Predictions } from "../components/Predictions";
import { QnaPanel } from "../components/QnaPanel";
import { QuizOverlay } from "../components/QuizOverlay";
import { kindLabel } from "../components/RoomCard";
import { SyncBar } from "../components/SyncBar";
import { describeError } from "../lib/errors";
import { integerText } from "../lib/format";
import { forgetInvite, pendingInvite } from "../lib/invite";
import { Readiness, RoomState, type Quiz } from "../lib/proto";
import { canControlPlayback, isModerator, roleLabel } from "../lib/roles";

/** Enters the room (joining; with the invite code when coming from /join/<code>) and shows it. */
export function Room({ roomId }: { roomId: string }) {
  const client = useClient();
  const [session, setSession] = useState<RoomSession | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [closed, setClosed] = useState<RoomClosedReason | null>(null);

  useEffect(() => {
    let cancelled = false;
    setSession(null);
    setError(null);
    setClosed(null);
    acquireRoom(client, roomId, pendingInvite(roomId)).then(
      (s) => {
        forgetInvite(roomId);
        if (!cancelled) setSession(s);
      },
      (err: unknown) => {
        if (!cancelled) setError(err);
      },
    );
    return () => {
      cancelled = true;
      releaseRoom(client, roomId);
    };
  }, [client, roomId]);

  useEffect(() => {
    if (!session) return;
    if (session.closed) setClosed("gone");
    return session.on("closed", (e) => setClosed(e.reason));
  }, [session]);

  if (closed && closed !== "exited" && closed !== "client_closed") {
    return <ProblemPage title="You left this room" message={closedMessage(closed)} />;
  }
  if (error) return <ProblemPage title="Cannot open this room" message={describeError(error)} />;
  if (!session) {
    return (
      <div className="page narrow" aria-busy="true">
        <h1>Opening room…</h1>
        <p className="muted">Connecting you to the party.</p>
      </div>
    );
  }
  return <RoomView session={session} />;
}

function closedMessage(reason: RoomClosedReason): string {
  switch (reason) {
    case "kicked":
      return "A moderator removed you from this room.";
    case "banned":
      return "You were banned from this room.";
    case "deleted":
      return "This room was deleted by its owner.";
    default:
      return "This room is no longer available to you.";
  }
}

function RoomView({ session }: { session: RoomSession }) {
  const client = useClient();
  useRerenderOn((cb) => session.on("change", cb), [session]);
  const [video, setVideo] = useState<HTMLVideoElement | null>(null);
  const [localBuffering, setLocalBuffering] = useState(false);
  const [playBlocked, setPlayBlocked] = useState(false);
  const [pollOpen, setPollOpen] = useState(false);
  const [quizOpen, setQuizOpen] = useState(false);
  const [quizDraft, setQuizDraft] = useState<Quiz | null>(null);
  const syncRef = useRef<MediaSync | null>(null);

  const room = session.room;
  const role = session.myRole;
  const canControl = canControlPlayback(role, room.settings?.playbackPolicy);
  const manager = isModerator(role);
  const archived = room.state === RoomState.ARCHIVED;

  // MediaSync drives the element from the group state and reports readiness (docs/sync.md §4–§6).
  useEffect(() => {
    if (!video) return;
    const sync = new MediaSync(session, video, client.clock, { onPlayBlocked: () => setPlayBlocked(true) });
    syncRef.current = sync;
    sync.start();
    return () => {
      sync.stop();
      if (syncRef.current === sync) syncRef.current = null;
    };
  }, [session, video, client]);

  // Local player health for the status read-out: stalled or still loading while the group plays.
  useEffect(() => {
    if (!video) return;
    const busy = () => setLocalBuffering(true);
    const fine = () => setLocalBuffering(false);
    const events: [string, () => void][] = [
      ["waiting", busy],
      ["stalled", () => setLocalBuffering(video.readyState < 3)],
      ["seeking", busy],
      ["playing", fine],
      ["canplay", fine],
      ["seeked", () => setLocalBuffering(video.readyState < 3)],
      ["play", () => setPlayBlocked(false)],
    ];
    for (const [t, f] of events) video.addEventListener(t, f);
    return () => {
      for (const [t, f] of events) video.removeEventListener(t, f);
    };
  }, [video]);

  const onFatal = useCallback(() => {
    session.reportReadiness(Readiness.FAILED).catch(() => undefined);
  }, [session]);

  const readDrift = useCallback(() => syncRef.current?.driftMs ?? 0, []);
  // Only a URL media plays here; catalog media has no local player to wait for.
  const readLocalBuffering = useCallback(
    () => video !== null && (localBuffering || video.readyState < 3),
    [video, localBuffering],
  );
  const media = session.playback.media ?? room.media;
  const summary = session.playback.mediaSummary ?? room.mediaSummary;

  return (
    <div className="room-page">
      <div className="room-head">
        <div>
          <h1>{room.title}</h1>
          <div className="room-sub">
            <span className="badge">{kindLabel(room.kind)}</span>
            {summary?.live && <span className="badge badge-live">Live</span>}
            {archived && <span className="badge">Archived</span>}
            <span>
              <span data-testid="online-count">{integerText(session.presence.onlineUsers)}</span> watching
            </span>
            <span>You: {roleLabel(role)}</span>
          </div>
        </div>
        <InvitePanel client={client} roomId={session.roomId} />
      </div>

      <div className="room-grid">
        <div className="stage">
          <div className="player-wrap">
            <Player media={media} summary={summary} onVideo={setVideo} onFatal={onFatal}>
              <LiveBursts session={session} />
            </Player>
            <div className="overlays">
              <PollOverlay session={session} manager={manager} />
              <QuizOverlay
                session={session}
                client={client}
                manager={manager}
                draft={quizDraft}
                onDraftUsed={() => setQuizDraft(null)}
              />
            </div>
          </div>
          {playBlocked && (
            <p className="notice row spread">
              Your browser blocked autoplay.
              <button
                type="button"
                className="btn btn-small"
                onClick={() => {
                  void video?.play().catch(() => undefined);
                  syncRef.current?.tick();
                }}
              >
                Join playback
              </button>
            </p>
          )}
          <SyncBar session={session} client={client} readLocalBuffering={readLocalBuffering} readDriftMs={readDrift} />
          <PlayerControls session={session} client={client} video={video} canControl={canControl && !archived} />
          <div className="row spread">
            <LiveReactionBar session={session} disabled={archived} />
            {manager && !archived && (
              <div className="actions">
                <button type="button" className="btn" onClick={() => setPollOpen(true)}>
                  New poll
                </button>
                <button type="button" className="btn" onClick={() => setQuizOpen(true)}>
                  New quiz
                </button>
              </div>
            )}
          </div>
          {pollOpen && <NewPollDialog session={session} onClose={() => setPollOpen(false)} />}
          {quizOpen && <NewQuizDialog session={session} onClose={() => setQuizOpen(false)} onCreated={setQuizDraft} />}
        </div>

        <div className="chat-area">
          <Chat session={session} client={client} myUserId={client.userId} />
        </div>

        <div className="below">
          <Members session={session} client={client} />
          <QnaPanel session={session} client={client} manager={manager} />
          <Predictions session={session} client={client} manager={manager} />
          {manager && <ModerationPanel session={session} client={client} />}
        </div>
      </div>
    </div>
  );
}
