/**
 * The control channel to the process that owns the servers (the Rust test
 * `tests/browser`). Requests are stdout lines `@@<command> <json>`; each
 * gets exactly one stdin line back, `ok <json>` or `error <text>`, in
 * order. Everything else on stdout is ordinary log output the test forwards.
 *
 * Commands the Rust side serves:
 * - `kill-gateway {}`: SIGKILL the gateway process (its port goes dark).
 * - `start-gateway {}`: start a new gateway process on the same port; answers once it listens.
 * - `send-backend {username, password, roomId, text, clientMsgId}`: sign in as that user at the
 *   identity service and send a chat message through the chat service's gRPC API, bypassing the
 *   gateway; answers `{sequence}`.
 */
import { createInterface } from "node:readline";

export class ControlError extends Error {
  constructor(message) {
    super(message);
    this.name = "ControlError";
  }
}

export class Control {
  /**
   * @param {NodeJS.ReadableStream} input  the controller's answers (stdin)
   * @param {(line: string) => void} write writes one request line
   */
  constructor(input, write) {
    this.write = write;
    /** @type {Array<{resolve: (line: string) => void, reject: (e: Error) => void}>} */
    this.waiting = [];
    /** Answers that arrived with no one waiting: a protocol error, reported on the next call. */
    this.unexpected = [];
    this.closed = false;
    const lines = createInterface({ input, terminal: false });
    lines.on("line", (line) => {
      const next = this.waiting.shift();
      if (next) next.resolve(line);
      else this.unexpected.push(line);
    });
    lines.on("close", () => {
      this.closed = true;
      for (const waiter of this.waiting.splice(0)) waiter.reject(new ControlError("the controller closed stdin"));
    });
  }

  /** The channel on this process's stdio, when the Rust test says it serves one (HEARTH_CONTROL=stdio). */
  static fromEnv(env = process.env) {
    if (env.HEARTH_CONTROL !== "stdio") return null;
    return new Control(process.stdin, (line) => process.stdout.write(`${line}\n`));
  }

  /** Sends `command` and resolves with the parsed `ok` payload; rejects on `error`, a close or a timeout. */
  async call(command, args = {}, timeoutMs = 60_000) {
    if (!/^[a-z][a-z-]*$/.test(command)) throw new ControlError(`bad command name ${JSON.stringify(command)}`);
    if (this.unexpected.length > 0) {
      throw new ControlError(`unexpected answers from the controller: ${this.unexpected.join(" | ")}`);
    }
    if (this.closed) throw new ControlError("the controller closed stdin");
    /** @type {{resolve: (line: string) => void, reject: (e: Error) => void} | undefined} */
    let waiter;
    const answer = new Promise((resolve, reject) => {
      waiter = { resolve, reject };
      this.waiting.push(waiter);
    });
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => {
        // A late answer must not satisfy the next call: drop this waiter so it lands in `unexpected`.
        const at = waiter ? this.waiting.indexOf(waiter) : -1;
        if (at >= 0) this.waiting.splice(at, 1);
        reject(new ControlError(`no answer to @@${command} within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    this.write(`@@${command} ${JSON.stringify(args)}`);
    try {
      return parseAnswer(command, await Promise.race([answer, timeout]));
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Parses one answer line: `ok` with optional JSON, or `error <text>`. */
export function parseAnswer(command, line) {
  if (line === "ok") return {};
  if (line.startsWith("ok ")) {
    try {
      return JSON.parse(line.slice(3));
    } catch {
      throw new ControlError(`@@${command}: the answer is not JSON: ${line}`);
    }
  }
  if (line.startsWith("error ")) throw new ControlError(`@@${command} failed: ${line.slice(6)}`);
  throw new ControlError(`@@${command}: unexpected answer ${JSON.stringify(line)}`);
}
