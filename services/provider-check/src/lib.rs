//! `hearth provider check --endpoint URL`: the IptvProvider contract's
//! behaviour (proto/hearth/provider/v1/provider.proto) run against any
//! implementation, so an operator knows their integration is right before
//! going live. Each check is independent and reports PASS, FAIL with the
//! reason, or SKIP (an optional part the implementation leaves out).

use std::{collections::HashSet, fmt, time::Duration};

use hearth_platform::wkt;
use hearth_proto::hearth::provider::v1::{self as pb, iptv_provider_client::IptvProviderClient};
use time::OffsetDateTime;
use tonic::{Code, Request, Status, transport::Channel};

/// What to check and how.
#[derive(Debug, Clone)]
pub struct CheckConfig {
    /// The implementation's gRPC endpoint, e.g. `http://127.0.0.1:50070`.
    pub endpoint: String,
    /// The provider API key Hearth would present; None when it needs none.
    pub api_key: Option<String>,
    /// A valid viewer session token, to check VerifyUserToken and the
    /// entitlement of a real user (skipped without one).
    pub user_token: Option<String>,
    /// How long to wait for WatchCatalog's first message (the contract's
    /// heartbeat is at most 60 s).
    pub watch_wait: Duration,
    /// Deadline of each unary call.
    pub timeout: Duration,
}

/// How one check ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pass(String),
    Fail(String),
    Skip(String),
}

/// One check's result.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub name: &'static str,
    pub verdict: Verdict,
}

/// Every check's result, in order.
#[derive(Debug, Default)]
pub struct Report {
    pub outcomes: Vec<Outcome>,
}

impl Report {
    /// No check failed.
    pub fn passed(&self) -> bool {
        !self.outcomes.iter().any(|o| matches!(o.verdict, Verdict::Fail(_)))
    }

    fn count(&self, f: impl Fn(&Verdict) -> bool) -> usize {
        self.outcomes.iter().filter(|o| f(&o.verdict)).count()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for outcome in &self.outcomes {
            let (tag, detail) = match &outcome.verdict {
                Verdict::Pass(d) => ("PASS", d),
                Verdict::Fail(d) => ("FAIL", d),
                Verdict::Skip(d) => ("SKIP", d),
            };
            writeln!(f, "{tag}  {:<28} {detail}", outcome.name)?;
        }
        let failed = self.count(|v| matches!(v, Verdict::Fail(_)));
        writeln!(
            f,
            "{}: {} passed, {failed} failed, {} skipped",
            if failed == 0 { "CONFORMANT" } else { "NOT CONFORMANT" },
            self.count(|v| matches!(v, Verdict::Pass(_))),
            self.count(|v| matches!(v, Verdict::Skip(_)))
        )
    }
}

type Checked = Result<Verdict, String>;

struct Checker {
    client: IptvProviderClient<Channel>,
    config: CheckConfig,
}

fn pass(detail: impl Into<String>) -> Checked {
    Ok(Verdict::Pass(detail.into()))
}

/// The call must fail with one of `codes`.
fn expect_code<T>(what: &str, result: Result<T, Status>, codes: &[Code]) -> Checked {
    match result {
        Ok(_) => Err(format!("{what}: succeeded, expected {codes:?}")),
        Err(status) if codes.contains(&status.code()) => pass(format!("{what}: {:?}", status.code())),
        Err(status) => Err(format!("{what}: {:?} ({}), expected {codes:?}", status.code(), status.message())),
    }
}

fn valid_id(value: &str) -> bool {
    !value.is_empty() && value.chars().count() <= 256 && !value.chars().any(char::is_control)
}

/// The contract's rules for one channel; the first broken one.
fn channel_problem(c: &pb::Channel) -> Option<String> {
    if !valid_id(&c.channel_id) {
        return Some(format!("channel_id {:?} is not 1–256 characters without control characters", c.channel_id));
    }
    if c.names.is_empty() || c.names.len() > 20 || c.names.iter().any(|n| n.value.trim().is_empty()) {
        return Some(format!("{}: needs 1–20 non-empty names", c.channel_id));
    }
    if c.logos.len() > 10 || c.logos.iter().any(|l| !l.url.starts_with("http://") && !l.url.starts_with("https://")) {
        return Some(format!("{}: logos must be ≤ 10 absolute http(s) URLs", c.channel_id));
    }
    if c.groups.len() > 20 || c.groups.iter().any(|g| g.is_empty() || g.chars().count() > 100) {
        return Some(format!("{}: groups must be ≤ 20 of 1–100 characters", c.channel_id));
    }
    None
}

