//! User reports (the moderation queue) and the audit log.

use hearth_proto::hearth::chat::v1::{self as pb, chat_event, create_report_request::Target};
use uuid::Uuid;

use super::{Caller, ChatApi, room_id, uuid};
use crate::{
    convert,
    error::{ChatError, Result},
    store::{AuditFilter, NewReport, ReportRow},
};

impl ChatApi {
    /// Reports as `caller` may see them (reporters only for admins).
    async fn reports_pb(&self, caller: &Caller, rows: &[ReportRow]) -> Vec<pb::Report> {
        let mut ids: Vec<Uuid> = rows.iter().map(|r| r.target_user_id).collect();
        if caller.admin {
            ids.extend(rows.iter().map(|r| r.reporter_id));
        }
        let refs = self.profiles.refs(&ids).await;
        let user = |id: Uuid| refs.get(&id).cloned().unwrap_or_else(|| convert::user_ref(id));
        rows.iter()
            .map(|r| convert::report(r, caller.admin.then(|| user(r.reporter_id)), user(r.target_user_id)))
            .collect()
    }

    pub async fn create_report(
        &self,
        caller: Caller,
        req: pb::CreateReportRequest,
    ) -> Result<pb::CreateReportResponse> {
        let room_uuid = room_id(&req.room_id)?;
        let reason = pb::ReportReason::try_from(req.reason)
            .ok()
            .filter(|r| *r != pb::ReportReason::Unspecified)
            .ok_or_else(|| ChatError::field("reason", "reason_required", "a report reason is required"))?;
        hearth_platform::validate::text("details", &req.details, 0, 1000, hearth_platform::validate::Lines::Multi)?;
        if reason == pb::ReportReason::Other && req.details.trim().is_empty() {
            return Err(ChatError::field("details", "reason_required", "details are required for OTHER"));
        }
        let room = self.readable(&caller, room_uuid, &[]).await?;
        let (target_user, target_seq, text) = match &req.target {
            Some(Target::Sequence(seq)) if *seq > 0 => {
                let message = self.store.message(room.id, *seq).await?;
                (message.author_id, *seq, message.text)
            }
            Some(Target::UserId(raw)) => (uuid("user_id", raw)?, 0, String::new()),
            _ => {
                return Err(ChatError::field(
                    "target",
                    "invalid_argument",
                    "a message sequence or a user id is required",
                ));
            }
        };
        if target_user == caller.id {
            return Err(ChatError::field("target", "cannot_report_self", "you cannot report yourself"));
        }
        let new = NewReport {
            room: room.id,
            reporter: caller.id,
            target_user,
            target_seq,
            message_text: &text,
            reason: reason as i16,
            details: req.details.trim(),
        };
        let (row, created) = self.store.report(&new).await?;
        if created {
            let report = self.reports_pb(&Caller { admin: false, ..caller.clone() }, std::slice::from_ref(&row)).await;
            let kind = chat_event::Kind::ReportCreated(pb::ReportCreated { report: report.into_iter().next() });
            self.events.moderators(room.id, kind).await;
        }
        Ok(pb::CreateReportResponse { report_id: row.id.to_string() })
    }

    pub async fn list_reports(&self, caller: Caller, req: pb::ListReportsRequest) -> Result<pb::ListReportsResponse> {
        let state = match pb::ReportState::try_from(req.state) {
            Ok(pb::ReportState::Resolved) => "resolved",
            Ok(_) => "open",
            Err(_) => return Err(ChatError::field("state", "invalid_argument", "unknown report state")),
        };
        let page = super::Page::parse(req.page.as_ref(), &[&req.room_id, state])?;
        let room = if req.room_id.is_empty() {
            if !caller.admin {
                return Err(ChatError::Denied(
                    "operator_only",
                    "only operator admins list every room's reports".into(),
                    None,
                ));
            }
            None
        } else {
            Some(self.moderated(&caller, room_id(&req.room_id)?, &[]).await?.id)
        };
        let rows = self.store.reports(room, state, page.offset, page.size).await?;
        Ok(pb::ListReportsResponse { reports: self.reports_pb(&caller, &rows).await, page: page.response(rows.len()) })
    }

