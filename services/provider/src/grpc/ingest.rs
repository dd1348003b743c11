//! ProviderIngest: the operator pushes catalog and guide changes (stored
//! and announced like synced ones, all-or-nothing per call) and streams
//! viewing events (judged one by one, durable on JetStream before the
//! answer, deduplicated by event id).

use std::collections::{HashMap, HashSet};

use futures::StreamExt;
use hearth_platform::{config::ProviderConfig, validate::FieldError};
use hearth_proto::hearth::provider::v1::{
    PushCatalogRequest, PushCatalogResponse, PushGuideRequest, PushGuideResponse, RejectedEvent, ReportViewingRequest,
    ReportViewingResponse, ViewingEvent, ViewingRecorded, provider_ingest_server::ProviderIngest, viewing_event,
};
use time::OffsetDateTime;
use tonic::{Request, Response, Status, Streaming};

use crate::{
    catalog::Catalog,
    domain::contract,
    error::{ProviderError, Result},
    links::Links,
};

/// Most channel upserts (and removals) per PushCatalog.
const PUSH_CHANNELS_MAX: usize = 1000;
/// Most schedules per PushGuide.
const PUSH_SCHEDULES_MAX: usize = 100;
/// Most programmes per PushGuide.
const PUSH_PROGRAMMES_MAX: usize = 5000;
/// Longest pushed schedule window.
const SCHEDULE_WINDOW_MAX: time::Duration = time::Duration::days(21);
/// Most events per ReportViewing batch.
const VIEWING_BATCH_MAX: usize = 1000;
/// Most events per ReportViewing stream.
const VIEWING_STREAM_MAX: u64 = 1_000_000;
/// Rejections listed in the answer (all are counted).
const REJECTIONS_LISTED: usize = 1000;

#[derive(Clone)]
pub struct IngestApi {
    pub catalog: Catalog,
    pub links: Links,
    pub config: ProviderConfig,
}

impl IngestApi {
    fn authorize<T>(&self, request: &Request<T>) -> Result<(), Status> {
        let Some(key) = &self.config.ingest_key else {
            return Err(Status::unauthenticated("provider ingest is disabled: no `provider.ingest_key` is configured"));
        };
        hearth_platform::auth::check_static_key(request.metadata(), key.expose(), "ingest key")
    }

    async fn push_catalog(&self, request: PushCatalogRequest) -> Result<PushCatalogResponse> {
        check_catalog(&request)?;
        let applied = self.catalog.apply_channels(&request.upserts, &request.removed_channel_ids).await?;
        Ok(PushCatalogResponse {
            upserted_count: request.upserts.len() as u32,
            removed_count: applied.removed.len() as u32,
        })
    }

    async fn push_guide(&self, request: PushGuideRequest) -> Result<PushGuideResponse> {
        let windows = check_guide(&request)?;
        let channel_ids: Vec<String> = request.schedules.iter().map(|s| s.channel_id.clone()).collect();
        let known: HashSet<String> =
            self.catalog.store.channels(&channel_ids).await?.into_iter().map(|c| c.channel_id).collect();
        if let Some(i) = channel_ids.iter().position(|id| !known.contains(id)) {
            return Err(ProviderError::NotFound(
                "unknown_channel",
                FieldError::new(
                    format!("schedules[{i}].channel_id"),
                    format!("no channel {:?} in the catalog", channel_ids[i]),
                ),
            ));
        }
        let mut count = 0;
        for (schedule, (start, end)) in request.schedules.iter().zip(windows) {
            self.catalog.apply_guide(&schedule.channel_id, start, end, &schedule.programmes).await?;
            count += schedule.programmes.len() as u32;
        }
        Ok(PushGuideResponse { programme_count: count })
    }

