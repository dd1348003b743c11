/** Pure quiz helpers (structural shapes of the generated Quiz/QuizQuestion). */
export interface QuizQuestionLike {
  questionId: string;
  index: number;
  window: number;
  correctOptionIds: string[];
  closeTime?: { seconds: bigint; nanos: number } | undefined;
}
export interface QuizLike<Q extends QuizQuestionLike = QuizQuestionLike> {
  questions: Q[];
  questionCount: number;
  currentIndex?: number | undefined;
  state: number;
}

const WINDOW_OPEN = 1;
const RUNNING = 2;

/** The question on screen: the current one, else the last revealed. */
export function currentQuestion<Q extends QuizQuestionLike>(quiz: QuizLike<Q>): Q | undefined {
  if (quiz.currentIndex !== undefined) {
    const q = quiz.questions.find((x) => x.index === quiz.currentIndex);
    if (q) return q;
  }
  return [...quiz.questions].sort((a, b) => b.index - a.index)[0];
}

/** The index a manager's next "Reveal" should name (idempotent retries, `expected_index`). */
export function nextRevealIndex(quiz: QuizLike): number | undefined {
  const next = quiz.currentIndex === undefined ? 0 : quiz.currentIndex + 1;
  return quiz.questionCount > 0 && next >= quiz.questionCount ? undefined : next;
}

/** Managers may reveal the next question once the current window closed and questions remain. */
export function canRevealNext(quiz: QuizLike): boolean {
  if (quiz.state !== RUNNING && quiz.currentIndex !== undefined) return false;
  const q = currentQuestion(quiz);
  if (q && q.window === WINDOW_OPEN) return false;
  return nextRevealIndex(quiz) !== undefined;
}

export type AnswerMark = "correct" | "wrong" | "missed" | "neutral";

/** How an option is shown once the question closed (correct ids are hidden until then). */
export function answerMark(optionId: string, correctIds: readonly string[], chosen: readonly string[]): AnswerMark {
  if (correctIds.length === 0) return "neutral";
  const isCorrect = correctIds.includes(optionId);
  const picked = chosen.includes(optionId);
  if (isCorrect) return picked || chosen.length === 0 ? "correct" : "missed";
  return picked ? "wrong" : "neutral";
}