impl Checker {
    fn request<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        request.set_timeout(self.config.timeout);
        if let Some(key) = &self.config.api_key
            && let Ok(value) = format!("Bearer {key}").parse()
        {
            request.metadata_mut().insert("authorization", value);
        }
        request
    }

    /// The whole line-up, paged by `size`: (channels, pages, sync token).
    async fn list_all(&self, size: u32) -> Result<(Vec<pb::Channel>, usize, String), String> {
        let mut client = self.client.clone();
        let (mut channels, mut pages, mut token) = (Vec::new(), 0usize, String::new());
        loop {
            let page = client
                .list_channels(self.request(pb::ListChannelsRequest {
                    page_size: size,
                    page_token: token.clone(),
                    ..Default::default()
                }))
                .await
                .map_err(|s| format!("page {}: {:?} {}", pages + 1, s.code(), s.message()))?
                .into_inner();
            pages += 1;
            if page.channels.len() > size as usize {
                return Err(format!("page {pages} holds {} channels, more than page_size {size}", page.channels.len()));
            }
            channels.extend(page.channels);
            if page.next_page_token.is_empty() {
                if page.next_sync_token.is_empty() {
                    return Err("the last page carries no next_sync_token".into());
                }
                return Ok((channels, pages, page.next_sync_token));
            }
            if !page.next_sync_token.is_empty() {
                return Err(format!("page {pages} is not the last but carries next_sync_token"));
            }
            if pages > 100_000 {
                return Err("more than 100,000 pages: the page tokens do not advance".into());
            }
            token = page.next_page_token;
        }
    }
}

/// Runs every check against `config.endpoint`.
pub async fn check(config: CheckConfig) -> Report {
    let mut report = Report::default();
    let channel = match Channel::from_shared(config.endpoint.clone()) {
        Ok(endpoint) => endpoint.connect_timeout(config.timeout).connect().await,
        Err(error) => {
            report.outcomes.push(Outcome { name: "connect", verdict: Verdict::Fail(format!("bad endpoint: {error}")) });
            return report;
        }
    };
    let channel = match channel {
        Ok(channel) => channel,
        Err(error) => {
            report
                .outcomes
                .push(Outcome { name: "connect", verdict: Verdict::Fail(format!("{}: {error}", config.endpoint)) });
            return report;
        }
    };
    let checker = Checker { client: IptvProviderClient::new(channel), config };
    let mut record = |name: &'static str, checked: Checked| {
        let verdict = checked.unwrap_or_else(Verdict::Fail);
        report.outcomes.push(Outcome { name, verdict });
    };

    record("auth.required", auth(&checker).await);
    let listed = checker.list_all(50).await;
    let (channels, sync_token) = match &listed {
        Ok((channels, pages, token)) => {
            let mut ids = HashSet::new();
            let problem = channels.iter().find_map(|c| {
                channel_problem(c)
                    .or_else(|| (!ids.insert(c.channel_id.clone())).then(|| format!("{} listed twice", c.channel_id)))
            });
            record(
                "list.full_paging",
                match problem {
                    Some(problem) => Err(problem),
                    None => pass(format!(
                        "{} channels in {pages} pages of ≤ 50, each valid and listed once",
                        channels.len()
                    )),
                },
            );
            (channels.clone(), token.clone())
        }
        Err(why) => {
            record("list.full_paging", Err(why.clone()));
            // The later checks still need channels: take the first page's.
            let mut client = checker.client.clone();
            let first = client
                .list_channels(checker.request(pb::ListChannelsRequest { page_size: 50, ..Default::default() }))
                .await;
            let mut channels: Vec<pb::Channel> = first.map(|r| r.into_inner().channels).unwrap_or_default();
            let mut seen = HashSet::new();
            channels.retain(|c| seen.insert(c.channel_id.clone()));
            (channels, String::new())
        }
    };
    record("list.stable_order", stable_order(&checker, &channels).await);
    record("list.page_limits", page_limits(&checker).await);
    let mut client = checker.client.clone();
    record(
        "list.bad_page_token",
        expect_code(
            "page_token \"hearth-check-bogus\"",
            client
                .list_channels(
                    checker.request(pb::ListChannelsRequest {
                        page_token: "hearth-check-bogus".into(),
                        ..Default::default()
                    }),
                )
                .await,
            &[Code::InvalidArgument, Code::FailedPrecondition],
        ),
    );
    record("sync.incremental", incremental(&checker, &sync_token).await);
    record(
        "sync.invalid_token",
        expect_code(
            "sync_token \"hearth-check-bogus\"",
            client
                .list_channels(
                    checker.request(pb::ListChannelsRequest {
                        sync_token: "hearth-check-bogus".into(),
                        ..Default::default()
                    }),
                )
                .await,
            &[Code::FailedPrecondition, Code::InvalidArgument],
        ),
    );
    record("watch.stream", watch(&checker, &sync_token).await);
    record("guide.window", guide(&checker, &channels).await);
    record("guide.invalid_window", guide_limits(&checker).await);
    record("guide.unknown_channel", guide_unknown(&checker).await);
    record("entitlement.validation", entitlement_validation(&checker, &channels).await);
    record("entitlement.unknown_users", entitlement_unknown(&checker, &channels).await);
    record("user.invalid_token", verify_invalid(&checker).await);
    record("user.verify_and_entitle", verify_user(&checker, &channels).await);
    record("assets.optional", assets(&checker).await);
    report
}

