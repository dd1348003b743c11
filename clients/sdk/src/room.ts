/**
 * RoomSession: the client's view of one entered room, kept current from the
 * enter_room reply and the pushed events:
 * - room events in version order (docs/sync.md §2: drop stale versions,
 *   hold a gap for 1 s, then re-snapshot),
 * - chat events in sequence order (docs/protocol.md §9: dedupe, resume_chat
 *   on a gap, at once),
 * - interaction events by id (docs/protocol.md §10),
 * plus thin command wrappers with the room id filled in.
 */
import { clone, create } from "@bufbuild/protobuf";
import type { Duration, Timestamp } from "@bufbuild/protobuf/wkt";
import { Emitter } from "./emitter.js";
import { HearthError } from "./errors.js";
import type { ClientCase, ReplyOf, RequestInit } from "./frames.js";
import type { RequestHooks } from "./client.js";
import {
  ChatMessageSchema,
  MessageState,
  ResumeOutcome,
  type ChatMessage,
  type ChatPosition,
  type ChatRestriction,
  type ChatSettings,
  type ReactionCount,
  type ResumeChatResponse,
  type SendMessageResponse,
} from "./gen/hearth/chat/v1/chat_pb.js";
import type { ChatEvent, LiveReactions } from "./gen/hearth/chat/v1/events_pb.js";
import type { MediaRef, UserRef } from "./gen/hearth/common/v1/common_pb.js";
import type { RoomEntered } from "./gen/hearth/gateway/v1/gateway_pb.js";
import type { InteractionEvent } from "./gen/hearth/polls/v1/events_pb.js";
import {
  QuizState,
  type GetRoomInteractionsResponse,
  type LeaderboardEntry,
  type Poll,
  type PollDraft,
  type Prediction,
  type QnaSettings,
  type Question,
  type Quiz,
} from "./gen/hearth/polls/v1/polls_pb.js";
import type { RoomShareEvent } from "./gen/hearth/recommendations/v1/events_pb.js";
import type { RoomEvent } from "./gen/hearth/rooms/v1/events_pb.js";
import {
  PlaybackStateSchema,
  PresenceCountsSchema,
  RoomRole,
  RoomSchema,
  RoomSnapshotSchema,
  type Member,
  type MemberPlayback,
  type NowNext,
  type PlaybackState,
  type PresenceCounts,
  type QueueItem,
  type Readiness,
  type Room,
  type RoomSnapshot,
} from "./gen/hearth/rooms/v1/rooms_pb.js";
import { GAP_HOLD_MS } from "./sync.js";
import { msToDuration, type Timers } from "./time.js";

/** What a RoomSession needs from its client. */
export interface RoomHost {
  request<K extends ClientCase>(kind: K, payload: RequestInit<K>, hooks?: RequestHooks<ReplyOf<K>>): Promise<ReplyOf<K>>;
  timers: Timers;
  random: () => number;
  userId(): string | undefined;
  isOpen(): boolean;
  whenOpen(): Promise<void>;
  detach(roomId: string, session: RoomSession): void;
  maxMessages: number;
}

export type RoomClosedReason = "exited" | "kicked" | "banned" | "deleted" | "gone" | "client_closed";

/** A user typing in the room, until `expiresAt` (server Unix ms). */
export interface TypingUser {
  user: UserRef;
  expireTime: Timestamp | undefined;
}

export interface RoomSessionEvents {
  /** Anything in the session changed (re-render). */
  change: RoomSession;
  /** The group playback state changed (a new version was applied, or a snapshot replaced it). */
  playback: PlaybackState;
  /** A message entered the window (posted live or recovered by a resume). */
  message: ChatMessage;
  /** A message in the window changed (deleted, purged, reactions). */
  messageUpdated: ChatMessage;
  /** Reaction counts of a message changed. */
  reaction: { sequence: bigint; reactions: ReactionCount[] };
  /** One live-reaction window (taps of every viewer). */
  liveReaction: LiveReactions;
  /** The set of users typing changed. */
  typing: TypingUser[];
  /** An interaction event was applied (polls, quiz, predictions, Q&A). */
  interaction: InteractionEvent;
  /** This user was kicked or banned from the room (the session closes next). */
  kicked: { banned: boolean; by: string };
  /** The session ended; it receives nothing more. */
  closed: { reason: RoomClosedReason; error?: HearthError };
  /** The room was re-entered after a reconnect; the snapshot replaced the old state. */
  resumed: RoomSnapshot;
  /** Every room event of this room, raw (after it was applied). */
  roomEvent: RoomEvent;
  /** Every chat event of this room, raw (after it was applied), moderator-only kinds included. */
  chatEvent: ChatEvent;
  /** Items shared into the room. */
  share: RoomShareEvent;
}

/** Playback commands whose reply carries the resulting PlaybackState. */
const PLAYBACK_REPLIES = new Set<string>(["play", "pause", "seek", "setRate", "changeMedia", "playNext"]);

const ROLE_RANK: Record<number, number> = {
  [RoomRole.UNSPECIFIED]: 0,
  [RoomRole.MEMBER]: 1,
  [RoomRole.MODERATOR]: 2,
  [RoomRole.HOST]: 3,
  [RoomRole.OWNER]: 4,
};

/** Retries of an idempotent send whose outcome is unknown. */
const SEND_RETRIES = 4;

export class RoomSession {
  readonly roomId: string;

  private readonly host: RoomHost;
  private readonly events = new Emitter<RoomSessionEvents>();
  private snap: RoomSnapshot;
  private joinedValue: boolean;
  private closedValue = false;

