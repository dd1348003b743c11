//! User reports (the moderation queue) and the moderation audit log.

use std::collections::BTreeMap;

use sqlx::{Postgres, Transaction, types::Json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::Store;
use crate::error::{ChatError, Result};

/// Reports one user may file per hour.
pub const REPORTS_PER_HOUR: i64 = 10;

/// One moderation act to record.
#[derive(Debug, Clone)]
pub struct NewAudit {
    pub id: Uuid,
    pub room: Uuid,
    pub actor: Uuid,
    pub actor_role: i16,
    pub actor_is_admin: bool,
    /// hearth.chat.v1.AuditAction.
    pub action: i16,
    pub target_user: Option<Uuid>,
    pub target_seq: u64,
    pub reason: String,
    pub details: BTreeMap<String, String>,
    /// When the act happened (acts recorded by other services); now when
    /// None.
    pub created_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    pub id: Uuid,
    pub room_id: Uuid,
    pub actor_id: Uuid,
    pub actor_role: i16,
    pub actor_is_admin: bool,
    pub action: i16,
    pub target_user_id: Option<Uuid>,
    pub target_seq: i64,
    pub reason: String,
    pub details: Json<BTreeMap<String, String>>,
    pub created_at: OffsetDateTime,
}

/// What ListAuditLog filters on.
#[derive(Debug, Default)]
pub struct AuditFilter {
    pub room: Option<Uuid>,
    pub actor: Option<Uuid>,
    pub target: Option<Uuid>,
    pub actions: Vec<i16>,
    pub start: Option<OffsetDateTime>,
    pub end: Option<OffsetDateTime>,
}

pub(super) async fn insert_audit(tx: &mut Transaction<'_, Postgres>, audit: &NewAudit) -> Result<()> {
    sqlx::query(
        "INSERT INTO chat.audit (id, room_id, actor_id, actor_role, actor_is_admin, action, target_user_id, \
         target_seq, reason, details, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, coalesce($11, now())) ON CONFLICT (id) DO NOTHING",
    )
    .bind(audit.id)
    .bind(audit.room)
    .bind(audit.actor)
    .bind(audit.actor_role)
    .bind(audit.actor_is_admin)
    .bind(audit.action)
    .bind(audit.target_user)
    .bind(audit.target_seq as i64)
    .bind(&audit.reason)
    .bind(Json(&audit.details))
    .bind(audit.created_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReportRow {
    pub id: Uuid,
    pub room_id: Uuid,
    pub reporter_id: Uuid,
    pub target_user_id: Uuid,
    pub target_seq: i64,
    pub message_text: String,
    pub reason: i16,
    pub details: String,
    pub state: String,
    pub resolution: i16,
    pub resolution_note: String,
    pub resolved_by: Option<Uuid>,
    pub created_at: OffsetDateTime,
    pub resolved_at: Option<OffsetDateTime>,
}

const REPORT_COLUMNS: &str = "id, room_id, reporter_id, target_user_id, target_seq, message_text, reason, details, \
     state, resolution, resolution_note, resolved_by, created_at, resolved_at";

pub struct NewReport<'a> {
    pub room: Uuid,
    pub reporter: Uuid,
    pub target_user: Uuid,
    pub target_seq: u64,
    pub message_text: &'a str,
    pub reason: i16,
    pub details: &'a str,
}

impl Store {
    /// Files a report, or returns the reporter's open one on the same
    /// target. RESOURCE_EXHAUSTED past the hourly limit.
    pub async fn report(&self, new: &NewReport<'_>) -> Result<(ReportRow, bool)> {
        let open: Option<ReportRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {REPORT_COLUMNS} FROM chat.reports WHERE reporter_id = $1 AND room_id = $2 \
             AND target_user_id = $3 AND target_seq = $4 AND state = 'open'"
        )))
        .bind(new.reporter)
        .bind(new.room)
        .bind(new.target_user)
        .bind(new.target_seq as i64)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(open) = open {
            return Ok((open, false));
        }
        let recent: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM chat.reports WHERE reporter_id = $1 AND created_at > now() - interval '1 hour'",
        )
        .bind(new.reporter)
        .fetch_one(&self.pool)
        .await?;
        if recent >= REPORTS_PER_HOUR {
            return Err(ChatError::Exhausted(
                "rate_limited",
                format!("at most {REPORTS_PER_HOUR} reports per hour"),
                Some(std::time::Duration::from_secs(600)),
            ));
        }
        let row: Option<ReportRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO chat.reports (id, room_id, reporter_id, target_user_id, target_seq, message_text, reason, details) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING {REPORT_COLUMNS}"
        )))
        .bind(Uuid::now_v7())
        .bind(new.room)
        .bind(new.reporter)
        .bind(new.target_user)
        .bind(new.target_seq as i64)
        .bind(new.message_text)
        .bind(new.reason)
        .bind(new.details)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => Ok((row, true)),
            // A concurrent duplicate: the open report exists now.
            None => Box::pin(self.report(new)).await,
        }
    }

    pub async fn report_by_id(&self, id: Uuid) -> Result<ReportRow> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {REPORT_COLUMNS} FROM chat.reports WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| ChatError::NotFound("report_not_found", "no such report".into()))
    }

    /// Reports of a room (or all rooms) in a state, oldest first.
    pub async fn reports(&self, room: Option<Uuid>, state: &str, offset: u64, limit: u32) -> Result<Vec<ReportRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {REPORT_COLUMNS} FROM chat.reports WHERE ($1::uuid IS NULL OR room_id = $1) AND state = $2 \
             ORDER BY created_at, id OFFSET $3 LIMIT $4"
        )))
        .bind(room)
        .bind(state)
        .bind(offset as i64)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Resolves an open report with an audit entry.
    pub async fn resolve_report(
        &self,
        id: Uuid,
        resolution: i16,
        note: &str,
        by: Uuid,
        audit: &NewAudit,
    ) -> Result<ReportRow> {
        let mut tx = self.pool.begin().await?;
        let row: Option<ReportRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE chat.reports SET state = 'resolved', resolution = $2, resolution_note = $3, resolved_by = $4, \
             resolved_at = now() WHERE id = $1 AND state = 'open' RETURNING {REPORT_COLUMNS}"
        )))
        .bind(id)
        .bind(resolution)
        .bind(note)
        .bind(by)
        .fetch_optional(&mut *tx)
        .await?;
        let row =
            row.ok_or_else(|| ChatError::Precondition("report_resolved", "the report is already resolved".into()))?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Records an act done elsewhere (another service's audit entry).
    pub async fn audit(&self, audit: &NewAudit) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A page of the audit log, newest first, after a (time, id) cursor.
    pub async fn audit_page(
        &self,
        filter: &AuditFilter,
        after: Option<(OffsetDateTime, Uuid)>,
        limit: u32,
    ) -> Result<Vec<AuditRow>> {
        let (after_time, after_id) = after.map_or((None, None), |(t, i)| (Some(t), Some(i)));
        Ok(sqlx::query_as(
            "SELECT id, room_id, actor_id, actor_role, actor_is_admin, action, target_user_id, target_seq, reason, \
             details, created_at FROM chat.audit \
             WHERE ($1::uuid IS NULL OR room_id = $1) AND ($2::uuid IS NULL OR actor_id = $2) \
             AND ($3::uuid IS NULL OR target_user_id = $3) AND (cardinality($4::smallint[]) = 0 OR action = ANY($4)) \
             AND ($5::timestamptz IS NULL OR created_at >= $5) AND ($6::timestamptz IS NULL OR created_at < $6) \
             AND ($7::timestamptz IS NULL OR (created_at, id) < ($7, $8)) \
             ORDER BY created_at DESC, id DESC LIMIT $9",
        )
        .bind(filter.room)
        .bind(filter.actor)
        .bind(filter.target)
        .bind(&filter.actions)
        .bind(filter.start)
        .bind(filter.end)
        .bind(after_time)
        .bind(after_id)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?)
    }
}
