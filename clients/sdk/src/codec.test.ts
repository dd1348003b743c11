import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, equals, fromBinary, fromJson, toBinary, toJson } from "@bufbuild/protobuf";
import { decodeClientFrame, decodeServerFrame, encodeClientFrame, encodeServerFrame, makeClientFrame } from "./frames.js";
import { ClientFrameSchema, ServerFrameSchema } from "./gen/hearth/gateway/v1/gateway_pb.js";
import { PlaybackCause, PlaybackStatus } from "./gen/hearth/rooms/v1/rooms_pb.js";
import { msToDuration, msToTimestamp } from "./time.js";

const playbackEvent = create(ServerFrameSchema, {
  kind: {
    case: "roomEvent",
    value: {
      roomId: "0193b2c4-5d1e-7a10-9c3f-2b8e4f6a1d20",
      version: 43n,
      time: msToTimestamp(Date.UTC(2026, 10, 26, 20, 15, 3, 20)),
      kind: {
        case: "playbackStateChanged",
        value: {
          playback: {
            media: { kind: { case: "assetId", value: "vod-48213" } },
            status: PlaybackStatus.PLAYING,
            position: msToDuration(754_250),
            referenceTime: msToTimestamp(Date.UTC(2026, 10, 26, 20, 15, 3, 620)),
            rate: 1,
            version: 43n,
            cause: PlaybackCause.PLAY,
          },
        },
      },
    },
  },
});

describe("encodings", () => {
  it("round-trips a ServerFrame through protobuf", () => {
    const bytes = toBinary(ServerFrameSchema, playbackEvent);
    const back = fromBinary(ServerFrameSchema, bytes);
    assert.ok(equals(ServerFrameSchema, back, playbackEvent));
    assert.ok(equals(ServerFrameSchema, decodeServerFrame(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)), playbackEvent));
  });

  it("round-trips a ServerFrame through canonical JSON, as docs/protocol.md shows it", () => {
    const json = toJson(ServerFrameSchema, playbackEvent) as Record<string, any>;
    assert.equal(json["roomEvent"]["version"], "43");
    assert.equal(json["roomEvent"]["playbackStateChanged"]["playback"]["position"], "754.250s");
    assert.equal(json["roomEvent"]["playbackStateChanged"]["playback"]["referenceTime"], "2026-11-26T20:15:03.620Z");
    assert.equal(json["roomEvent"]["playbackStateChanged"]["playback"]["status"], "PLAYBACK_STATUS_PLAYING");
    assert.equal(json["ref"], undefined, "default values are omitted");
    const back = fromJson(ServerFrameSchema, json);
    assert.ok(equals(ServerFrameSchema, back, playbackEvent));
    assert.ok(equals(ServerFrameSchema, decodeServerFrame(JSON.stringify(json)), playbackEvent));
  });

  it("decodes the gateway's JSON examples, ignoring fields a newer gateway may add", () => {
    const text =
      '{"ref":"p1","pong":{"clientTime":"2026-11-26T12:00:00.123Z","serverTime":"2026-11-26T12:00:00.161Z"},"futureField":1}';
    const f = decodeServerFrame(text);
    assert.equal(f.ref, "p1");
    assert.equal(f.kind.case, "pong");
    if (f.kind.case !== "pong") return;
    assert.equal(f.kind.value.serverTime?.nanos, 161_000_000);
  });

  it("encodes ClientFrames in both encodings from init shapes", () => {
    const frame = makeClientFrame("m1", "sendMessage", {
      roomId: "0193b2c4-…",
      clientMsgId: "c7f3a-1",
      text: "Did you see that?",
      replyToSequence: 41n,
    });
    const text = encodeClientFrame(frame, "json");
    assert.equal(typeof text, "string");
    assert.deepEqual(JSON.parse(text as string), {
      ref: "m1",
      sendMessage: { roomId: "0193b2c4-…", clientMsgId: "c7f3a-1", text: "Did you see that?", replyToSequence: "41" },
    });
    const bin = encodeClientFrame(frame, "protobuf");
    assert.ok(bin instanceof Uint8Array);
    assert.ok(equals(ClientFrameSchema, decodeClientFrame(bin), frame));
    assert.ok(equals(ClientFrameSchema, decodeClientFrame(text), frame));
  });

  it("encodes a ServerFrame the same way a gateway test double would", () => {
    const bin = encodeServerFrame(playbackEvent, "protobuf");
    assert.ok(equals(ServerFrameSchema, decodeServerFrame(bin), playbackEvent));
  });
});