  // Version gate (sync.md §2).
  private last: bigint;
  private readonly pendingVersions = new Map<bigint, RoomEvent>();
  private knownVersion: bigint;
  private gapTimer: unknown;
  private snapshotRequested = false;
  private snapshotRetryMs = 1000;

  // Chat sequence gate (protocol.md §9).
  private chatSeq: bigint | undefined;
  private chatEpoch = "";
  private readonly heldChat = new Map<bigint, ChatEvent>();
  private chatResuming = false;
  private chatRetryMs = 1000;
  private chatRetryTimer: unknown;
  private messageList: ChatMessage[] = [];
  private chatSettingsValue: ChatSettings | undefined;
  private myRestrictionValue: ChatRestriction | undefined;
  private readonly typingUsers = new Map<string, TypingUser>();

  // Interactions (protocol.md §10).
  private readonly pollMap = new Map<string, Poll>();
  private quizValue: Quiz | undefined;
  private leaderboardValue: LeaderboardEntry[] = [];
  private readonly predictionMap = new Map<string, Prediction>();
  private readonly questionMap = new Map<string, Question>();
  private qnaSettingsValue: QnaSettings | undefined;
  private pointsBalanceValue: bigint = 0n;
  private interactionsReady = false;

  /** @internal created by HearthClient.enterRoom. */
  constructor(roomId: string, entered: RoomEntered, host: RoomHost) {
    this.roomId = roomId;
    this.host = host;
    this.snap = entered.snapshot ? clone(RoomSnapshotSchema, entered.snapshot) : create(RoomSnapshotSchema, {});
    this.joinedValue = entered.joined;
    this.last = this.snap.version;
    this.knownVersion = this.last;
    this.applyEntered(entered, false);
  }

  // ------------------------------------------------------------ accessors

  /** The latest full snapshot (kept current by events). */
  get snapshot(): RoomSnapshot {
    return this.snap;
  }
  get room(): Room {
    return (this.snap.room ??= create(RoomSchema, { roomId: this.roomId }));
  }
  get myRole(): RoomRole {
    return this.snap.myRole;
  }
  get myPlayback(): MemberPlayback | undefined {
    return this.snap.myPlayback;
  }
  /** The group playback state, as in the proto (IDLE-empty when the room has none). */
  get playback(): PlaybackState {
    return (this.snap.playback ??= create(PlaybackStateSchema, {}));
  }
  get queue(): QueueItem[] {
    return this.snap.queue;
  }
  /** The last applied room version. */
  get version(): bigint {
    return this.last;
  }
  get presence(): PresenceCounts {
    return (this.snap.presence ??= create(PresenceCountsSchema, {}));
  }
  /** Online users, strongest role first (capped by the server; see `onlineMembersTruncated`). */
  get onlineMembers(): Member[] {
    return this.snap.onlineMembers;
  }
  get onlineMembersTruncated(): boolean {
    return this.snap.onlineMembersTruncated;
  }
  get nowNext(): NowNext | undefined {
    return this.snap.nowNext;
  }
  /** True when the enter_room that created this session made the user a member. */
  get joined(): boolean {
    return this.joinedValue;
  }
  get closed(): boolean {
    return this.closedValue;
  }
  /** The authenticated user's id (from the client's `connected`). */
  get myUserId(): string | undefined {
    return this.host.userId();
  }
  /** True for MODERATOR, HOST and OWNER. */
  get isModerator(): boolean {
    return (ROLE_RANK[this.snap.myRole] ?? 0) >= ROLE_RANK[RoomRole.MODERATOR]!;
  }

  /** Chat messages ordered by sequence (a window of the newest, tombstones and HIDDEN placeholders included). */
  get messages(): readonly ChatMessage[] {
    return this.messageList;
  }
  /** The last chat position applied, to resume from. */
  get chatPosition(): ChatPosition | undefined {
    return this.chatPositionForResume();
  }
  get chatSettings(): ChatSettings | undefined {
    return this.chatSettingsValue;
  }
  /** This user's timeout or chat ban, if any (from the last resume). */
  get myRestriction(): ChatRestriction | undefined {
    return this.myRestrictionValue;
  }
  /** Users typing now (expired indicators are pruned on each change). */
  get typing(): TypingUser[] {
    return [...this.typingUsers.values()];
  }

  /** Open polls and those closed recently, by id. */
  get polls(): Poll[] {
    return [...this.pollMap.values()];
  }
  get quiz(): Quiz | undefined {
    return this.quizValue;
  }
  /** The running quiz's leaderboard (top entries), from quiz events. */
  get leaderboard(): LeaderboardEntry[] {
    return this.leaderboardValue;
  }
  get predictions(): Prediction[] {
    return [...this.predictionMap.values()];
  }
  /** Q&A questions known to this session (managers also see pending ones). */
  get questions(): Question[] {
    return [...this.questionMap.values()];
  }
  get highlightedQuestion(): Question | undefined {
    for (const q of this.questionMap.values()) if (q.highlighted) return q;
    return undefined;
  }
  get qnaSettings(): QnaSettings | undefined {
    return this.qnaSettingsValue;
  }
  get pointsBalance(): bigint {
    return this.pointsBalanceValue;
  }
  /** False when the polls role did not answer (then `refreshInteractions()`). */
  get interactionsLoaded(): boolean {
    return this.interactionsReady;
  }

  on<E extends keyof RoomSessionEvents>(event: E, cb: (e: RoomSessionEvents[E]) => void): () => void {
    return this.events.on(event, cb);
  }

  // ------------------------------------------------------ enter / resume