    /// Publishes one batch's valid events and waits until JetStream holds
    /// them; returns (accepted, duplicates).
    async fn record(&self, events: Vec<ViewingEvent>) -> Result<(u64, u64)> {
        if events.is_empty() {
            return Ok((0, 0));
        }
        let accounts: Vec<&str> = events.iter().map(|e| e.provider_user_id.as_str()).collect();
        let users = self.links.users_of(&accounts).await?;
        let channels: Vec<String> = events
            .iter()
            .filter_map(|e| match &e.item {
                Some(viewing_event::Item::ChannelId(id)) => Some(id.clone()),
                _ => None,
            })
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let adult = self.catalog.store.adult_channels(&channels).await?;
        let received = hearth_platform::wkt::timestamp(OffsetDateTime::now_utc());
        let mut pending = Vec::with_capacity(events.len());
        for event in events {
            let adult = matches!(&event.item, Some(viewing_event::Item::ChannelId(id)) if adult.contains(id));
            let recorded = ViewingRecorded {
                user_id: users.get(&event.provider_user_id).cloned().unwrap_or_default(),
                event: Some(event),
                receive_time: Some(received),
                adult,
            };
            pending.push(self.catalog.events.viewing(&recorded).await?);
        }
        let (mut accepted, mut duplicates) = (0, 0);
        for ack in pending {
            let ack = ack.await.map_err(|e| {
                ProviderError::Unavailable(format!("viewing events not stored ({e}); resend the stream"))
            })?;
            if ack.duplicate {
                duplicates += 1;
            } else {
                accepted += 1;
            }
        }
        Ok((accepted, duplicates))
    }
}

/// PushCatalog's rules: sizes, every channel valid, no id twice.
fn check_catalog(request: &PushCatalogRequest) -> Result<(), FieldError> {
    if request.upserts.len() > PUSH_CHANNELS_MAX {
        return Err(FieldError::new("upserts", format!("at most {PUSH_CHANNELS_MAX} channels per call")));
    }
    if request.removed_channel_ids.len() > PUSH_CHANNELS_MAX {
        return Err(FieldError::new("removed_channel_ids", format!("at most {PUSH_CHANNELS_MAX} ids per call")));
    }
    let mut upserted = HashSet::new();
    for (i, channel) in request.upserts.iter().enumerate() {
        contract::channel(&format!("upserts[{i}]"), channel)?;
        if !upserted.insert(channel.channel_id.as_str()) {
            return Err(FieldError::new(format!("upserts[{i}].channel_id"), "repeats an earlier channel"));
        }
    }
    for (i, id) in request.removed_channel_ids.iter().enumerate() {
        let field = format!("removed_channel_ids[{i}]");
        contract::id(&field, id, contract::ID_MAX)?;
        if upserted.contains(id.as_str()) {
            return Err(FieldError::new(field, "a channel cannot be upserted and removed in one call"));
        }
    }
    Ok(())
}

/// PushGuide's rules: sizes, windows, every programme valid, on its
/// schedule's channel, starting in the window, without overlaps or
/// repeated ids. Returns each schedule's window.
fn check_guide(request: &PushGuideRequest) -> Result<Vec<(OffsetDateTime, OffsetDateTime)>, FieldError> {
    let schedules = &request.schedules;
    if schedules.is_empty() || schedules.len() > PUSH_SCHEDULES_MAX {
        return Err(FieldError::new("schedules", format!("must have 1–{PUSH_SCHEDULES_MAX} schedules")));
    }
    let total: usize = schedules.iter().map(|s| s.programmes.len()).sum();
    if total > PUSH_PROGRAMMES_MAX {
        return Err(FieldError::new(
            "schedules",
            format!("at most {PUSH_PROGRAMMES_MAX} programmes per call, got {total}"),
        ));
    }
    let mut windows = Vec::with_capacity(schedules.len());
    let mut ids = HashSet::new();
    let mut channels: HashMap<&str, Vec<(OffsetDateTime, OffsetDateTime)>> = HashMap::new();
    for (i, schedule) in schedules.iter().enumerate() {
        let at = format!("schedules[{i}]");
        contract::id(&format!("{at}.channel_id"), &schedule.channel_id, contract::ID_MAX)?;
        let (start, end) = contract::window(&at, schedule.start_time.as_ref(), schedule.end_time.as_ref())?;
        if end <= start || end - start > SCHEDULE_WINDOW_MAX {
            return Err(FieldError::new(format!("{at}.end_time"), "must be after start_time, at most 21 days later"));
        }
        let same_channel = channels.entry(schedule.channel_id.as_str()).or_default();
        if same_channel.iter().any(|(s, e)| *s < end && start < *e) {
            return Err(FieldError::new(format!("{at}.start_time"), "overlaps another schedule of the channel"));
        }
        same_channel.push((start, end));
        let mut spans = Vec::with_capacity(schedule.programmes.len());
        for (j, programme) in schedule.programmes.iter().enumerate() {
            let field = format!("{at}.programmes[{j}]");
            contract::programme(&field, programme)?;
            if programme.channel_id != schedule.channel_id {
                return Err(FieldError::new(format!("{field}.channel_id"), "must be the schedule's channel"));
            }
            if !ids.insert(programme.programme_id.as_str()) {
                return Err(FieldError::new(format!("{field}.programme_id"), "repeats an earlier programme"));
            }
            let (s, e) = contract::window(&field, programme.start_time.as_ref(), programme.end_time.as_ref())?;
            if s < start || s >= end {
                return Err(FieldError::new(format!("{field}.start_time"), "must be within the schedule's window"));
            }
            spans.push((s, e, j));
        }
        spans.sort();
        if let Some(w) = spans.windows(2).find(|w| w[0].1 > w[1].0) {
            return Err(FieldError::new(
                format!("{at}.programmes[{}].start_time", w[1].2),
                "overlaps another programme",
            ));
        }
        windows.push((start, end));
    }
    Ok(windows)
}

