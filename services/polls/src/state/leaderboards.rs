//! Quiz leaderboards in Redis: one sorted set per quiz
//! (`{room}:quiz:<quiz_id>:board`) and one per room
//! (`{room}:quiz:board`, the sum of the room's quizzes), members the user
//! ids.
//!
//! Design: Postgres (`polls.quiz_standings`) is the truth. When a question
//! closes, the service writes each changed participant's absolute totals
//! here (ZADD of absolute values: a replay writes the same thing), so the
//! boards are idempotent and can be rebuilt from Postgres whenever a key is
//! missing (Redis restarted, key expired). Finished quizzes are read from
//! their persisted final standings instead.
//!
//! Order: each member's value encodes the tie rules so that ZRANGE
//! (ascending) lists the board in order: `value = −score × 2^26 +
//! total_response_ms`. A higher score gives a lower value; within a score,
//! less total response time comes first; within equal values Redis orders
//! members lexicographically, i.e. by user id (lowercase hyphenated UUIDs
//! sort like the UUIDs). Values stay exact integers in a double for scores
//! below 2^27 (a quiz scores at most 125,000); total response times are
//! capped at 2^26 − 1 ms (18.6 h), past which only that tie-break
//! saturates. Competition ranks ("1, 2, 2, 4") are computed from the
//! scores: a member's rank is 1 + the number of members with a strictly
//! higher score, i.e. with a value below `−score × 2^26` (one ZCOUNT).

use std::time::Duration;

use redis::RedisError;
use uuid::Uuid;

use super::State;

/// Weight of the score in an encoded value.
const SCORE_WEIGHT: i64 = 1 << 26;
/// Scores above this would lose exactness in a double.
const SCORE_MAX: u64 = (1 << 27) - 1;
/// A live quiz board outlives its quiz by this much (finished quizzes read
/// Postgres; a missing board is rebuilt).
const QUIZ_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// A room board lives this long after its last change.
const ROOM_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// Members per ZADD.
const CHUNK: usize = 1000;

/// Which board.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Board {
    Quiz(Uuid),
    Room,
}

/// One line of a board.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoardEntry {
    pub user: Uuid,
    pub score: u64,
    pub total_response_ms: u64,
}

/// A line with its competition rank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RankedEntry {
    pub rank: u32,
    pub entry: BoardEntry,
}

/// The sorted-set value of a line.
pub fn board_value(score: u64, total_response_ms: u64) -> i64 {
    -(score.min(SCORE_MAX) as i64) * SCORE_WEIGHT + total_response_ms.min(SCORE_WEIGHT as u64 - 1) as i64
}

/// (score, total response ms) of a sorted-set value.
pub fn board_line(value: i64) -> (u64, u64) {
    ((-value.div_euclid(SCORE_WEIGHT)) as u64, value.rem_euclid(SCORE_WEIGHT) as u64)
}

impl State {
    fn board_key(&self, room: Uuid, board: Board) -> String {
        match board {
            Board::Quiz(quiz) => self.key(room, &format!("quiz:{quiz}:board")),
            Board::Room => self.key(room, "quiz:board"),
        }
    }

    /// Writes lines (absolute values); with `replace`, the board becomes
    /// exactly `entries` (a rebuild), atomically.
    pub async fn board_put(
        &self,
        room: Uuid,
        board: Board,
        entries: &[BoardEntry],
        replace: bool,
    ) -> Result<(), RedisError> {
        let key = self.board_key(room, board);
        let ttl = match board {
            Board::Quiz(_) => QUIZ_TTL,
            Board::Room => ROOM_TTL,
        };
        let mut pipe = redis::pipe();
        pipe.atomic();
        if replace {
            pipe.del(&key).ignore();
        }
        for chunk in entries.chunks(CHUNK) {
            let mut zadd = redis::cmd("ZADD");
            zadd.arg(&key);
            for e in chunk {
                zadd.arg(board_value(e.score, e.total_response_ms)).arg(e.user.to_string());
            }
            pipe.add_command(zadd).ignore();
        }
        pipe.expire(&key, ttl.as_secs() as i64).ignore();
        pipe.query_async::<()>(&mut self.conn.clone()).await
    }