  /** @internal The enter_room reply (first or after a reconnect). */
  applyEntered(entered: RoomEntered, resumed: boolean): void {
    if (entered.snapshot) this.replaceSnapshot(entered.snapshot, true);
    if (entered.chat) {
      this.applyResume(entered.chat);
    } else {
      // The chat service did not answer: every chat event of the room is
      // delivered; catch up with resume_chat (protocol.md §9).
      this.startChatResume();
    }
    if (entered.interactions) this.replaceInteractions(entered.interactions);
    else if (!resumed || !this.interactionsLoaded) void this.refreshInteractions().catch(() => undefined);
    if (resumed && entered.snapshot) this.events.emit("resumed", this.snap);
    this.emitChange();
  }

  /** @internal The position to resume chat from, once known. */
  chatPositionForResume(): ChatPosition | undefined {
    if (this.chatSeq === undefined) return undefined;
    return { $typeName: "hearth.chat.v1.ChatPosition", sequence: this.chatSeq, epoch: this.chatEpoch };
  }

  /** Re-reads polls, quiz, predictions and Q&A (when the enter reply lacked them). */
  async refreshInteractions(): Promise<void> {
    const r = await this.host.request("getRoomInteractions", { roomId: this.roomId });
    if (this.closedValue) return;
    this.replaceInteractions(r);
    this.emitChange();
  }

  /** @internal Closes the session locally; the client no longer routes events here. */
  markClosed(reason: RoomClosedReason, error?: HearthError): void {
    if (this.closedValue) return;
    this.closedValue = true;
    this.host.timers.clearTimeout(this.gapTimer);
    this.host.timers.clearTimeout(this.chatRetryTimer);
    this.host.detach(this.roomId, this);
    const ev: { reason: RoomClosedReason; error?: HearthError } = { reason };
    if (error) ev.error = error;
    this.events.emit("closed", ev);
  }

  // --------------------------------------------------------- room events

  /** @internal */
  handleRoomEvent(ev: RoomEvent): void {
    if (this.closedValue) return;
    if (ev.version === 0n) {
      this.applyRoomEvent(ev);
      this.events.emit("roomEvent", ev);
      this.emitChange();
      return;
    }
    this.offerVersioned(ev);
  }

  /** sync.md §2 "on versioned update u". */
  private offerVersioned(ev: RoomEvent): void {
    if (ev.version <= this.last) return;
    this.pendingVersions.set(ev.version, ev);
    if (ev.version > this.knownVersion) this.knownVersion = ev.version;
    this.drain();
  }

  private drain(): void {
    let applied = false;
    for (;;) {
      const next = this.pendingVersions.get(this.last + 1n);
      if (!next) break;
      this.pendingVersions.delete(this.last + 1n);
      this.last = this.last + 1n;
      this.applyRoomEvent(next);
      applied = true;
      this.events.emit("roomEvent", next);
      if (this.closedValue) return;
    }
    for (const v of this.pendingVersions.keys()) if (v <= this.last) this.pendingVersions.delete(v);
    if (this.knownVersion < this.last) this.knownVersion = this.last;
    const gap = this.pendingVersions.size > 0 || this.knownVersion > this.last;
    if (!gap) {
      this.host.timers.clearTimeout(this.gapTimer);
      this.gapTimer = undefined;
    } else if (this.gapTimer === undefined && !this.snapshotRequested) {
      this.gapTimer = this.host.timers.setTimeout(() => {
        this.gapTimer = undefined;
        this.requestSnapshot();
      }, GAP_HOLD_MS);
    }
    if (applied) this.emitChange();
  }

  private requestSnapshot(): void {
    if (this.closedValue || this.snapshotRequested) return;
    this.snapshotRequested = true;
    this.host
      .request("getRoomSnapshot", { roomId: this.roomId }, {
        // The reply itself is applied by observeReply, as for app requests.
        onReply: () => {
          this.snapshotRequested = false;
          this.snapshotRetryMs = 1000;
        },
      })
      .catch((err: HearthError) => {
        this.snapshotRequested = false;
        if (this.closedValue) return;
        if (err.code === "not_found" || err.code === "permission_denied") {
          this.markClosed("gone", err);
          return;
        }
        // Transient: retry with backoff (a reconnect replaces the snapshot anyway).
        const delay = this.snapshotRetryMs;
        this.snapshotRetryMs = Math.min(30_000, this.snapshotRetryMs * 2);
        if (this.gapTimer === undefined) {
          this.gapTimer = this.host.timers.setTimeout(() => {
            this.gapTimer = undefined;
            this.requestSnapshot();
          }, delay);
        }
      });
  }

  /** sync.md §2 "on get_room_snapshot reply s". */
  private applySnapshotReply(s: RoomSnapshot): void {
    this.host.timers.clearTimeout(this.gapTimer);
    this.gapTimer = undefined;
    if (s.version >= this.last) this.replaceSnapshot(s, false);
    this.drain();
    this.emitChange();
  }

  private replaceSnapshot(s: RoomSnapshot, fromEnter: boolean): void {
    const before = this.snap.playback;
    this.snap = clone(RoomSnapshotSchema, s);
    this.last = s.version;
    if (fromEnter) {
      // A new connection starts the gate over from this version (sync.md §8).
      this.pendingVersions.clear();
      this.knownVersion = this.last;
      this.host.timers.clearTimeout(this.gapTimer);
      this.gapTimer = undefined;
    }
    if (!before || !this.snap.playback || before.version !== this.snap.playback.version) {
      this.events.emit("playback", this.playback);
    }
  }