async fn auth(checker: &Checker) -> Checked {
    if checker.config.api_key.is_none() {
        return Ok(Verdict::Skip("no --api-key given: the endpoint is checked as open".into()));
    }
    let mut client = checker.client.clone();
    let mut anonymous = Request::new(pb::ListChannelsRequest::default());
    anonymous.set_timeout(checker.config.timeout);
    expect_code("without credentials", client.list_channels(anonymous).await, &[Code::Unauthenticated])?;
    let mut wrong = Request::new(pb::ListChannelsRequest::default());
    if let Ok(value) = "Bearer hearth-check-wrong-key".parse() {
        wrong.metadata_mut().insert("authorization", value);
    }
    expect_code("with a wrong key", client.list_channels(wrong).await, &[Code::Unauthenticated])?;
    pass("missing and wrong keys are UNAUTHENTICATED")
}

async fn stable_order(checker: &Checker, channels: &[pb::Channel]) -> Checked {
    let (again, _, _) = checker.list_all(1000).await?;
    let first: Vec<&str> = channels.iter().map(|c| c.channel_id.as_str()).collect();
    let second: Vec<&str> = again.iter().map(|c| c.channel_id.as_str()).collect();
    if first != second {
        return Err(format!(
            "pages of 50 and of 1000 list different orders ({} vs {} channels)",
            first.len(),
            second.len()
        ));
    }
    pass(format!("the same {} ids in the same order with pages of 1000", second.len()))
}

async fn page_limits(checker: &Checker) -> Checked {
    let mut client = checker.client.clone();
    expect_code(
        "page_size 1001",
        client.list_channels(checker.request(pb::ListChannelsRequest { page_size: 1001, ..Default::default() })).await,
        &[Code::InvalidArgument],
    )?;
    let default = client
        .list_channels(checker.request(pb::ListChannelsRequest::default()))
        .await
        .map_err(|s| format!("page_size 0: {:?} {}", s.code(), s.message()))?
        .into_inner();
    if default.channels.len() > 500 {
        return Err(format!("page_size 0 returned {} channels (default is 500)", default.channels.len()));
    }
    pass(format!("1001 refused; 0 gave {} (≤ 500)", default.channels.len()))
}

async fn incremental(checker: &Checker, token: &str) -> Checked {
    if token.is_empty() {
        return Err("no sync token from the full listing".into());
    }
    let mut client = checker.client.clone();
    let mut page_token = String::new();
    let (mut upserts, mut removals) = (0, 0);
    loop {
        let page = client
            .list_channels(checker.request(pb::ListChannelsRequest {
                sync_token: token.to_owned(),
                page_token: page_token.clone(),
                page_size: 1000,
            }))
            .await
            .map_err(|s| format!("{:?} {}", s.code(), s.message()))?
            .into_inner();
        if page.full_listing {
            return pass("answered with a full listing (allowed)");
        }
        upserts += page.channels.len();
        removals += page.removed_channel_ids.len();
        if page.next_page_token.is_empty() {
            if page.next_sync_token.is_empty() {
                return Err("the incremental listing's last page carries no next_sync_token".into());
            }
            return pass(format!("{upserts} upserts, {removals} removals since the token; a new token"));
        }
        page_token = page.next_page_token;
    }
}