#[tonic::async_trait]
impl ProviderIngest for IngestApi {
    async fn push_catalog(
        &self,
        request: Request<PushCatalogRequest>,
    ) -> Result<Response<PushCatalogResponse>, Status> {
        self.authorize(&request)?;
        Ok(Response::new(IngestApi::push_catalog(self, request.into_inner()).await?))
    }

    async fn push_guide(&self, request: Request<PushGuideRequest>) -> Result<Response<PushGuideResponse>, Status> {
        self.authorize(&request)?;
        Ok(Response::new(IngestApi::push_guide(self, request.into_inner()).await?))
    }

    async fn report_viewing(
        &self,
        request: Request<Streaming<ReportViewingRequest>>,
    ) -> Result<Response<ReportViewingResponse>, Status> {
        self.authorize(&request)?;
        let mut stream = request.into_inner();
        let mut answer = ReportViewingResponse::default();
        let mut seen: u64 = 0;
        while let Some(batch) = stream.next().await {
            let events = batch?.events;
            if events.is_empty() || events.len() > VIEWING_BATCH_MAX {
                return Err(ProviderError::from(FieldError::new(
                    "events",
                    format!("each batch must have 1–{VIEWING_BATCH_MAX} events, got {}", events.len()),
                ))
                .into());
            }
            seen += events.len() as u64;
            if seen > VIEWING_STREAM_MAX {
                return Err(ProviderError::from(FieldError::new(
                    "events",
                    format!("a stream carries at most {VIEWING_STREAM_MAX} events; close it and open another"),
                ))
                .into());
            }
            let now = OffsetDateTime::now_utc();
            let mut valid = Vec::with_capacity(events.len());
            let mut in_batch = HashSet::new();
            for event in events {
                match contract::viewing_event(&event, now) {
                    Ok(()) if in_batch.insert(event.event_id.clone()) => valid.push(event),
                    // The same id twice in one batch: the first counts.
                    Ok(()) => answer.duplicate_count += 1,
                    Err((field, reason)) => {
                        answer.rejected_count += 1;
                        if answer.rejected.len() < REJECTIONS_LISTED {
                            answer.rejected.push(RejectedEvent {
                                event_id: event.event_id.chars().take(contract::EVENT_ID_MAX).collect(),
                                field: field.into(),
                                reason: reason.into(),
                            });
                        }
                    }
                }
            }
            let (accepted, duplicates) = self.record(valid).await?;
            answer.accepted_count += accepted;
            answer.duplicate_count += duplicates;
        }
        Ok(Response::new(answer))
    }
}

#[cfg(test)]
mod tests {
    use hearth_proto::hearth::provider::v1::{Channel, ChannelSchedule, LocalizedString, Programme};