  /** @internal Versioned command replies go through the gate, so whichever of reply and event comes second is a no-op. */
  observeReply(kind: ClientCase, value: unknown): void {
    if (this.closedValue) return;
    if (PLAYBACK_REPLIES.has(kind)) {
      const playback = (value as { playback?: PlaybackState }).playback;
      if (playback && playback.version > 0n) {
        this.offerVersioned(syntheticEvent(this.roomId, playback.version, { case: "playbackStateChanged", value: { $typeName: "hearth.rooms.v1.PlaybackStateChanged", playback } }));
      }
    } else if (kind === "updateQueue") {
      const r = value as ReplyOf<"updateQueue">;
      if (r.version > 0n) {
        this.offerVersioned(syntheticEvent(this.roomId, r.version, { case: "queueChanged", value: { $typeName: "hearth.rooms.v1.QueueChanged", queue: r.queue, changedBy: this.host.userId() ?? "" } }));
      }
    } else if (kind === "reportReadiness") {
      // A newer current version means we are behind: start the gap timer
      // as if that version were pending (sync.md §2).
      const r = value as ReplyOf<"reportReadiness">;
      if (r.version > this.knownVersion) {
        this.knownVersion = r.version;
        this.drain();
      }
    } else if (kind === "getRoomSnapshot") {
      const r = value as ReplyOf<"getRoomSnapshot">;
      if (r.snapshot) this.applySnapshotReply(r.snapshot);
    } else if (kind === "setHoldGroup") {
      const r = value as ReplyOf<"setHoldGroup">;
      if (r.playback) {
        this.snap.myPlayback = r.playback;
        this.emitChange();
      }
    }
  }

  private applyRoomEvent(ev: RoomEvent): void {
    const me = this.host.userId();
    const k = ev.kind;
    switch (k.case) {
      case "roomUpdated":
        if (k.value.room) this.snap.room = k.value.room;
        break;
      case "roomDeleted":
        this.markClosed("deleted");
        break;
      case "memberJoined": {
        const m = k.value.member;
        if (m) {
          this.upsertMember(m, false);
          this.room.memberCount = this.room.memberCount + 1n;
        }
        break;
      }
      case "memberLeft": {
        const m = this.findMember(k.value.userId);
        if (m) m.role = RoomRole.UNSPECIFIED;
        if (this.room.memberCount > 0n) this.room.memberCount = this.room.memberCount - 1n;
        if (k.value.userId === me) this.snap.myRole = RoomRole.UNSPECIFIED;
        break;
      }
      case "memberRoleChanged": {
        const m = k.value.member;
        if (m) {
          this.upsertMember(m, false);
          if (m.user?.userId === me) this.snap.myRole = m.role;
        }
        break;
      }
      case "memberKicked":
      case "memberBanned": {
        const userId = k.value.user?.userId ?? "";
        this.removeMember(userId);
        if (userId !== "" && userId === me) {
          const banned = k.case === "memberBanned";
          this.events.emit("kicked", { banned, by: k.case === "memberBanned" ? k.value.bannedBy : k.value.kickedBy });
          this.markClosed(banned ? "banned" : "kicked");
        }
        break;
      }
      case "ownershipTransferred": {
        const newOwner = k.value.newOwner?.userId ?? "";
        this.room.ownerId = newOwner;
        const prev = this.findMember(k.value.previousOwnerId);
        if (prev) prev.role = RoomRole.HOST;
        const next = this.findMember(newOwner);
        if (next) next.role = RoomRole.OWNER;
        if (newOwner === me) this.snap.myRole = RoomRole.OWNER;
        else if (k.value.previousOwnerId === me) this.snap.myRole = RoomRole.HOST;
        break;
      }
      case "nowNextChanged":
        this.snap.nowNext = k.value.nowNext;
        break;
      case "presenceChanged": {
        const m = k.value.member;
        if (!m) break;
        if (m.online) this.upsertMember(m, true);
        else this.removeMember(m.user?.userId ?? "");
        break;
      }
      case "presenceCountsChanged":
        if (k.value.counts) {
          this.snap.presence = k.value.counts;
          this.room.onlineCount = k.value.counts.onlineUsers;
        }
        break;
      case "playbackStateChanged":
        if (k.value.playback) {
          this.snap.playback = k.value.playback;
          this.events.emit("playback", k.value.playback);
        }
        break;
      case "queueChanged":
        this.snap.queue = k.value.queue;
        break;
      case "readinessChanged": {
        const m = this.findMember(k.value.userId);
        if (m && k.value.playback) m.playback = k.value.playback;
        if (k.value.userId === me && k.value.playback) this.snap.myPlayback = k.value.playback;
        break;
      }
      default:
        // Moderator-only invite/unban events, and kinds newer than this SDK:
        // nothing to keep (a versioned one still advanced the gate).
        break;
    }
  }

  private findMember(userId: string): Member | undefined {
    return this.snap.onlineMembers.find((m) => m.user?.userId === userId);
  }

  private upsertMember(m: Member, addIfMissing: boolean): void {
    const list = this.snap.onlineMembers;
    const i = list.findIndex((x) => x.user?.userId === m.user?.userId);
    if (i >= 0) list[i] = m;
    else if (addIfMissing) list.push(m);
    else return;
    // Strongest role first, as the snapshot orders them.
    list.sort((a, b) => (ROLE_RANK[b.role] ?? 0) - (ROLE_RANK[a.role] ?? 0));
  }

  private removeMember(userId: string): void {
    const list = this.snap.onlineMembers;
    const i = list.findIndex((x) => x.user?.userId === userId);
    if (i >= 0) list.splice(i, 1);
  }

  // --------------------------------------------------------- chat events

  /** @internal */
  handleChatEvent(ev: ChatEvent): void {
    if (this.closedValue) return;
    if (ev.sequence === 0n) {
      this.applyUnsequenced(ev);
      this.events.emit("chatEvent", ev);
      return;
    }
    if (this.chatSeq === undefined || this.chatResuming) {
      this.heldChat.set(ev.sequence, ev);
      if (!this.chatResuming) this.startChatResume();
      return;
    }
    if (ev.sequence <= this.chatSeq) return;
    this.heldChat.set(ev.sequence, ev);
    this.drainChat();
  }

