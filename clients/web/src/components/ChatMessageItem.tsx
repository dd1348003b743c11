import { memo, useState } from "react";
import { excerpt, REACTION_CHOICES, userName } from "../lib/chat";
import { MessageState, RoomRole, type ChatMessage } from "../lib/proto";
import { roleLabel } from "../lib/roles";
import { formatTimeOfDay, timestampMs } from "../lib/time";
import { MessageMenu, type MenuAction } from "./MessageMenu";

export interface MessageActions {
  reply(m: ChatMessage): void;
  toggleReaction(m: ChatMessage, emoji: string, mine: boolean): void;
  remove(m: ChatMessage): void;
  timeout(m: ChatMessage): void;
  ban(m: ChatMessage): void;
}

interface ItemProps {
  message: ChatMessage;
  /** Changes whenever the SDK mutated the message in place (reactions, deletion), to re-render. */
  revision: string;
  mine: boolean;
  moderator: boolean;
  canWrite: boolean;
  actions: MessageActions;
}

/** One chat line: author, reply preview, text (or tombstone), reactions and its actions. */
function ChatMessageItemImpl({ message: m, mine, moderator, canWrite, actions }: ItemProps) {
  const [picking, setPicking] = useState(false);
  const deleted = m.state === MessageState.DELETED;
  const created = timestampMs(m.createTime);

  const menu: MenuAction[] = [];
  if (!deleted && (mine || moderator)) menu.push({ label: "Delete", run: () => actions.remove(m), danger: true });
  if (!deleted && moderator && !mine && m.author) {
    menu.push({ label: "Timeout", run: () => actions.timeout(m) });
    menu.push({ label: "Ban", run: () => actions.ban(m), danger: true });
  }

  return (
    <li className="msg" data-testid="chat-message" data-sequence={m.sequence.toString()}>
      <div className="msg-head">
        <span className="msg-author">{userName(m.author)}</span>
        {m.authorRole > RoomRole.MEMBER && <span className="badge badge-role">{roleLabel(m.authorRole)}</span>}
        {created !== undefined && (
          <time className="msg-time" dateTime={new Date(created).toISOString()}>
            {formatTimeOfDay(created)}
          </time>
        )}
      </div>
      {m.replyTo && (
        <p className="msg-reply">
          <span className="visually-hidden">In reply to </span>
          {userName(m.replyTo.author)}: {m.replyTo.deleted ? "deleted message" : excerpt(m.replyTo.text, 60)}
        </p>
      )}
      <p data-testid="chat-text" className={deleted ? "msg-text tombstone" : "msg-text"}>
        {deleted ? (m.deletedByModerator ? "Removed by a moderator" : "Message deleted") : m.text}
      </p>
      {!deleted && m.reactions.length > 0 && (
        <div className="reactions">
          {m.reactions
            .filter((r) => r.count > 0)
            .map((r) => (
              <button
                key={r.emoji}
                type="button"
                className="btn btn-small reaction"
                aria-pressed={r.me}
                aria-label={`${r.emoji} ${r.count} ${r.count === 1 ? "reaction" : "reactions"}${r.me ? ", including yours" : ""}`}
                disabled={!canWrite}
                onClick={() => actions.toggleReaction(m, r.emoji, r.me)}
              >
                <span aria-hidden="true">
                  {r.emoji} {r.count}
                </span>
              </button>
            ))}
        </div>
      )}
      {!deleted && (
        <div className="msg-actions">
          <button type="button" className="btn btn-ghost btn-small" disabled={!canWrite} onClick={() => actions.reply(m)}>
            Reply
          </button>
          <button
            type="button"
            className="btn btn-ghost btn-small"
            aria-expanded={picking}
            disabled={!canWrite}
            onClick={() => setPicking((p) => !p)}
          >
            React
          </button>
          <MessageMenu actions={menu} />
        </div>
      )}
      {picking && (
        <div className="picker" role="group" aria-label="Pick a reaction">
          {REACTION_CHOICES.map((e) => {
            const mineAlready = m.reactions.some((r) => r.emoji === e && r.me);
            return (
              <button
                key={e}
                type="button"
                className="btn btn-ghost"
                aria-pressed={mineAlready}
                onClick={() => {
                  setPicking(false);
                  actions.toggleReaction(m, e, mineAlready);
                }}
              >
                {e}
              </button>
            );
          })}
        </div>
      )}
    </li>
  );
}

export const ChatMessageItem = memo(ChatMessageItemImpl);

/** A cheap fingerprint of what can change on a message after it was posted. */
export function messageRevision(m: ChatMessage): string {
  return `${m.state}|${m.reactions.map((r) => `${r.emoji}${r.count}${r.me ? "*" : ""}`).join(",")}|${m.replyCount}`;
}
