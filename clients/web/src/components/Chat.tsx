import type { HearthClient, RoomSession } from "@hearth/sdk";
import { useEffect, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent } from "react";
import { useLatest } from "../app/hooks";
import { excerpt, retryDelayMs, typingSentence, userName } from "../lib/chat";
import { describeError } from "../lib/errors";
import { MessageState, RestrictionKind, SendStatus, type ChatMessage } from "../lib/proto";
import { msToDuration } from "../lib/time";
import { ChatMessageItem, messageRevision, type MessageActions } from "./ChatMessageItem";

/** How long a moderator's Timeout lasts from the message menu. */
const TIMEOUT_MS = 10 * 60_000;
/** docs/protocol.md §9: refresh `typing: true` every 3 s while typing. */
const TYPING_REFRESH_MS = 3_000;

interface ChatProps {
  session: RoomSession;
  client: HearthClient;
  myUserId: string | undefined;
}

/**
 * The room's chat: history from the enter reply, live messages in sequence order (the SDK dedupes and
 * resumes across reconnects), replies, reactions, typing, and moderator actions on each line.
 */
export function Chat({ session, client, myUserId }: ChatProps) {
  const [text, setText] = useState("");
  const [replyTo, setReplyTo] = useState<ChatMessage | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [sending, setSending] = useState(false);
  const [coolingDown, setCoolingDown] = useState(false);
  const listRef = useRef<HTMLOListElement>(null);
  const inputRef = useRef<HTMLTextAreaElement>(null);
  const stickToBottom = useRef(true);
  const lastTypingSent = useRef(0);

  const messages = session.messages.filter((m) => m.state !== MessageState.HIDDEN);
  const moderator = session.isModerator;
  const restriction = session.myRestriction;
  const restrictedUntil = restriction?.expireTime ? Number(restriction.expireTime.seconds) * 1000 : undefined;
  const restricted = restriction !== undefined && (restrictedUntil === undefined || restrictedUntil > Date.now());
  const canWrite = !session.closed && !restricted;
  const lastSeq = messages[messages.length - 1]?.sequence;

  // Keep the newest message in view unless the reader scrolled up to read history.
  useLayoutEffect(() => {
    const el = listRef.current;
    if (el && stickToBottom.current) el.scrollTop = el.scrollHeight;
  }, [lastSeq, messages.length]);

  const onScroll = () => {
    const el = listRef.current;
    if (!el) return;
    stickToBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 48;
  };

  const sessionRef = useLatest(session);
  const clientRef = useLatest(client);
  const actions = useMemo<MessageActions>(
    () => ({
      reply(m) {
        setReplyTo(m);
        inputRef.current?.focus();
      },
      toggleReaction(m, emoji, mine) {
        const s = sessionRef.current;
        setError(null);
        (mine ? s.removeReaction(m.sequence, emoji) : s.addReaction(m.sequence, emoji)).catch((err: unknown) =>
          setError(describeError(err)),
        );
      },
      remove(m) {
        setError(null);
        sessionRef.current.deleteMessage(m.sequence).catch((err: unknown) => setError(describeError(err)));
      },
      timeout(m) {
        const s = sessionRef.current;
        const userId = m.author?.userId;
        if (!userId) return;
        setError(null);
        clientRef.current
          .request("timeoutUser", { roomId: s.roomId, userId, duration: msToDuration(TIMEOUT_MS) })
          .then(() => setNotice(`${userName(m.author)} is timed out for 10 minutes.`))
          .catch((err: unknown) => setError(describeError(err)));
      },
      ban(m) {
        const s = sessionRef.current;
        const userId = m.author?.userId;
        if (!userId) return;
        setError(null);
        clientRef.current
          .request("banFromChat", { roomId: s.roomId, userId })
          .then(() => setNotice(`${userName(m.author)} is banned from this chat.`))
          .catch((err: unknown) => setError(describeError(err)));
      },
    }),
    [sessionRef, clientRef],
  );

  // Typing is ephemeral: never queue it for a later connection.
  const stopTyping = () => {
    if (lastTypingSent.current === 0) return;
    lastTypingSent.current = 0;
    if (client.state === "open") session.setTyping(false).catch(() => undefined);
  };

  useEffect(() => () => stopTyping(), []); // eslint-disable-line react-hooks/exhaustive-deps

  const onInput = (value: string) => {
    setText(value);
    const now = Date.now();
    if (value.trim() && client.state === "open" && now - lastTypingSent.current > TYPING_REFRESH_MS) {
      lastTypingSent.current = now;
      session.setTyping(true).catch(() => undefined);
    } else if (!value.trim()) {
      stopTyping();
    }
  };

  const send = async () => {
    const body = text.trim();
    if (!body || sending) return;
    setSending(true);
    setError(null);
    setNotice(null);
    stopTyping();
    try {
      // While disconnected the send waits for the reconnect (same client_msg_id, posted once); text typed
      // meanwhile is kept.
      const res = await session.sendMessage(body, replyTo ? { replyTo: replyTo.sequence } : undefined);
      setText((t) => (t.trim() === body ? "" : t));
      setReplyTo(null);
      stickToBottom.current = true;
      if (res.status === SendStatus.HELD_FOR_REVIEW) setNotice("Your message is waiting for a moderator's review.");
    } catch (err) {
      setError(describeError(err));
      // Slow mode and rate limits say when a retry can succeed: hold the Send button until then (not
      // for timeouts, which a moderator may lift early).
      const wait = retryDelayMs(err as { code?: string; message?: string; retryAfterMs?: number });
      if (wait !== undefined) {
        setCoolingDown(true);
        window.setTimeout(() => setCoolingDown(false), wait);
      }
    } finally {
      setSending(false);
      inputRef.current?.focus();
    }
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      void send();
    } else if (e.key === "Escape" && replyTo) {
      setReplyTo(null);
    }
  };

  const typingNames = session.typing.filter((t) => t.user?.userId !== myUserId).map((t) => userName(t.user));
  const maxLength = session.chatSettings?.maxMessageLength || 500;

  return (
    <section aria-labelledby="h-chat" className="chat">
      <div className="chat-head">
        <h2 id="h-chat">Chat</h2>
        {session.chatSettings?.shieldMode && <span className="badge">Shield mode</span>}
        {session.chatSettings?.slowModeInterval && Number(session.chatSettings.slowModeInterval.seconds) > 0 && (
          <span className="badge">Slow mode</span>
        )}
      </div>
      <ol
        ref={listRef}
        className="chat-list"
        data-testid="chat-messages"
        aria-live="polite"
        aria-relevant="additions"
        aria-label="Messages"
        onScroll={onScroll}
        tabIndex={0}
      >
        {messages.length === 0 && <li className="muted small">No messages yet. Say hi!</li>}
        {messages.map((m) => (
          <ChatMessageItem
            key={m.sequence.toString()}
            message={m}
            revision={messageRevision(m)}
            mine={m.author?.userId === myUserId}
            moderator={moderator}
            canWrite={canWrite}
            actions={actions}
          />
        ))}
      </ol>
      <div className="chat-foot">
        <p className="typing" aria-live="polite">
          {typingSentence(typingNames)}
        </p>
        {replyTo && (
          <div className="replying">
            <span>
              Replying to {userName(replyTo.author)}: {excerpt(replyTo.text, 50)}
            </span>
            <button type="button" className="btn btn-ghost btn-small" onClick={() => setReplyTo(null)}>
              Cancel reply
            </button>
          </div>
        )}
        {restricted && (
          <p className="notice">
            {restriction?.kind === RestrictionKind.BAN ? "You are banned from this chat." : "You are timed out."}
            {restrictedUntil !== undefined && ` Until ${new Date(restrictedUntil).toLocaleTimeString()}.`}
          </p>
        )}
        {notice && (
          <p className="notice" role="status">
            {notice}
          </p>
        )}
        {error && (
          <p role="alert" className="alert">
            {error}
          </p>
        )}
        <form
          className="composer"
          onSubmit={(e) => {
            e.preventDefault();
            void send();
          }}
        >
          <label htmlFor="chat-input" className="visually-hidden">
            Message
          </label>
          <textarea
            id="chat-input"
            ref={inputRef}
            rows={1}
            maxLength={maxLength}
            placeholder={canWrite ? "Say something…" : "You cannot chat right now"}
            value={text}
            disabled={!canWrite}
            onChange={(e) => onInput(e.target.value)}
            onKeyDown={onKeyDown}
            onBlur={stopTyping}
          />
          <button type="submit" className="btn btn-primary" disabled={!canWrite || sending || coolingDown || !text.trim()}>
            Send
          </button>
        </form>
      </div>
    </section>
  );
}