  private drainChat(): void {
    if (this.chatSeq === undefined) return;
    let changed = false;
    for (;;) {
      const next = this.heldChat.get(this.chatSeq + 1n);
      if (!next) break;
      this.heldChat.delete(next.sequence);
      this.chatSeq = next.sequence;
      this.applySequenced(next);
      this.events.emit("chatEvent", next);
      changed = true;
    }
    for (const s of this.heldChat.keys()) if (s <= this.chatSeq) this.heldChat.delete(s);
    if (changed) this.emitChange();
    // The gateway already waited 1 s for a missing sequence: a gap that
    // reaches us is one it gave up on, so resume at once (protocol.md §9).
    if (this.heldChat.size > 0) this.startChatResume();
  }

  private startChatResume(): void {
    if (this.chatResuming || this.closedValue) return;
    this.chatResuming = true;
    const payload: RequestInit<"resumeChat"> = { roomId: this.roomId };
    const since = this.chatPositionForResume();
    if (since) payload.since = since;
    this.host
      .request("resumeChat", payload, {
        onReply: (r) => {
          this.chatResuming = false;
          this.chatRetryMs = 1000;
          this.applyResume(r);
          this.emitChange();
        },
      })
      .catch((err: HearthError) => {
        this.chatResuming = false;
        if (this.closedValue || err.code === "disconnected" || err.code === "closed" || err.code === "not_connected") {
          // A reconnect re-enters the room with our position.
          return;
        }
        if (err.code === "permission_denied" || err.code === "not_found") return;
        const delay = err.retryAfterMs ?? this.chatRetryMs;
        this.chatRetryMs = Math.min(30_000, this.chatRetryMs * 2);
        this.host.timers.clearTimeout(this.chatRetryTimer);
        this.chatRetryTimer = this.host.timers.setTimeout(() => {
          if (!this.closedValue && this.host.isOpen()) this.startChatResume();
        }, delay);
      });
  }

  /** protocol.md §9 "Entering a room: chat": RECOVERED, LATEST, TOO_FAR_BEHIND. */
  private applyResume(r: ResumeChatResponse): void {
    if (r.settings) this.chatSettingsValue = r.settings;
    this.myRestrictionValue = r.myRestriction;
    const position = r.position;
    if (r.outcome === ResumeOutcome.TOO_FAR_BEHIND) {
      // What we hold may be stale: reload the latest history.
      this.messageList = [];
      if (position) this.setChatPosition(position);
      void this.reloadHistory();
    } else {
      for (const m of r.messages) this.upsertMessage(m);
      for (const seq of r.deletedSequences) this.tombstone(seq, undefined);
      if (position && (this.chatSeq === undefined || position.sequence >= this.chatSeq || position.epoch !== this.chatEpoch)) {
        this.setChatPosition(position);
      }
    }
    this.drainChat();
  }

  private setChatPosition(p: ChatPosition): void {
    this.chatSeq = p.sequence;
    this.chatEpoch = p.epoch;
  }

  private async reloadHistory(): Promise<void> {
    try {
      const r = await this.host.request("listMessages", { roomId: this.roomId });
      if (this.closedValue) return;
      // Live events applied meanwhile are newer than the page: they win.
      for (const m of r.messages) {
        if (!this.messageList.some((x) => x.sequence === m.sequence)) this.upsertMessage(m);
      }
      this.emitChange();
    } catch {
      // History is best effort; the live stream continues regardless.
    }
  }

  private applySequenced(ev: ChatEvent): void {
    const k = ev.kind;
    switch (k.case) {
      case "messagePosted":
        if (k.value.message) this.upsertMessage(k.value.message);
        break;
      case "messageDeleted":
        this.tombstone(k.value.targetSequence, k.value.byModerator);
        break;
      case "messagesPurged":
        for (const s of k.value.targetSequences) this.tombstone(s, true);
        break;
      case "messageHidden":
        this.upsertMessage(
          create(ChatMessageSchema, {
            roomId: ev.roomId,
            sequence: ev.sequence,
            state: MessageState.HIDDEN,
            createTime: ev.time,
          }),
        );
        break;
      default:
        // A sequenced kind newer than this SDK: the position still advanced.
        break;
    }
  }

  private applyUnsequenced(ev: ChatEvent): void {
    const k = ev.kind;
    switch (k.case) {
      case "reactionsUpdated": {
        const m = this.findMessage(k.value.targetSequence);
        // `me` is always false in events: keep our own flags (protocol.md §9).
        const mine = new Set((m?.reactions ?? []).filter((r) => r.me).map((r) => r.emoji));
        const reactions = k.value.reactions.map((r) => (mine.has(r.emoji) ? { ...r, me: true } : r));
        if (m) {
          m.reactions = reactions;
          this.events.emit("messageUpdated", m);
        }
        this.events.emit("reaction", { sequence: k.value.targetSequence, reactions });
        this.emitChange();
        break;
      }
      case "liveReactions":
        this.events.emit("liveReaction", k.value);
        break;
      case "typingUpdated": {
        const user = k.value.user;
        if (!user) break;
        if (k.value.typing) this.typingUsers.set(user.userId, { user, expireTime: k.value.expireTime });
        else this.typingUsers.delete(user.userId);
        this.pruneTyping(ev.time);
        this.events.emit("typing", this.typing);
        break;
      }
      case "settingsChanged":
        if (k.value.settings) this.chatSettingsValue = k.value.settings;
        this.emitChange();
        break;
      default:
        break;
    }
  }