    pub async fn resolve_report(
        &self,
        caller: Caller,
        req: pb::ResolveReportRequest,
    ) -> Result<pb::ResolveReportResponse> {
        let id = uuid("report_id", &req.report_id)?;
        let resolution = pb::ReportResolution::try_from(req.resolution)
            .ok()
            .filter(|r| *r != pb::ReportResolution::Unspecified)
            .ok_or_else(|| ChatError::field("resolution", "invalid_argument", "is required"))?;
        let note = super::reason("note", &req.note)?;
        let report = self.store.report_by_id(id).await?;
        let room = self.moderated(&caller, report.room_id, &[]).await.map_err(|e| match e {
            // Whether a report exists is not for non-moderators to learn.
            ChatError::Denied(..) => ChatError::NotFound("report_not_found", "no such report".into()),
            other => other,
        })?;
        let mut audit = self.audit(&caller, &room, pb::AuditAction::ReportResolved);
        audit.target_user = Some(report.target_user_id);
        audit.target_seq = report.target_seq as u64;
        audit.reason = note.clone();
        let row = self.store.resolve_report(id, resolution as i16, &note, caller.id, &audit).await?;
        let report = self.reports_pb(&caller, std::slice::from_ref(&row)).await.into_iter().next();
        let shown = self.reports_pb(&Caller { admin: false, ..caller.clone() }, std::slice::from_ref(&row)).await;
        self.events
            .moderators(
                room.id,
                chat_event::Kind::ReportResolved(pb::ReportResolved { report: shown.into_iter().next() }),
            )
            .await;
        Ok(pb::ResolveReportResponse { report })
    }

    pub async fn list_audit_log(
        &self,
        caller: Caller,
        req: pb::ListAuditLogRequest,
    ) -> Result<pb::ListAuditLogResponse> {
        let mut filter = AuditFilter::default();
        if !req.actor_user_id.is_empty() {
            filter.actor = Some(uuid("actor_user_id", &req.actor_user_id)?);
        }
        if !req.target_user_id.is_empty() {
            filter.target = Some(uuid("target_user_id", &req.target_user_id)?);
        }
        if req.actions.len() > 20 {
            return Err(ChatError::field("actions", "invalid_argument", "at most 20 actions"));
        }
        for (i, a) in req.actions.iter().enumerate() {
            if pb::AuditAction::try_from(*a).is_err() || *a == 0 {
                return Err(ChatError::field(&format!("actions[{i}]"), "invalid_argument", "unknown audit action"));
            }
            filter.actions.push(*a as i16);
        }
        filter.start = req
            .start_time
            .as_ref()
            .map(|t| convert::datetime(t).ok_or(()))
            .transpose()
            .map_err(|()| ChatError::field("start_time", "invalid_argument", "is not a valid time"))?;
        filter.end = req
            .end_time
            .as_ref()
            .map(|t| convert::datetime(t).ok_or(()))
            .transpose()
            .map_err(|()| ChatError::field("end_time", "invalid_argument", "is not a valid time"))?;
        if let (Some(s), Some(e)) = (filter.start, filter.end)
            && e <= s
        {
            return Err(ChatError::field("end_time", "invalid_argument", "must be after start_time"));
        }
        let actions: Vec<String> = req.actions.iter().map(i32::to_string).collect();
        let query = hearth_platform::validate::query_hash(&[
            &req.room_id,
            &req.actor_user_id,
            &req.target_user_id,
            &actions.join(","),
            &format!("{:?}{:?}", filter.start, filter.end),
        ]);
        let size =
            hearth_platform::validate::page_size("page.page_size", req.page.as_ref().map_or(0, |p| p.page_size))?;
        let token = req.page.as_ref().map(|p| p.page_token.as_str()).unwrap_or("");
        let after = hearth_platform::validate::PageToken::decode("page.page_token", token, query)?.map(|t| {
            (
                time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.micros) * 1000)
                    .unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
                t.id,
            )
        });
        if req.room_id.is_empty() {
            if !caller.admin {
                return Err(ChatError::Denied(
                    "operator_only",
                    "only operator admins read every room's log".into(),
                    None,
                ));
            }
        } else {
            filter.room = Some(self.moderated(&caller, room_id(&req.room_id)?, &[]).await?.id);
        }
        let rows = self.store.audit_page(&filter, after, size).await?;
        let mut ids: Vec<Uuid> = rows.iter().map(|r| r.actor_id).collect();
        ids.extend(rows.iter().filter_map(|r| r.target_user_id));
        let refs = self.profiles.refs(&ids).await;
        let user = |id: Uuid| refs.get(&id).cloned().unwrap_or_else(|| convert::user_ref(id));
        let next = match rows.last() {
            Some(last) if rows.len() as u32 >= size => hearth_platform::validate::PageToken {
                query,
                micros: (last.created_at.unix_timestamp_nanos() / 1000) as i64,
                id: last.id,
                offset: 0,
            }
            .encode(),
            _ => String::new(),
        };
        Ok(pb::ListAuditLogResponse {
            entries: rows.iter().map(|r| convert::audit(r, user(r.actor_id), r.target_user_id.map(user))).collect(),
            page: Some(hearth_proto::hearth::common::v1::PageResponse { next_page_token: next }),
        })
    }
}
