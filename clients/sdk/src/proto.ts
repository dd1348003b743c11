/**
 * The generated schemas and types of Hearth's client contract, re-exported
 * as one namespace (`import { proto } from "@hearth/sdk"`). Names are unique
 * across packages except `Mention`: the chat message mention keeps the
 * name, the personal `user_event.mention` is `MentionEvent`.
 */
export * from "./gen/hearth/common/v1/common_pb.js";
export * from "./gen/hearth/rooms/v1/rooms_pb.js";
export * from "./gen/hearth/rooms/v1/events_pb.js";
export * from "./gen/hearth/chat/v1/chat_pb.js";
export * from "./gen/hearth/chat/v1/events_pb.js";
export * from "./gen/hearth/polls/v1/polls_pb.js";
export * from "./gen/hearth/polls/v1/events_pb.js";
export * from "./gen/hearth/recommendations/v1/recommendations_pb.js";
export * from "./gen/hearth/recommendations/v1/events_pb.js";
export * from "./gen/hearth/events/v1/envelope_pb.js";
export * from "./gen/hearth/gateway/v1/gateway_pb.js";
export { MentionSchema, type Mention } from "./gen/hearth/chat/v1/chat_pb.js";
export { MentionSchema as MentionEventSchema, type Mention as MentionEvent } from "./gen/hearth/events/v1/envelope_pb.js";