  private pruneTyping(now: Timestamp | undefined): void {
    if (!now) return;
    for (const [id, t] of this.typingUsers) {
      const exp = t.expireTime;
      if (exp && (exp.seconds < now.seconds || (exp.seconds === now.seconds && exp.nanos <= now.nanos))) this.typingUsers.delete(id);
    }
  }

  private findMessage(sequence: bigint): ChatMessage | undefined {
    const i = this.indexOf(sequence);
    return i >= 0 ? this.messageList[i] : undefined;
  }

  /** Binary search by sequence: index if present, else −(insertion point) − 1. */
  private indexOf(sequence: bigint): number {
    let lo = 0;
    let hi = this.messageList.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = this.messageList[mid]!.sequence;
      if (s === sequence) return mid;
      if (s < sequence) lo = mid + 1;
      else hi = mid - 1;
    }
    return -lo - 1;
  }

  private upsertMessage(m: ChatMessage): void {
    if (m.sequence === 0n) return;
    const i = this.indexOf(m.sequence);
    if (i >= 0) {
      this.messageList[i] = m;
      this.events.emit("messageUpdated", m);
      return;
    }
    const at = -i - 1;
    this.messageList.splice(at, 0, m);
    const cap = this.host.maxMessages;
    if (this.messageList.length > cap) this.messageList.splice(0, this.messageList.length - cap);
    if (this.indexOf(m.sequence) >= 0) this.events.emit("message", m);
  }

  private tombstone(sequence: bigint, byModerator: boolean | undefined): void {
    const m = this.findMessage(sequence);
    if (!m || m.state === MessageState.DELETED) return;
    m.state = MessageState.DELETED;
    m.text = "";
    m.mentions = [];
    m.reactions = [];
    if (byModerator !== undefined) m.deletedByModerator = byModerator;
    this.events.emit("messageUpdated", m);
  }

  // --------------------------------------------------- interaction events

  private replaceInteractions(r: GetRoomInteractionsResponse): void {
    this.interactionsReady = true;
    this.pollMap.clear();
    for (const p of r.polls) this.pollMap.set(p.pollId, p);
    this.quizValue = r.quiz;
    this.predictionMap.clear();
    for (const p of r.predictions) this.predictionMap.set(p.predictionId, p);
    this.questionMap.clear();
    for (const q of r.topQuestions) this.questionMap.set(q.questionId, q);
    if (r.highlightedQuestion) this.questionMap.set(r.highlightedQuestion.questionId, r.highlightedQuestion);
    this.qnaSettingsValue = r.qnaSettings;
    this.pointsBalanceValue = r.pointsBalance;
  }

  /** @internal */
  handleInteractionEvent(ev: InteractionEvent): void {
    if (this.closedValue) return;
    const k = ev.kind;
    switch (k.case) {
      case "pollOpened":
      case "pollClosed":
        if (k.value.poll) this.pollMap.set(k.value.poll.pollId, k.value.poll);
        break;
      case "pollTally": {
        const p = this.pollMap.get(k.value.pollId);
        const next = k.value.results;
        // Keep the highest revision; finalized results are never replaced by live ones.
        if (p && next && !(p.results?.finalized ?? false) && (!p.results || next.revision >= p.results.revision)) {
          p.results = next;
        }
        break;
      }
      case "pollArchived":
        this.pollMap.delete(k.value.pollId);
        break;
      case "quizQuestionRevealed":
      case "quizQuestionClosed": {
        const q = k.value.question;
        if (!q) break;
        let quiz = this.quizValue;
        if (!quiz || quiz.quizId !== k.value.quizId) {
          quiz = this.quizValue = {
            $typeName: "hearth.polls.v1.Quiz",
            quizId: k.value.quizId,
            roomId: this.roomId,
            title: k.case === "quizQuestionRevealed" ? k.value.quizTitle : "",
            questions: [],
            questionCount: k.case === "quizQuestionRevealed" ? k.value.questionCount : 0,
            state: QuizState.RUNNING,
            createdBy: "",
          };
          this.leaderboardValue = [];
        }
        const i = quiz.questions.findIndex((x) => x.questionId === q.questionId);
        if (i >= 0) quiz.questions[i] = q;
        else quiz.questions.push(q);
        quiz.questions.sort((a, b) => a.index - b.index);
        if (k.case === "quizQuestionRevealed") {
          quiz.currentIndex = q.index;
          quiz.state = QuizState.RUNNING;
          if (k.value.questionCount > 0) quiz.questionCount = k.value.questionCount;
        }
        break;
      }
      case "quizLeaderboardUpdated":
        if (!this.quizValue || this.quizValue.quizId === k.value.quizId) this.leaderboardValue = k.value.top;
        break;
      case "quizEnded":
        if (k.value.quiz) this.quizValue = k.value.quiz;
        this.leaderboardValue = k.value.top;
        break;
      case "predictionStarted":
      case "predictionLocked":
      case "predictionResolved":
      case "predictionCanceled":
        if (k.value.prediction) this.predictionMap.set(k.value.prediction.predictionId, k.value.prediction);
        break;
      case "predictionUpdated": {
        const p = this.predictionMap.get(k.value.predictionId);
        if (p) {
          p.outcomes = k.value.outcomes;
          p.totalPoints = k.value.totalPoints;
        }
        break;
      }
      case "questionPublished":
      case "questionUpdated":
      case "questionSubmitted": {
        const q = k.value.question;
        if (!q) break;
        if (q.highlighted) for (const other of this.questionMap.values()) if (other.questionId !== q.questionId) other.highlighted = false;
        this.questionMap.set(q.questionId, q);
        break;
      }
      case "questionVotesUpdated": {
        const q = this.questionMap.get(k.value.questionId);
        if (q) q.upvotes = k.value.upvotes;
        break;
      }
      case "questionRemoved":
        this.questionMap.delete(k.value.questionId);
        break;
      case "qnaSettingsChanged":
        this.qnaSettingsValue = k.value.settings;
        break;
      default:
        break;
    }
    this.events.emit("interaction", ev);
    this.emitChange();
  }

  /** @internal */
  handleShareEvent(ev: RoomShareEvent): void {
    if (!this.closedValue) this.events.emit("share", ev);
  }

  private emitChange(): void {
    if (!this.closedValue) this.events.emit("change", this);
  }

  // ------------------------------------------------------------ commands

  private playbackBase(opts: { expectedVersion?: boolean } | undefined): { roomId: string; expectedVersion?: bigint } {
    // sync.md §4: send the last applied version with user-initiated commands.
    return opts?.expectedVersion === false ? { roomId: this.roomId } : { roomId: this.roomId, expectedVersion: this.last };
  }

  /** Group play (a scheduled start follows; do not start the local player now, sync.md §4). */
  play(opts?: { positionMs?: number; expectedVersion?: boolean }): Promise<ReplyOf<"play">> {
    const p: RequestInit<"play"> = this.playbackBase(opts);
    if (opts?.positionMs !== undefined) p.position = msToDuration(opts.positionMs);
    return this.host.request("play", p);
  }

  /** Group pause, at the sender's player position when given (the frame the user saw). */
  pause(opts?: { positionMs?: number; expectedVersion?: boolean }): Promise<ReplyOf<"pause">> {
    const p: RequestInit<"pause"> = this.playbackBase(opts);
    if (opts?.positionMs !== undefined) p.position = msToDuration(opts.positionMs);
    return this.host.request("pause", p);
  }

  /** Group seek; the group waits (up to the ready timeout) for members to buffer. */
  seek(position: number | Duration, opts?: { expectedVersion?: boolean }): Promise<ReplyOf<"seek">> {
    return this.host.request("seek", { ...this.playbackBase(opts), position: toDuration(position) });
  }

  setRate(rate: number, opts?: { expectedVersion?: boolean }): Promise<ReplyOf<"setRate">> {
    return this.host.request("setRate", { ...this.playbackBase(opts), rate });
  }

  /** "Zap together" to other media (VOD position in ms, default 0). */
  changeMedia(
    media: MediaRef | RequestInit<"changeMedia">["media"],
    opts?: { positionMs?: number; autoplay?: boolean; expectedVersion?: boolean },
  ): Promise<ReplyOf<"changeMedia">> {
    const p: RequestInit<"changeMedia"> = { ...this.playbackBase(opts), media, autoplay: opts?.autoplay ?? false };
    if (opts?.positionMs !== undefined) p.position = msToDuration(opts.positionMs);
    return this.host.request("changeMedia", p);
  }

  playNext(opts?: { expectedVersion?: boolean }): Promise<ReplyOf<"playNext">> {
    return this.host.request("playNext", this.playbackBase(opts));
  }

  updateQueue(operation: NonNullable<RequestInit<"updateQueue">["operation"]>, opts?: { expectedVersion?: boolean }): Promise<ReplyOf<"updateQueue">> {
    return this.host.request("updateQueue", { ...this.playbackBase(opts), operation });
  }

  /** Reports this player's readiness for a playback version (default: the current one), sync.md §6. */
  reportReadiness(readiness: Readiness, opts?: { playbackVersion?: bigint; positionMs?: number }): Promise<ReplyOf<"reportReadiness">> {
    const p: RequestInit<"reportReadiness"> = {
      roomId: this.roomId,
      playbackVersion: opts?.playbackVersion ?? this.playback.version,
      readiness,
    };
    if (opts?.positionMs !== undefined && Number.isFinite(opts.positionMs)) p.position = msToDuration(Math.max(0, opts.positionMs));
    return this.host.request("reportReadiness", p);
  }

  /** Opts in or out of holding the group (false: the group never waits for this user). */
  setHoldGroup(holdGroup: boolean): Promise<ReplyOf<"setHoldGroup">> {
    return this.host.request("setHoldGroup", { roomId: this.roomId, holdGroup });
  }

  /**
   * Sends a chat message. A client_msg_id is generated once and reused for
   * retries, so a send whose outcome is unknown (timeout, disconnect) is
   * resent after the reconnect and never posts twice (the reply then has
   * `duplicate: true`). Refusals (slow mode, timeouts…) are thrown as
   * HearthError with `retryAfterMs`.
   */
  async sendMessage(text: string, opts?: { replyTo?: bigint; clientMsgId?: string }): Promise<SendMessageResponse> {
    const payload: RequestInit<"sendMessage"> = {
      roomId: this.roomId,
      clientMsgId: opts?.clientMsgId ?? newClientMsgId(this.host.random),
      text,
    };
    if (opts?.replyTo !== undefined) payload.replyToSequence = opts.replyTo;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.host.request("sendMessage", payload);
      } catch (err) {
        if (!(err instanceof HearthError) || !err.outcomeUnknown || attempt >= SEND_RETRIES || this.closedValue) throw err;
        await this.host.whenOpen();
      }
    }
  }

  deleteMessage(sequence: bigint, reason?: string): Promise<ReplyOf<"deleteMessage">> {
    const p: RequestInit<"deleteMessage"> = { roomId: this.roomId, sequence };
    if (reason) p.reason = reason;
    return this.host.request("deleteMessage", p);
  }

  /** Adds a reaction; the reply's counts (with `me`) are applied to the message. */
  async addReaction(sequence: bigint, emoji: string): Promise<ReplyOf<"addReaction">> {
    const r = await this.host.request("addReaction", { roomId: this.roomId, sequence, emoji });
    this.applyOwnReactions(sequence, r.reactions);
    return r;
  }

  async removeReaction(sequence: bigint, emoji: string): Promise<ReplyOf<"removeReaction">> {
    const r = await this.host.request("removeReaction", { roomId: this.roomId, sequence, emoji });
    this.applyOwnReactions(sequence, r.reactions);
    return r;
  }

  private applyOwnReactions(sequence: bigint, reactions: ReactionCount[]): void {
    const m = this.findMessage(sequence);
    if (!m) return;
    m.reactions = reactions;
    this.events.emit("messageUpdated", m);
    this.events.emit("reaction", { sequence, reactions });
    this.emitChange();
  }

  /** A live-reaction tap (one of the room's liveReactionEmojis). */
  sendLiveReaction(emoji: string): Promise<ReplyOf<"sendLiveReaction">> {
    return this.host.request("sendLiveReaction", { roomId: this.roomId, emoji });
  }

  /** Typing indicator: send true every 3 s while typing, false when stopping. */
  setTyping(typing: boolean): Promise<ReplyOf<"setTyping">> {
    return this.host.request("setTyping", { roomId: this.roomId, typing });
  }

  /** Creates a poll (managers); `openNow` opens it at once. */
  createPoll(poll: RequestInit<"createPoll">["poll"] | PollDraft, opts?: { openNow?: boolean; requestId?: string }): Promise<ReplyOf<"createPoll">> {
    return this.host.request("createPoll", {
      roomId: this.roomId,
      poll,
      openNow: opts?.openNow ?? true,
      requestId: opts?.requestId ?? newClientMsgId(this.host.random),
    });
  }

  openPoll(pollId: string): Promise<ReplyOf<"openPoll">> {
    return this.host.request("openPoll", { pollId });
  }

  closePoll(pollId: string): Promise<ReplyOf<"closePoll">> {
    return this.host.request("closePoll", { pollId });
  }

  /** Votes; the reply's choice is recorded as `myOptionIds` of the poll. */
  async castVote(pollId: string, optionIds: string[]): Promise<ReplyOf<"castVote">> {
    const r = await this.host.request("castVote", { pollId, optionIds });
    const poll = this.pollMap.get(pollId);
    if (poll) {
      poll.myOptionIds = r.optionIds;
      this.emitChange();
    }
    return r;
  }

  createQuiz(payload: Omit<RequestInit<"createQuiz">, "roomId">): Promise<ReplyOf<"createQuiz">> {
    return this.host.request("createQuiz", { ...payload, roomId: this.roomId } as RequestInit<"createQuiz">);
  }

  revealNextQuestion(quizId: string, expectedIndex?: number): Promise<ReplyOf<"revealNextQuestion">> {
    const p: RequestInit<"revealNextQuestion"> = { quizId };
    if (expectedIndex !== undefined) p.expectedIndex = expectedIndex;
    return this.host.request("revealNextQuestion", p);
  }

  submitQuizAnswer(quizId: string, questionId: string, optionIds: string[]): Promise<ReplyOf<"submitQuizAnswer">> {
    return this.host.request("submitQuizAnswer", { quizId, questionId, optionIds });
  }

  endQuiz(quizId: string): Promise<ReplyOf<"endQuiz">> {
    return this.host.request("endQuiz", { quizId });
  }

  createPrediction(payload: Omit<RequestInit<"createPrediction">, "roomId">): Promise<ReplyOf<"createPrediction">> {
    return this.host.request("createPrediction", { ...payload, roomId: this.roomId } as RequestInit<"createPrediction">);
  }

  /** Stakes points; the request id makes a resend safe (never debits twice). */
  async placePrediction(predictionId: string, outcomeId: string, points: bigint | number, requestId?: string): Promise<ReplyOf<"placePrediction">> {
    const payload: RequestInit<"placePrediction"> = {
      predictionId,
      outcomeId,
      points: BigInt(points),
      requestId: requestId ?? newClientMsgId(this.host.random),
    };
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.host.request("placePrediction", payload);
      } catch (err) {
        if (!(err instanceof HearthError) || !err.outcomeUnknown || attempt >= SEND_RETRIES || this.closedValue) throw err;
        await this.host.whenOpen();
      }
    }
  }

  askQuestion(text: string, requestId?: string): Promise<ReplyOf<"askQuestion">> {
    return this.host.request("askQuestion", { roomId: this.roomId, text, requestId: requestId ?? newClientMsgId(this.host.random) });
  }

  upvoteQuestion(questionId: string, upvote = true): Promise<ReplyOf<"upvoteQuestion">> {
    return this.host.request("upvoteQuestion", { questionId, upvote });
  }

  /** Ends membership (distinct from exiting the room on this connection). */
  leave(): Promise<ReplyOf<"leaveRoom">> {
    return this.host.request("leaveRoom", { roomId: this.roomId });
  }
}

function syntheticEvent(roomId: string, version: bigint, kind: RoomEvent["kind"]): RoomEvent {
  return { $typeName: "hearth.rooms.v1.RoomEvent", roomId, version, kind };
}

function toDuration(position: number | Duration): Duration {
  return typeof position === "number" ? msToDuration(position) : position;
}

const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";

/** A random id of 22 characters of [A-Za-z0-9_-] (~132 bits), as client_msg_id and request_id accept. */
export function newClientMsgId(random: () => number = Math.random): string {
  const cryptoObj = (globalThis as { crypto?: { getRandomValues?: (a: Uint8Array) => Uint8Array } }).crypto;
  const bytes = new Uint8Array(22);
  if (cryptoObj?.getRandomValues) cryptoObj.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
  let out = "";
  for (const b of bytes) out += ID_ALPHABET[b & 63];
  return out;
}