async fn watch(checker: &Checker, token: &str) -> Checked {
    if token.is_empty() {
        return Err("no sync token from the full listing".into());
    }
    let mut client = checker.client.clone();
    let mut request = Request::new(pb::WatchCatalogRequest { sync_token: token.to_owned() });
    if let Some(key) = &checker.config.api_key
        && let Ok(value) = format!("Bearer {key}").parse()
    {
        request.metadata_mut().insert("authorization", value);
    }
    let mut stream = match client.watch_catalog(request).await {
        Ok(response) => response.into_inner(),
        Err(status) if status.code() == Code::Unimplemented => {
            return Ok(Verdict::Skip("UNIMPLEMENTED (allowed: Hearth polls ListChannels)".into()));
        }
        Err(status) => return Err(format!("{:?} {}", status.code(), status.message())),
    };
    match tokio::time::timeout(checker.config.watch_wait, stream.message()).await {
        Err(_) => {
            Err(format!("no message within {:?} (heartbeats are due at least every 60 s)", checker.config.watch_wait))
        }
        Ok(Err(status)) => Err(format!("{:?} {}", status.code(), status.message())),
        Ok(Ok(None)) => Err("the stream ended at once".into()),
        Ok(Ok(Some(first))) if first.sync_token.is_empty() => Err("a message without sync_token".into()),
        Ok(Ok(Some(first))) => {
            let mut client = checker.client.clone();
            let bogus = pb::WatchCatalogRequest { sync_token: "hearth-check-bogus".into() };
            let invalid = client.watch_catalog(checker.request(bogus)).await;
            expect_code("an invalid token", invalid.map(|_| ()), &[Code::FailedPrecondition, Code::InvalidArgument])?;
            pass(format!(
                "first message: {} upserts, {} removals and a sync token; an invalid token is refused",
                first.upserted.len(),
                first.removed_channel_ids.len()
            ))
        }
    }
}

async fn guide(checker: &Checker, channels: &[pb::Channel]) -> Checked {
    let wanted: Vec<String> = channels.iter().take(200).map(|c| c.channel_id.clone()).collect();
    if wanted.is_empty() {
        return Ok(Verdict::Skip("no channels to ask about".into()));
    }
    let now = OffsetDateTime::now_utc();
    let (start, end) = (now - time::Duration::hours(2), now + time::Duration::hours(24));
    let mut client = checker.client.clone();
    let mut stream = client
        .get_guide(checker.request(pb::GetGuideRequest {
            channel_ids: wanted.clone(),
            start_time: Some(wkt::timestamp(start)),
            end_time: Some(wkt::timestamp(end)),
        }))
        .await
        .map_err(|s| format!("{:?} {}", s.code(), s.message()))?
        .into_inner();
    let requested: HashSet<&str> = wanted.iter().map(String::as_str).collect();
    let (mut batches, mut count) = (0, 0);
    let mut ids = HashSet::new();
    let mut last: Option<(String, OffsetDateTime, OffsetDateTime)> = None;
    let mut with_guide = HashSet::new();
    while let Some(batch) = stream.message().await.map_err(|s| format!("{:?} {}", s.code(), s.message()))? {
        batches += 1;
        if batch.programmes.is_empty() || batch.programmes.len() > 1000 {
            return Err(format!("batch {batches} holds {} programmes (1–1000)", batch.programmes.len()));
        }
        for p in batch.programmes {
            count += 1;
            let (Some(s), Some(e)) =
                (p.start_time.as_ref().and_then(wkt::datetime), p.end_time.as_ref().and_then(wkt::datetime))
            else {
                return Err(format!("{}: missing start or end", p.programme_id));
            };
            if !valid_id(&p.programme_id) || !ids.insert(p.programme_id.clone()) {
                return Err(format!("programme id {:?} invalid or repeated", p.programme_id));
            }
            if !requested.contains(p.channel_id.as_str()) {
                return Err(format!("{}: channel {} was not asked for", p.programme_id, p.channel_id));
            }
            if e <= s || s >= end || e <= start {
                return Err(format!("{}: {s} – {e} is empty or outside the window", p.programme_id));
            }
            if p.titles.is_empty() {
                return Err(format!("{}: no title", p.programme_id));
            }
            if let Some((channel, last_start, last_end)) = &last {
                if *channel > p.channel_id || (*channel == p.channel_id && *last_start > s) {
                    return Err(format!("{}: not ordered by channel then start", p.programme_id));
                }
                if *channel == p.channel_id && *last_end > s {
                    return Err(format!("{}: overlaps the programme before it", p.programme_id));
                }
            }
            with_guide.insert(p.channel_id.clone());
            last = Some((p.channel_id, s, e));
        }
    }
    pass(format!(
        "{count} programmes for {} of {} channels in {batches} batches: ordered, no overlaps",
        with_guide.len(),
        wanted.len()
    ))
}

