import { describe, expect, it } from "vitest";
import { QuestionWindow, QuizState } from "./proto";
import { answerMark, canRevealNext, currentQuestion, nextRevealIndex, type QuizLike } from "./quiz";

const q = (index: number, window: QuestionWindow) => ({
  questionId: `q${index}`,
  index,
  window,
  correctOptionIds: [],
});

describe("quiz flow", () => {
  const draft: QuizLike = { questions: [], questionCount: 3, state: QuizState.DRAFT };
  it("starts at question 0", () => {
    expect(nextRevealIndex(draft)).toBe(0);
    expect(canRevealNext(draft)).toBe(true);
    expect(currentQuestion(draft)).toBeUndefined();
  });
  it("waits for the open window to close", () => {
    const running: QuizLike = { questions: [q(0, QuestionWindow.OPEN)], questionCount: 3, currentIndex: 0, state: QuizState.RUNNING };
    expect(currentQuestion(running)?.questionId).toBe("q0");
    expect(canRevealNext(running)).toBe(false);
    const closed = { ...running, questions: [q(0, QuestionWindow.CLOSED)] };
    expect(canRevealNext(closed)).toBe(true);
    expect(nextRevealIndex(closed)).toBe(1);
  });
  it("stops after the last question and when finished", () => {
    const last: QuizLike = { questions: [q(2, QuestionWindow.CLOSED)], questionCount: 3, currentIndex: 2, state: QuizState.RUNNING };
    expect(nextRevealIndex(last)).toBeUndefined();
    expect(canRevealNext(last)).toBe(false);
    expect(canRevealNext({ ...last, currentIndex: 0, state: QuizState.FINISHED })).toBe(false);
  });
});

describe("answerMark", () => {
  it("marks the user's choice against the correct ids", () => {
    expect(answerMark("o1", ["o1"], ["o1"])).toBe("correct");
    expect(answerMark("o2", ["o1"], ["o2"])).toBe("wrong");
    expect(answerMark("o1", ["o1"], ["o2"])).toBe("missed");
    expect(answerMark("o3", ["o1"], ["o2"])).toBe("neutral");
    expect(answerMark("o1", [], ["o1"])).toBe("neutral");
    expect(answerMark("o1", ["o1"], [])).toBe("correct");
  });
});