    /// Whether the board exists (else it must be rebuilt from Postgres).
    pub async fn board_exists(&self, room: Uuid, board: Board) -> Result<bool, RedisError> {
        redis::cmd("EXISTS").arg(self.board_key(room, board)).query_async(&mut self.conn.clone()).await
    }

    /// Lines on the board.
    pub async fn board_len(&self, room: Uuid, board: Board) -> Result<u64, RedisError> {
        redis::cmd("ZCARD").arg(self.board_key(room, board)).query_async(&mut self.conn.clone()).await
    }

    /// The first `n` lines, ranked.
    pub async fn board_top(&self, room: Uuid, board: Board, n: usize) -> Result<Vec<RankedEntry>, RedisError> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let rows: Vec<(String, f64)> = redis::cmd("ZRANGE")
            .arg(self.board_key(room, board))
            .arg(0)
            .arg(n as i64 - 1)
            .arg("WITHSCORES")
            .query_async(&mut self.conn.clone())
            .await?;
        let entries: Vec<BoardEntry> = rows
            .into_iter()
            .filter_map(|(member, value)| {
                let user = Uuid::parse_str(&member).ok()?;
                let (score, total_response_ms) = board_line(value as i64);
                Some(BoardEntry { user, score, total_response_ms })
            })
            .collect();
        Ok(rank_prefix(entries))
    }

    /// One user's line and rank; None when not on the board.
    pub async fn board_entry(&self, room: Uuid, board: Board, user: Uuid) -> Result<Option<RankedEntry>, RedisError> {
        let key = self.board_key(room, board);
        let value: Option<f64> =
            redis::cmd("ZSCORE").arg(&key).arg(user.to_string()).query_async(&mut self.conn.clone()).await?;
        let Some(value) = value else { return Ok(None) };
        let (score, total_response_ms) = board_line(value as i64);
        let better: u64 = redis::cmd("ZCOUNT")
            .arg(&key)
            .arg("-inf")
            .arg(format!("({}", board_value(score, 0)))
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(Some(RankedEntry { rank: better as u32 + 1, entry: BoardEntry { user, score, total_response_ms } }))
    }
}

/// Competition ranks of a board's first lines (already in board order).
fn rank_prefix(entries: Vec<BoardEntry>) -> Vec<RankedEntry> {
    let mut out: Vec<RankedEntry> = Vec::with_capacity(entries.len());
    for (i, entry) in entries.into_iter().enumerate() {
        let rank = match out.last() {
            Some(previous) if previous.entry.score == entry.score => previous.rank,
            _ => i as u32 + 1,
        };
        out.push(RankedEntry { rank, entry });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_sort_like_the_board_and_decode_exactly() {
        let lines = [(1200, 9_000), (1200, 9_001), (900, 0), (900, 3_000), (0, 0), (0, 120_000)];
        let values: Vec<i64> = lines.iter().map(|&(s, rt)| board_value(s, rt)).collect();
        assert!(values.windows(2).all(|w| w[0] < w[1]), "ascending values follow board order: {values:?}");
        for &(s, rt) in &lines {
            assert_eq!(board_line(board_value(s, rt)), (s, rt));
            // Exact through a double (Redis scores).
            assert_eq!(board_line(board_value(s, rt) as f64 as i64), (s, rt));
        }
        let max = (SCORE_MAX, SCORE_WEIGHT as u64 - 1);
        assert_eq!(board_line(board_value(max.0, max.1) as f64 as i64), max);
        assert_eq!(board_line(board_value(1, u64::MAX)), (1, SCORE_WEIGHT as u64 - 1), "response time saturates");
        // Strictly higher scores are exactly those below −score × weight.
        assert!(board_value(901, SCORE_WEIGHT as u64 - 1) < board_value(900, 0));
    }

    #[test]
    fn prefix_ranks_are_competition_ranks() {
        let e = |n: u128, score| BoardEntry { user: Uuid::from_u128(n), score, total_response_ms: 0 };
        let ranked = rank_prefix(vec![e(1, 50), e(2, 40), e(3, 40), e(4, 10), e(5, 10), e(6, 0)]);
        assert_eq!(ranked.iter().map(|r| r.rank).collect::<Vec<_>>(), vec![1, 2, 2, 4, 4, 6]);
    }
}