async fn guide_limits(checker: &Checker) -> Checked {
    let now = OffsetDateTime::now_utc();
    let mut client = checker.client.clone();
    let window = |start: OffsetDateTime, end: OffsetDateTime| pb::GetGuideRequest {
        channel_ids: Vec::new(),
        start_time: Some(wkt::timestamp(start)),
        end_time: Some(wkt::timestamp(end)),
    };
    expect_code(
        "an empty window",
        client.get_guide(checker.request(window(now, now))).await.map(|_| ()),
        &[Code::InvalidArgument],
    )?;
    expect_code(
        "a 22-day window",
        client.get_guide(checker.request(window(now, now + time::Duration::days(22)))).await.map(|_| ()),
        &[Code::InvalidArgument],
    )?;
    expect_code(
        "no window",
        client.get_guide(checker.request(pb::GetGuideRequest::default())).await.map(|_| ()),
        &[Code::InvalidArgument],
    )?;
    pass("empty, 22-day and missing windows are INVALID_ARGUMENT")
}

async fn guide_unknown(checker: &Checker) -> Checked {
    let now = OffsetDateTime::now_utc();
    let mut client = checker.client.clone();
    let mut stream = client
        .get_guide(checker.request(pb::GetGuideRequest {
            channel_ids: vec!["hearth-check-unknown-channel".into()],
            start_time: Some(wkt::timestamp(now)),
            end_time: Some(wkt::timestamp(now + time::Duration::hours(1))),
        }))
        .await
        .map_err(|s| format!("{:?} {}", s.code(), s.message()))?
        .into_inner();
    let mut count = 0;
    while let Some(batch) = stream.message().await.map_err(|s| format!("{:?} {}", s.code(), s.message()))? {
        count += batch.programmes.len();
    }
    if count > 0 {
        return Err(format!("{count} programmes for a channel that does not exist"));
    }
    pass("skipped without error")
}

fn target(channels: &[pb::Channel]) -> Option<pb::check_entitlement_request::Target> {
    channels.first().map(|c| pb::check_entitlement_request::Target::ChannelId(c.channel_id.clone()))
}

async fn entitlement_validation(checker: &Checker, channels: &[pb::Channel]) -> Checked {
    let mut client = checker.client.clone();
    expect_code(
        "no users",
        client
            .check_entitlement(
                checker.request(pb::CheckEntitlementRequest { provider_user_ids: vec![], target: target(channels) }),
            )
            .await,
        &[Code::InvalidArgument],
    )?;
    expect_code(
        "no target",
        client
            .check_entitlement(checker.request(pb::CheckEntitlementRequest {
                provider_user_ids: vec!["hearth-check-user".into()],
                target: None,
            }))
            .await,
        &[Code::InvalidArgument],
    )?;
    pass("no users and no target are INVALID_ARGUMENT")
}

