import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { test } from "node:test";

import { Control, ControlError, parseAnswer } from "../lib/control.mjs";

/** A control channel whose controller is `serve(requestLine) -> answerLine | null (no answer)`. */
function channel(serve) {
  const input = new PassThrough();
  const written = [];
  const control = new Control(input, (line) => {
    written.push(line);
    const answer = serve(line);
    if (answer !== null) setImmediate(() => input.write(`${answer}\n`));
  });
  return { control, written, input };
}

test("requests are @@-lines with JSON, answers parse", async () => {
  const { control, written } = channel((line) =>
    line.startsWith("@@send-backend ") ? `ok ${JSON.stringify({ sequence: 42 })}` : "ok",
  );
  assert.deepEqual(await control.call("kill-gateway"), {});
  assert.deepEqual(await control.call("send-backend", { roomId: "r", text: "hi" }), { sequence: 42 });
  assert.deepEqual(written, ["@@kill-gateway {}", '@@send-backend {"roomId":"r","text":"hi"}']);
});

test("an error answer rejects with its text", async () => {
  const { control } = channel(() => "error the port is taken");
  await assert.rejects(control.call("start-gateway"), (e) => e instanceof ControlError && /the port is taken/.test(e.message));
});

test("a missing answer times out, and its late answer poisons the next call", async () => {
  const { control, input } = channel(() => null);
  await assert.rejects(control.call("kill-gateway", {}, 50), /no answer to @@kill-gateway within 50 ms/);
  input.write("ok\n");
  await new Promise((resolve) => setImmediate(resolve));
  await assert.rejects(control.call("kill-gateway", {}, 50), /unexpected answers from the controller: ok/);
});

test("a closed controller rejects waiting and later calls", async () => {
  const { control, input } = channel(() => null);
  const pending = control.call("kill-gateway", {}, 5_000);
  input.end();
  await assert.rejects(pending, /closed stdin/);
  await assert.rejects(control.call("kill-gateway"), /closed stdin/);
});

test("answers are strict", async () => {
  assert.deepEqual(parseAnswer("x", "ok"), {});
  assert.deepEqual(parseAnswer("x", 'ok {"a":1}'), { a: 1 });
  assert.throws(() => parseAnswer("x", "ok {"), /not JSON/);
  assert.throws(() => parseAnswer("x", "okay"), /unexpected answer/);
  await assert.rejects(new Control(new PassThrough(), () => {}).call("Bad Name"), /bad command name/);
});

test("the channel is on stdio only when the parent says so", () => {
  assert.equal(Control.fromEnv({}), null);
});