    use super::*;

    fn name(value: &str) -> Vec<LocalizedString> {
        vec![LocalizedString { language: "en".into(), value: value.into() }]
    }

    fn ts(minutes: i64) -> Option<hearth_proto::wkt::Timestamp> {
        Some(hearth_platform::wkt::timestamp(OffsetDateTime::UNIX_EPOCH + time::Duration::minutes(minutes)))
    }

    fn programme(id: &str, channel: &str, start: i64, end: i64) -> Programme {
        Programme {
            programme_id: id.into(),
            channel_id: channel.into(),
            start_time: ts(start),
            end_time: ts(end),
            titles: name(id),
            ..Default::default()
        }
    }

    fn schedule(channel: &str, start: i64, end: i64, programmes: Vec<Programme>) -> ChannelSchedule {
        ChannelSchedule { channel_id: channel.into(), start_time: ts(start), end_time: ts(end), programmes }
    }

    #[test]
    fn catalog_pushes_are_refused_whole_with_the_field() {
        let channel = |id: &str| Channel { channel_id: id.into(), names: name("One"), ..Default::default() };
        let ok =
            PushCatalogRequest { upserts: vec![channel("a"), channel("b")], removed_channel_ids: vec!["c".into()] };
        assert!(check_catalog(&ok).is_ok());
        let twice = PushCatalogRequest { upserts: vec![channel("a"), channel("a")], ..Default::default() };
        assert_eq!(check_catalog(&twice).unwrap_err().field, "upserts[1].channel_id");
        let both = PushCatalogRequest { upserts: vec![channel("a")], removed_channel_ids: vec!["a".into()] };
        assert_eq!(check_catalog(&both).unwrap_err().field, "removed_channel_ids[0]");
        let nameless = PushCatalogRequest {
            upserts: vec![Channel { channel_id: "x".into(), ..Default::default() }],
            ..Default::default()
        };
        assert_eq!(check_catalog(&nameless).unwrap_err().field, "upserts[0].names");
        let many =
            PushCatalogRequest { upserts: (0..1001).map(|i| channel(&i.to_string())).collect(), ..Default::default() };
        assert_eq!(check_catalog(&many).unwrap_err().field, "upserts");
    }

    #[test]
    fn guide_pushes_check_windows_channels_and_overlaps() {
        let good = PushGuideRequest {
            schedules: vec![schedule("a", 0, 120, vec![programme("p1", "a", 0, 60), programme("p2", "a", 60, 120)])],
        };
        assert_eq!(check_guide(&good).unwrap().len(), 1);
        let overlap = PushGuideRequest {
            schedules: vec![schedule("a", 0, 120, vec![programme("p1", "a", 0, 70), programme("p2", "a", 60, 120)])],
        };
        assert_eq!(check_guide(&overlap).unwrap_err().field, "schedules[0].programmes[1].start_time");
        let foreign = PushGuideRequest { schedules: vec![schedule("a", 0, 120, vec![programme("p1", "b", 0, 60)])] };
        assert_eq!(check_guide(&foreign).unwrap_err().field, "schedules[0].programmes[0].channel_id");
        let outside = PushGuideRequest { schedules: vec![schedule("a", 0, 60, vec![programme("p1", "a", 60, 90)])] };
        assert_eq!(check_guide(&outside).unwrap_err().field, "schedules[0].programmes[0].start_time");
        let backwards = PushGuideRequest { schedules: vec![schedule("a", 60, 0, vec![])] };
        assert_eq!(check_guide(&backwards).unwrap_err().field, "schedules[0].end_time");
        let too_long = PushGuideRequest { schedules: vec![schedule("a", 0, 22 * 24 * 60, vec![])] };
        assert!(check_guide(&too_long).is_err());
        let twice = PushGuideRequest { schedules: vec![schedule("a", 0, 60, vec![]), schedule("a", 30, 90, vec![])] };
        assert_eq!(check_guide(&twice).unwrap_err().field, "schedules[1].start_time");
        assert_eq!(check_guide(&PushGuideRequest::default()).unwrap_err().field, "schedules");
    }
}