async fn entitlement_unknown(checker: &Checker, channels: &[pb::Channel]) -> Checked {
    let Some(target) = target(channels) else { return Ok(Verdict::Skip("no channels".into())) };
    let users = vec!["hearth-check-unknown-user-1".to_owned(), "hearth-check-unknown-user-2".to_owned()];
    let mut client = checker.client.clone();
    let answer = client
        .check_entitlement(
            checker.request(pb::CheckEntitlementRequest { provider_user_ids: users.clone(), target: Some(target) }),
        )
        .await
        .map_err(|s| format!("unknown users must be answers, not errors: {:?} {}", s.code(), s.message()))?
        .into_inner();
    let ids: Vec<&str> = answer.decisions.iter().map(|d| d.provider_user_id.as_str()).collect();
    if ids != users.iter().map(String::as_str).collect::<Vec<_>>() {
        return Err(format!("decisions {ids:?} are not one per user in request order"));
    }
    if let Some(d) = answer.decisions.iter().find(|d| d.allowed || d.reason != pb::DenialReason::UnknownUser as i32) {
        return Err(format!(
            "{}: allowed={} reason={} (expected not allowed, UNKNOWN_USER)",
            d.provider_user_id, d.allowed, d.reason
        ));
    }
    if let Some(ttl) = &answer.cache_ttl
        && wkt::std_duration(ttl).is_none_or(|t| t > Duration::from_secs(3600))
    {
        return Err("cache_ttl must be 0 – 1 h".into());
    }
    pass("one decision per user, in order: not allowed, UNKNOWN_USER")
}

async fn verify_invalid(checker: &Checker) -> Checked {
    let mut client = checker.client.clone();
    expect_code(
        "an empty token",
        client
            .verify_user_token(
                checker.request(pb::VerifyUserTokenRequest { token: String::new(), ..Default::default() }),
            )
            .await,
        &[Code::InvalidArgument],
    )?;
    expect_code(
        "an unknown token",
        client
            .verify_user_token(checker.request(pb::VerifyUserTokenRequest {
                token: "hearth-check-invalid-token".into(),
                ..Default::default()
            }))
            .await,
        &[Code::Unauthenticated],
    )?;
    pass("empty: INVALID_ARGUMENT; unknown: UNAUTHENTICATED")
}

async fn verify_user(checker: &Checker, channels: &[pb::Channel]) -> Checked {
    let Some(token) = checker.config.user_token.clone() else {
        return Ok(Verdict::Skip("no --user-token given".into()));
    };
    let mut client = checker.client.clone();
    let verified = client
        .verify_user_token(checker.request(pb::VerifyUserTokenRequest { token, ..Default::default() }))
        .await
        .map_err(|s| format!("the given token: {:?} {}", s.code(), s.message()))?
        .into_inner();
    let user = verified.user.ok_or("no user in the answer")?;
    if !valid_id(&user.provider_user_id) || user.display_name.is_empty() || user.display_name.chars().count() > 64 {
        return Err(format!(
            "user {:?} / {:?}: id must be 1–256 characters, display name 1–64",
            user.provider_user_id, user.display_name
        ));
    }
    let Some(target) = target(channels) else {
        return pass(format!("{} verified; no channel to check", user.provider_user_id));
    };
    let answer = client
        .check_entitlement(checker.request(pb::CheckEntitlementRequest {
            provider_user_ids: vec![user.provider_user_id.clone()],
            target: Some(target),
        }))
        .await
        .map_err(|s| format!("entitlement: {:?} {}", s.code(), s.message()))?
        .into_inner();
    match answer.decisions.as_slice() {
        [d] if d.provider_user_id == user.provider_user_id
            && (d.allowed || d.reason != pb::DenialReason::UnknownUser as i32) =>
        {
            pass(format!(
                "{} ({}) verified; first channel allowed={}",
                user.provider_user_id, user.display_name, d.allowed
            ))
        }
        other => Err(format!("the verified user got {other:?} (a decision for a known user)")),
    }
}

async fn assets(checker: &Checker) -> Checked {
    let mut client = checker.client.clone();
    match client
        .batch_get_assets(checker.request(pb::BatchGetAssetsRequest { asset_ids: vec!["hearth-check-asset".into()] }))
        .await
    {
        Ok(answer) if answer.get_ref().assets.iter().any(|a| a.asset_id == "hearth-check-asset") => {
            Err("returned an asset for an id that does not exist".into())
        }
        Ok(_) => {
            let empty = client.batch_get_assets(checker.request(pb::BatchGetAssetsRequest { asset_ids: vec![] })).await;
            expect_code("no asset ids", empty, &[Code::InvalidArgument])?;
            pass("unknown ids left out; no ids is INVALID_ARGUMENT")
        }
        Err(status) if status.code() == Code::Unimplemented => Ok(Verdict::Skip("UNIMPLEMENTED (allowed)".into())),
        Err(status) => Err(format!("{:?} {}", status.code(), status.message())),
    }
}
