/**
 * @hearth/sdk: a typed client for Hearth (docs/sdk.md).
 *
 * - HearthAuth: the HTTP auth API (register, login, refresh, logout).
 * - HearthClient: the WebSocket protocol (typed requests and events,
 *   reconnects, clock sync) and rooms that survive reconnects.
 * - RoomSession: one room's state, kept current, with command wrappers.
 * - MediaSync: keeps a media element on the group's playback state.
 */
export { create, clone, equals, toJson, fromJson, toBinary, fromBinary, isMessage } from "@bufbuild/protobuf";
export type { MessageInitShape, MessageShape, JsonValue } from "@bufbuild/protobuf";
export { timestampDate, timestampFromDate, timestampFromMs, timestampMs, durationFromMs, durationMs } from "@bufbuild/protobuf/wkt";
export type { Duration, Timestamp } from "@bufbuild/protobuf/wkt";

export * as proto from "./proto.js";
export type { ChatMessage, ChatPosition, ChatSettings, ReactionCount, SendMessageResponse } from "./gen/hearth/chat/v1/chat_pb.js";
export { MessageState, ResumeOutcome, SendStatus } from "./gen/hearth/chat/v1/chat_pb.js";
export type { ChatEvent, LiveReactions } from "./gen/hearth/chat/v1/events_pb.js";
export type { MediaRef, UserRef } from "./gen/hearth/common/v1/common_pb.js";
export type { UserEvent } from "./gen/hearth/events/v1/envelope_pb.js";
export type { ClientFrame, Connected, GoAway, RoomEntered, ServerFrame } from "./gen/hearth/gateway/v1/gateway_pb.js";
export { ClientFrameSchema, ServerFrameSchema } from "./gen/hearth/gateway/v1/gateway_pb.js";
export type { InteractionEvent } from "./gen/hearth/polls/v1/events_pb.js";
export type { Poll, PollDraft, Prediction, Question, Quiz, QuizQuestion, LeaderboardEntry } from "./gen/hearth/polls/v1/polls_pb.js";
export { PollState, QuizState, PredictionState, QuestionState, ChoiceMode } from "./gen/hearth/polls/v1/polls_pb.js";
export type { RoomShareEvent } from "./gen/hearth/recommendations/v1/events_pb.js";
export type { RoomEvent } from "./gen/hearth/rooms/v1/events_pb.js";
export type { Member, PlaybackState, QueueItem, Room, RoomSnapshot } from "./gen/hearth/rooms/v1/rooms_pb.js";
export {
  PlaybackCause,
  PlaybackPolicy,
  PlaybackStatus,
  Readiness,
  RoomKind,
  RoomRole,
  RoomState,
  RoomVisibility,
} from "./gen/hearth/rooms/v1/rooms_pb.js";

export { HearthAuth, LocalStorageTokenStorage, MemoryTokenStorage } from "./auth.js";
export type { HearthAuthOptions, Session, TokenStorage } from "./auth.js";
export { HearthClient, jwtExpiryMs } from "./client.js";
export type {
  ConnectionState,
  Disconnected,
  HearthClientOptions,
  HearthEvents,
  ReconnectOptions,
  WebSocketConstructor,
  WebSocketLike,
} from "./client.js";
export { CLOCK_SAMPLES, ClockEstimator, ServerClock, clockSample } from "./clock.js";
export type { ClockSample } from "./clock.js";
export { HearthAuthError, HearthError } from "./errors.js";
export {
  decodeClientFrame,
  decodeServerFrame,
  encodeClientFrame,
  encodeServerFrame,
  makeClientFrame,
} from "./frames.js";
export type { Encoding, ReplyCase, ReplyOf, RequestCase, RequestInit, RequestMessage } from "./frames.js";
export { MediaSync } from "./media.js";
export type { LocalControl, MediaElementLike, MediaSyncOptions } from "./media.js";
export { RoomSession, newClientMsgId } from "./room.js";
export type { RoomClosedReason, RoomSessionEvents, TypingUser } from "./room.js";
export {
  DEAD_BAND_MS,
  GAP_HOLD_MS,
  HORIZON_MS,
  RATE_MAX,
  RATE_MIN,
  SEEK_THRESHOLD_MS,
  SETTLE_MS,
  TICK_MS,
  decideDrift,
  effectiveRate,
  expectedPositionMs,
  isScheduledStart,
  liveDriftMs,
  mediaDurationMs,
  positionMs,
  referenceTimeMs,
} from "./sync.js";
export type { DriftDecision, DriftParams } from "./sync.js";
export { durationToMs, msToDuration, msToTimestamp, timestampToMs } from "./time.js";
export type { Timers } from "./time.js";
