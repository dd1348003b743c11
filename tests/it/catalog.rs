//! The provider role end to end: catalog sync from the reference adapter
//! (the real iptv-org `us.m3u` plus channels of our own with a guide
//! around now), CatalogService reads, entitlement checks for Hearth users,
//! ProviderIngest pushes and viewing events on JetStream, and the guide
//! clock announcing programme boundaries.

use std::{path::Path, time::Duration};

use async_nats::jetstream::{self, consumer::pull};
use futures::StreamExt;
use hearth::Role;
use hearth_platform::{error::status_field, error::status_reason, secret::SecretString, wkt};
use hearth_proto::{
    hearth::{
        events::v1::Envelope,
        provider::v1::{
            self as pb, catalog_event, catalog_service_client::CatalogServiceClient,
            iptv_provider_client::IptvProviderClient, provider_ingest_client::ProviderIngestClient,
        },
    },
    identity::ExchangeProviderTokenRequest,
};
use hearth_provider_m3u::{AdapterConfig, Running, start};
use hearth_tests::{TestApp, authed, eventually};
use prost::Message;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use tonic::Code;

const INGEST_KEY: &str = "ingest-key";

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("hearth-catalog-{name}-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn xmltv_time(at: OffsetDateTime) -> String {
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02} +0000",
        at.year(),
        at.month() as u8,
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// The real playlist plus three channels of our own (News, Sport, Kids)
/// with two hours of guide around now; viewers Ann (News package) and Bob
/// (everything).
async fn adapter(dir: &Path, real: &Path, shutdown: &CancellationToken) -> Running {
    let mut playlist = std::fs::read_to_string(real).expect("us.m3u");
    for (id, group, name) in
        [("hearth.news", "News", "Hearth News"), ("sport", "Sports", "Hearth Sport"), ("kids", "Kids", "Hearth Kids")]
    {
        playlist.push_str(&format!(
            "\n#EXTINF:-1 tvg-id=\"{id}\" tvg-logo=\"https://img.example/{id}.png\" group-title=\"{group}\",{name}\nhttp://example.test/{id}.m3u8\n"
        ));
    }
    std::fs::write(dir.join("playlist.m3u"), playlist).expect("playlist");
    let base = OffsetDateTime::now_utc().replace_nanosecond(0).expect("ns") - time::Duration::minutes(30);
    let mut xml = String::from("<tv>\n");
    for id in ["hearth.news", "sport", "kids"] {
        xml.push_str(&format!("<channel id='{id}'><display-name>{id}</display-name></channel>\n"));
        for slot in 0..4 {
            let start = base + time::Duration::minutes(30 * slot);
            xml.push_str(&format!(
                "<programme start=\"{}\" stop=\"{}\" channel=\"{id}\"><title lang=\"en\">{id} show {slot}</title>{}</programme>\n",
                xmltv_time(start),
                xmltv_time(start + time::Duration::minutes(30)),
                if id == "sport" && slot == 1 { "<live/>" } else { "" }
            ));
        }
    }
    xml.push_str("</tv>\n");
    std::fs::write(dir.join("guide.xml"), xml).expect("guide");
    std::fs::write(
        dir.join("users.json"),
        r#"{"users": [
            {"token": "tok-ann", "id": "ann", "name": "Ann", "packages": ["News"]},
            {"token": "tok-bob", "id": "bob", "name": "Bob", "all_channels": true}
        ]}"#,
    )
    .expect("users");
    start(
        AdapterConfig {
            playlist: dir.join("playlist.m3u").display().to_string(),
            guides: vec![dir.join("guide.xml").display().to_string()],
            header_guides: false,
            users: Some(dir.join("users.json")),
            api_key: Some("provider-key".into()),
            addr: "127.0.0.1:0".parse().expect("addr"),
            reload: None,
            heartbeat: Duration::from_secs(1),
        },
        shutdown.clone(),
    )
    .await
    .expect("start the reference provider")
}

/// The adapter's channel count, and channel ids by name.
async fn channel_ids(adapter: &Running) -> (usize, std::collections::HashMap<String, String>) {
    let mut client = IptvProviderClient::connect(format!("http://{}", adapter.addr)).await.expect("adapter");
    let mut ids = std::collections::HashMap::new();
    let mut count = 0;
    let mut page_token = String::new();
    loop {
        let mut request =
            tonic::Request::new(pb::ListChannelsRequest { page_size: 1000, page_token, sync_token: String::new() });
        request.metadata_mut().insert("authorization", "Bearer provider-key".parse().expect("header"));
        let page = client.list_channels(request).await.expect("list").into_inner();
        count += page.channels.len();
        for channel in page.channels {
            ids.insert(channel.names[0].value.clone(), channel.channel_id);
        }
        if page.next_page_token.is_empty() {
            return (count, ids);
        }
        page_token = page.next_page_token;
    }
}

fn ingest<T>(message: T, key: &str) -> tonic::Request<T> {
    authed(message, key)
}

/// Every event on `subject` (under the app's prefix) in the PROVIDER stream.
async fn stream_events(app: &TestApp, subject: &str) -> Vec<Envelope> {
    let client = async_nats::connect(app.config.nats.url.expose()).await.expect("nats");
    let js = jetstream::new(client);
    let prefix: String = app
        .config
        .nats
        .subject_prefix
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' })
        .collect();
    let stream = js.get_stream(format!("{prefix}_PROVIDER")).await.expect("PROVIDER stream");
    let consumer = stream
        .create_consumer(pull::Config {
            filter_subject: format!("{}.{subject}", app.config.nats.subject_prefix),
            ack_policy: jetstream::consumer::AckPolicy::None,
            ..Default::default()
        })
        .await
        .expect("consumer");
    let mut messages =
        consumer.fetch().max_messages(10_000).expires(Duration::from_millis(700)).messages().await.expect("fetch");
    let mut out = Vec::new();
    while let Some(Ok(message)) = messages.next().await {
        out.push(Envelope::decode(message.payload.as_ref()).expect("envelope"));
    }
    out
}

#[tokio::test]
async fn the_catalog_follows_the_provider_and_checks_entitlements() {
    let Some(real) = hearth_iptv_formats::testdata::shared("iptv/m3u/iptv-org_2026-06/us.m3u") else { return };
    let shutdown = CancellationToken::new();
    let dir = scratch("sync");
    let adapter = adapter(&dir, &real, &shutdown).await;
    let (count, ids) = channel_ids(&adapter).await;
    let url = format!("http://{}", adapter.addr);
    let app = TestApp::spawn_with(Role::ALL, |config| {
        config.provider.url = Some(url);
        config.provider.api_key = Some(SecretString::new("provider-key"));
        config.provider.ingest_key = Some(SecretString::new(INGEST_KEY));
    })
    .await;
    let service = app.token("service:test", &["service"]);
    let mut catalog = CatalogServiceClient::connect(app.grpc_url.clone()).await.expect("catalog");

    // The whole line-up arrives, each channel announced once.
    let news = ids["Hearth News"].clone();
    let sport = ids["Hearth Sport"].clone();
    let pool = sqlx::PgPool::connect(app.config.database.url.expose()).await.expect("pg");
    let stored: i64 = eventually("the line-up in the catalog", || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM catalog.channels WHERE removed_at IS NULL")
            .fetch_one(&pool)
            .await
            .ok()?;
        (n as usize == count).then_some(n)
    })
    .await;
    assert_eq!(stored as usize, count);
    assert!(count > 600, "the real playlist has hundreds of channels: {count}");
    let announced = eventually("every channel announced", || async {
        let events = stream_events(&app, "provider.catalog.channel").await;
        (events.len() >= count).then_some(events)
    })
    .await;
    assert_eq!(announced.len(), count, "one announcement per channel");

    // What airs now and next, and the guide, once the guide is synced.
    let now_next = eventually("now/next of Hearth News", || {
        let mut catalog = catalog.clone();
        let request = authed(pb::BatchGetNowNextRequest { channel_ids: vec![news.clone()], at: None }, &service);
        async move {
            let answer = catalog.batch_get_now_next(request).await.ok()?.into_inner();
            answer.channels.into_iter().next().filter(|n| n.now.is_some())
        }
    })
    .await;
    assert_eq!(now_next.now.as_ref().map(|p| p.titles[0].value.as_str()), Some("hearth.news show 1"));
    assert_eq!(now_next.next.as_ref().map(|p| p.titles[0].value.as_str()), Some("hearth.news show 2"));
    let now = OffsetDateTime::now_utc();
    let window = |start: OffsetDateTime, end: OffsetDateTime| pb::ListGuideRequest {
        channel_id: sport.clone(),
        start_time: Some(wkt::timestamp(start)),
        end_time: Some(wkt::timestamp(end)),
    };
    let guide = catalog
        .list_guide(authed(window(now - time::Duration::hours(1), now + time::Duration::hours(2)), &service))
        .await
        .expect("guide")
        .into_inner();
    assert_eq!(guide.programmes.len(), 4);
    assert!(guide.programmes[1].live, "the live flag survives the sync");
    let too_long =
        catalog.list_guide(authed(window(now, now + time::Duration::days(8)), &service)).await.expect_err("8 days");
    assert_eq!((too_long.code(), status_field(&too_long)), (Code::InvalidArgument, Some("end_time")));
    let mut unknown = window(now, now + time::Duration::hours(1));
    unknown.channel_id = "no-such-channel".into();
    let unknown = catalog.list_guide(authed(unknown, &service)).await.expect_err("unknown channel");
    assert_eq!((unknown.code(), status_reason(&unknown)), (Code::NotFound, Some("unknown_channel")));
    let channels = catalog
        .batch_get_channels(authed(
            pb::BatchGetChannelsRequest { channel_ids: vec![sport.clone(), "missing".into(), news.clone()] },
            &service,
        ))
        .await
        .expect("channels")
        .into_inner()
        .channels;
    assert_eq!(channels.iter().map(|c| c.channel_id.as_str()).collect::<Vec<_>>(), [sport.as_str(), news.as_str()]);

    // Entitlements: Ann has the News package, Bob everything, Carol has no
    // linked provider account; only services may ask.
    let mut identity = app.identity().await;
    let exchange =
        |token: &str| ExchangeProviderTokenRequest { provider_token: token.into(), client_ip: "192.0.2.1".into() };
    let ann = identity.exchange_provider_token(exchange("tok-ann")).await.expect("ann").into_inner();
    let bob = identity.exchange_provider_token(exchange("tok-bob")).await.expect("bob").into_inner();
    let carol = app.register("carol").await;
    let check = |channel: &str| pb::BatchCheckEntitlementRequest {
        user_ids: vec![ann.user_id.clone(), bob.user_id.clone(), carol.user_id.clone()],
        target: Some(pb::batch_check_entitlement_request::Target::ChannelId(channel.to_owned())),
    };
    let decisions = catalog.batch_check_entitlement(authed(check(&sport), &service)).await.expect("check").into_inner();
    let summary: Vec<(bool, pb::DenialReason)> = decisions.decisions.iter().map(|d| (d.allowed, d.reason())).collect();
    assert_eq!(
        summary,
        [
            (false, pb::DenialReason::NotSubscribed),
            (true, pb::DenialReason::Unspecified),
            (false, pb::DenialReason::UnknownUser)
        ]
    );
    let decisions = catalog.batch_check_entitlement(authed(check(&news), &service)).await.expect("check").into_inner();
    assert_eq!(decisions.decisions.iter().map(|d| d.allowed).collect::<Vec<_>>(), [true, true, false]);
    let as_user = catalog.batch_check_entitlement(authed(check(&news), &carol.access_token)).await.expect_err("user");
    assert_eq!(as_user.code(), Code::PermissionDenied);
    let mut bad = check(&news);
    bad.user_ids.push("not-a-uuid".into());
    let bad = catalog.batch_check_entitlement(authed(bad, &service)).await.expect_err("bad id");
    assert_eq!((bad.code(), status_field(&bad)), (Code::InvalidArgument, Some("user_ids[3]")));

    // Viewing events: linked viewers are named, resends are duplicates,
    // bad events are rejected one by one.
    let mut ingest_client = ProviderIngestClient::connect(app.grpc_url.clone()).await.expect("ingest");
    let at = Some(wkt::timestamp(OffsetDateTime::now_utc()));
    let event = |id: &str, user: &str, kind: pb::ViewingEventKind| pb::ViewingEvent {
        event_id: id.into(),
        provider_user_id: user.into(),
        kind: kind as i32,
        item: Some(pb::viewing_event::Item::ChannelId(news.clone())),
        occur_time: at,
        ..Default::default()
    };
    let mut zap = event("ev-3", "bob", pb::ViewingEventKind::Zap);
    zap.previous_channel_id = sport.clone();
    let mut stale = event("ev-old", "ann", pb::ViewingEventKind::Start);
    stale.occur_time = Some(wkt::timestamp(OffsetDateTime::now_utc() - time::Duration::days(8)));
    let batches = vec![
        pb::ReportViewingRequest {
            events: vec![
                event("ev-1", "ann", pb::ViewingEventKind::Start),
                event("ev-2", "someone-unlinked", pb::ViewingEventKind::Heartbeat),
                zap,
                stale,
                event("ev-1", "ann", pb::ViewingEventKind::Start),
            ],
        },
        pb::ReportViewingRequest { events: vec![event("ev-4", "ann", pb::ViewingEventKind::Stop)] },
    ];
    let report = |batches: Vec<pb::ReportViewingRequest>| {
        let mut client = ingest_client.clone();
        async move {
            client
                .report_viewing(ingest(futures::stream::iter(batches), INGEST_KEY))
                .await
                .expect("report")
                .into_inner()
        }
    };
    let first = report(batches.clone()).await;
    assert_eq!((first.accepted_count, first.duplicate_count, first.rejected_count), (4, 1, 1), "{first:?}");
    assert_eq!(
        (first.rejected[0].event_id.as_str(), first.rejected[0].reason.as_str()),
        ("ev-old", "occur_time_out_of_range")
    );
    let again = report(batches).await;
    assert_eq!((again.accepted_count, again.duplicate_count, again.rejected_count), (0, 5, 1), "{again:?}");
    let viewing = stream_events(&app, "provider.viewing.>").await;
    assert_eq!(viewing.len(), 4, "each event stored once");
    let recorded: Vec<pb::ViewingRecorded> =
        viewing.iter().map(|e| pb::ViewingRecorded::decode(e.payload.as_slice()).expect("recorded")).collect();
    let by_id = |id: &str| recorded.iter().find(|r| r.event.as_ref().is_some_and(|e| e.event_id == id)).expect("event");
    assert_eq!(by_id("ev-1").user_id, ann.user_id, "linked viewers are named");
    assert_eq!(by_id("ev-2").user_id, "", "unlinked viewers still count, unnamed");
    assert_eq!(by_id("ev-3").user_id, bob.user_id);
    assert!(viewing.iter().any(|e| e.subject.ends_with(".provider.viewing.zap")));
    let wrong = ingest_client
        .report_viewing(ingest(futures::stream::iter(Vec::<pb::ReportViewingRequest>::new()), "wrong"))
        .await
        .expect_err("wrong key");
    assert_eq!(wrong.code(), Code::Unauthenticated);
    let oversized = pb::ReportViewingRequest {
        events: (0..1001).map(|i| event(&format!("x{i}"), "ann", pb::ViewingEventKind::Heartbeat)).collect(),
    };
    let oversized = ingest_client
        .report_viewing(ingest(futures::stream::iter(vec![oversized]), INGEST_KEY))
        .await
        .expect_err("1001 events");
    assert_eq!((oversized.code(), status_field(&oversized)), (Code::InvalidArgument, Some("events")));
    shutdown.cancel();
}

#[tokio::test]
async fn pushed_catalog_and_guide_are_stored_announced_and_clocked() {
    let app = TestApp::spawn_with(Role::ALL, |config| {
        config.provider.ingest_key = Some(SecretString::new(INGEST_KEY));
        config.provider.now_tick = Duration::from_millis(500);
    })
    .await;
    let service = app.token("service:test", &["service"]);
    let mut ingest_client = ProviderIngestClient::connect(app.grpc_url.clone()).await.expect("ingest");
    let mut catalog = CatalogServiceClient::connect(app.grpc_url.clone()).await.expect("catalog");
    let channel = |id: &str, name: &str| pb::Channel {
        channel_id: id.into(),
        names: vec![pb::LocalizedString { language: "en".into(), value: name.into() }],
        groups: vec!["News".into()],
        ..Default::default()
    };
    let push = pb::PushCatalogRequest {
        upserts: vec![channel("ch-1", "One"), channel("ch-2", "Two")],
        removed_channel_ids: vec![],
    };
    let wrong = ingest_client.push_catalog(ingest(push.clone(), "nope")).await.expect_err("wrong key");
    assert_eq!(wrong.code(), Code::Unauthenticated);
    let pushed = ingest_client.push_catalog(ingest(push.clone(), INGEST_KEY)).await.expect("push").into_inner();
    assert_eq!((pushed.upserted_count, pushed.removed_count), (2, 0));
    ingest_client.push_catalog(ingest(push, INGEST_KEY)).await.expect("push again");
    let invalid = pb::PushCatalogRequest { upserts: vec![channel("ch-3", "")], removed_channel_ids: vec![] };
    let invalid = ingest_client.push_catalog(ingest(invalid, INGEST_KEY)).await.expect_err("nameless");
    assert_eq!((invalid.code(), status_field(&invalid)), (Code::InvalidArgument, Some("upserts[0].names[0].value")));
    let removed = ingest_client
        .push_catalog(ingest(
            pb::PushCatalogRequest { upserts: vec![], removed_channel_ids: vec!["ch-2".into(), "never".into()] },
            INGEST_KEY,
        ))
        .await
        .expect("remove")
        .into_inner();
    assert_eq!(removed.removed_count, 1, "removing an unknown channel is a no-op");
    let events = eventually("three channel announcements", || async {
        let events = stream_events(&app, "provider.catalog.channel").await;
        (events.len() >= 3).then_some(events)
    })
    .await;
    let kinds: Vec<&'static str> = events
        .iter()
        .map(|e| match pb::CatalogEvent::decode(e.payload.as_slice()).expect("event").kind {
            Some(catalog_event::Kind::ChannelUpserted(_)) => "upserted",
            Some(catalog_event::Kind::ChannelRemoved(_)) => "removed",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["upserted", "upserted", "removed"], "a repeated push announces nothing new");

    // A guide whose first programme ends in two seconds: the clock
    // announces the next one as it starts.
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).expect("ns");
    let ts = |t: OffsetDateTime| Some(wkt::timestamp(t));
    let programme = |id: &str, channel: &str, start: OffsetDateTime, end: OffsetDateTime| pb::Programme {
        programme_id: format!("{id}{}", if channel == "ch-1" { "" } else { channel }),
        channel_id: channel.into(),
        start_time: ts(start),
        end_time: ts(end),
        titles: vec![pb::LocalizedString { language: "en".into(), value: id.into() }],
        ..Default::default()
    };
    let switch = now + time::Duration::seconds(3);
    let schedule = |channel: &str| pb::ChannelSchedule {
        channel_id: channel.into(),
        start_time: ts(now - time::Duration::minutes(10)),
        end_time: ts(now + time::Duration::hours(1)),
        programmes: vec![
            programme("early", channel, now - time::Duration::minutes(10), switch),
            programme("late", channel, switch, now + time::Duration::minutes(40)),
        ],
    };
    let unknown = ingest_client
        .push_guide(ingest(pb::PushGuideRequest { schedules: vec![schedule("ch-1"), schedule("ch-9")] }, INGEST_KEY))
        .await
        .expect_err("unknown channel");
    assert_eq!(
        (unknown.code(), status_reason(&unknown), status_field(&unknown)),
        (Code::NotFound, Some("unknown_channel"), Some("schedules[1].channel_id"))
    );
    let guide = ingest_client
        .push_guide(ingest(pb::PushGuideRequest { schedules: vec![schedule("ch-1")] }, INGEST_KEY))
        .await
        .expect("guide")
        .into_inner();
    assert_eq!(guide.programme_count, 2);
    let answer = catalog
        .batch_get_now_next(authed(pb::BatchGetNowNextRequest { channel_ids: vec!["ch-1".into()], at: None }, &service))
        .await
        .expect("now/next")
        .into_inner();
    let titles = |n: &pb::ChannelNowNext| {
        (n.now.as_ref().map(|p| p.programme_id.clone()), n.next.as_ref().map(|p| p.programme_id.clone()))
    };
    assert_eq!(titles(&answer.channels[0]), (Some("early".into()), Some("late".into())));
    let late = eventually("the clock announcing `late`", || async {
        let events = stream_events(&app, "provider.catalog.now").await;
        events.iter().find_map(|e| match pb::CatalogEvent::decode(e.payload.as_slice()).ok()?.kind? {
            catalog_event::Kind::NowChanged(n) if n.now.as_ref().is_some_and(|p| p.programme_id == "late") => Some(n),
            _ => None,
        })
    })
    .await;
    assert_eq!(late.channel_id, "ch-1");
    assert!(late.next.is_none());
    assert!(OffsetDateTime::now_utc() >= switch, "announced at the boundary, not before");
    let updates = stream_events(&app, "provider.catalog.guide").await;
    assert_eq!(updates.len(), 1, "one guide change announced");
}

#[tokio::test]
async fn channel_rooms_follow_the_catalog_with_the_guide_and_entitlements() {
    use hearth_proto::hearth::{
        common::v1::{MediaRef, media_ref},
        rooms::v1::{self as rooms, rooms_service_client::RoomsServiceClient},
    };

    let Some(real) = hearth_iptv_formats::testdata::shared("iptv/m3u/iptv-org_2026-06/us.m3u") else { return };
    let shutdown = CancellationToken::new();
    let dir = scratch("rooms");
    let adapter = adapter(&dir, &real, &shutdown).await;
    let (count, ids) = channel_ids(&adapter).await;
    let url = format!("http://{}", adapter.addr);
    let app = TestApp::spawn_with(Role::ALL, |config| {
        config.provider.url = Some(url);
        config.provider.api_key = Some(SecretString::new("provider-key"));
        config.provider.ingest_key = Some(SecretString::new(INGEST_KEY));
        config.provider.now_tick = Duration::from_millis(500);
    })
    .await;
    let (news, sport) = (ids["Hearth News"].clone(), ids["Hearth Sport"].clone());
    let mut identity = app.identity().await;
    let exchange =
        |token: &str| ExchangeProviderTokenRequest { provider_token: token.into(), client_ip: "192.0.2.1".into() };
    let ann = identity.exchange_provider_token(exchange("tok-ann")).await.expect("ann").into_inner();
    let bob = identity.exchange_provider_token(exchange("tok-bob")).await.expect("bob").into_inner();
    let access = |r: &hearth_proto::identity::ExchangeProviderTokenResponse| {
        r.tokens.as_ref().map(|t| t.access_token.clone()).expect("tokens")
    };
    let (ann_token, bob_token) = (access(&ann), access(&bob));
    let carol = app.register("carol").await;
    let client = RoomsServiceClient::connect(app.grpc_url.clone()).await.expect("rooms");

    // One always-on public room per channel of the line-up.
    let pool = sqlx::PgPool::connect(app.config.database.url.expose()).await.expect("pg");
    eventually("a channel room per channel", || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM rooms.rooms WHERE kind = 'channel' AND state = 'active'")
            .fetch_one(&pool)
            .await
            .ok()?;
        (n as usize == count).then_some(())
    })
    .await;
    let room_of = |channel: String, kind: rooms::RoomKind| {
        let mut client = client.clone();
        let token = bob_token.clone();
        async move {
            let request =
                rooms::ListPublicRoomsRequest { kind: kind as i32, channel_id: channel, ..Default::default() };
            client.list_public_rooms(authed(request, &token)).await.ok()?.into_inner().rooms.into_iter().next()
        }
    };
    let news_room = eventually("the News channel room", || room_of(news.clone(), rooms::RoomKind::Channel)).await;
    assert_eq!(news_room.title, "Hearth News");
    assert_eq!(news_room.image_url, "https://img.example/hearth.news.png");
    // Players show the channel by its name and logo, not by its id.
    let summary = news_room.media_summary.clone().expect("a channel room's media summary");
    assert_eq!(
        (summary.title.as_str(), summary.image_url.as_str(), summary.live),
        ("Hearth News", "https://img.example/hearth.news.png", true)
    );
    let sport_room = eventually("the Sport channel room", || room_of(sport.clone(), rooms::RoomKind::Channel)).await;

    // The live programme got a programme room, open now; the others did not.
    let show = eventually("the live programme's room", || room_of(sport.clone(), rooms::RoomKind::Programme)).await;
    assert_eq!((show.title.as_str(), show.state()), ("sport show 1", rooms::RoomState::Active));
    assert!(show.open_time.is_some() && show.archive_time.is_some());
    let programme_rooms: i64 = sqlx::query_scalar("SELECT count(*) FROM rooms.rooms WHERE kind = 'programme'")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(programme_rooms, 1, "only featured (live or premiere) programmes get rooms by default");

    // Snapshots show what is on now and next.
    let snapshot = |room: &str, token: &str| {
        let mut client = client.clone();
        let request = authed(rooms::GetRoomSnapshotRequest { room_id: room.to_owned() }, token);
        async move { client.get_room_snapshot(request).await }
    };
    let now_next = eventually("now/next in the News room", || async {
        let snapshot = snapshot(&news_room.room_id, &bob_token).await.ok()?.into_inner().snapshot?;
        snapshot.now_next.filter(|n| n.now.is_some())
    })
    .await;
    assert_eq!(now_next.now.as_ref().map(|p| p.title.as_str()), Some("hearth.news show 1"));
    assert_eq!(now_next.next.as_ref().map(|p| p.title.as_str()), Some("hearth.news show 2"));
    let sport_now = snapshot(&sport_room.room_id, &bob_token).await.expect("sport").into_inner();
    let sport_now = sport_now.snapshot.and_then(|s| s.now_next).and_then(|n| n.now).expect("sport now");
    assert_eq!(sport_now.room_id, show.room_id, "now/next links the programme room");

    // Every member must be entitled: Ann has News only, Carol no linked
    // subscription.
    let join = |room: &str, token: &str| {
        let mut client = client.clone();
        let request = authed(rooms::JoinRoomRequest { room_id: room.to_owned(), invite_code: String::new() }, token);
        async move { client.join_room(request).await }
    };
    join(&news_room.room_id, &ann_token).await.expect("Ann joins News");
    let refused = join(&sport_room.room_id, &ann_token).await.expect_err("Ann has no Sport");
    assert_eq!((refused.code(), status_reason(&refused)), (Code::PermissionDenied, Some("not_entitled")));
    let refused = join(&news_room.room_id, &carol.access_token).await.expect_err("Carol is not linked");
    assert_eq!((refused.code(), status_reason(&refused)), (Code::PermissionDenied, Some("not_entitled")));
    let as_guest = snapshot(&sport_room.room_id, &ann_token).await.expect_err("no guest view either");
    assert_eq!(status_reason(&as_guest), Some("not_entitled"));

    // Zap together: Bob's party moves to Sport; Ann stays a member but is
    // skipped, by name.
    let media = |channel: &str| Some(MediaRef { kind: Some(media_ref::Kind::ChannelId(channel.to_owned())) });
    let mut client = client.clone();
    let party = client
        .create_room(authed(
            rooms::CreateRoomRequest {
                kind: rooms::RoomKind::WatchParty as i32,
                visibility: rooms::RoomVisibility::Unlisted as i32,
                title: "Match night".into(),
                media: media(&news),
                ..Default::default()
            },
            &bob_token,
        ))
        .await
        .expect("party")
        .into_inner()
        .room
        .expect("room");
    join(&party.room_id, &ann_token).await.expect("Ann joins the party");
    let zapped = client
        .change_media(authed(
            rooms::ChangeMediaRequest { room_id: party.room_id.clone(), media: media(&sport), ..Default::default() },
            &bob_token,
        ))
        .await
        .expect("zap")
        .into_inner();
    assert_eq!(zapped.not_entitled.iter().map(|u| u.user_id.as_str()).collect::<Vec<_>>(), [ann.user_id.as_str()]);
    let refused = client
        .change_media(authed(
            rooms::ChangeMediaRequest { room_id: party.room_id.clone(), media: media(&news), ..Default::default() },
            &ann_token,
        ))
        .await;
    if let Err(status) = refused {
        assert_ne!(status_reason(&status), Some("not_entitled"), "Ann may watch News: {status:?}");
    }
    let refused = client
        .create_room(authed(
            rooms::CreateRoomRequest {
                kind: rooms::RoomKind::WatchParty as i32,
                title: "Ann's party".into(),
                media: media(&sport),
                ..Default::default()
            },
            &ann_token,
        ))
        .await
        .expect_err("Ann cannot host Sport");
    assert_eq!(status_reason(&refused), Some("not_entitled"));

    // The guide moves on: a pushed guide switching programmes in three
    // seconds reaches the News room as `now_next_changed`.
    let nats = async_nats::connect(app.config.nats.url.expose()).await.expect("nats");
    let subject = format!("{}.room.{}.room", app.config.nats.subject_prefix, news_room.room_id);
    let mut events = nats.subscribe(subject).await.expect("subscribe");
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).expect("ns");
    let switch = now + time::Duration::seconds(3);
    let ts = |t: OffsetDateTime| Some(wkt::timestamp(t));
    let programme = |id: &str, start: OffsetDateTime, end: OffsetDateTime| pb::Programme {
        programme_id: id.into(),
        channel_id: news.clone(),
        start_time: ts(start),
        end_time: ts(end),
        titles: vec![pb::LocalizedString { language: "en".into(), value: id.into() }],
        ..Default::default()
    };
    let mut ingest_client = ProviderIngestClient::connect(app.grpc_url.clone()).await.expect("ingest");
    let schedule = pb::ChannelSchedule {
        channel_id: news.clone(),
        start_time: ts(now - time::Duration::minutes(1)),
        end_time: ts(now + time::Duration::hours(1)),
        programmes: vec![
            programme("Breaking", now - time::Duration::minutes(1), switch),
            programme("Late news", switch, now + time::Duration::minutes(30)),
        ],
    };
    ingest_client
        .push_guide(ingest(pb::PushGuideRequest { schedules: vec![schedule] }, INGEST_KEY))
        .await
        .expect("push guide");
    let changed = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(message) = events.next().await {
            let Ok(envelope) = Envelope::decode(message.payload.as_ref()) else { continue };
            let Ok(event) = rooms::RoomEvent::decode(envelope.payload.as_slice()) else { continue };
            if let Some(rooms::room_event::Kind::NowNextChanged(changed)) = event.kind
                && changed.now_next.as_ref().and_then(|n| n.now.as_ref()).is_some_and(|p| p.title == "Late news")
            {
                return changed;
            }
        }
        panic!("the room subject closed");
    })
    .await
    .expect("now_next_changed for `Late news` within 20 s");
    assert!(changed.now_next.and_then(|n| n.next).is_none());
    assert!(OffsetDateTime::now_utc() >= switch);
    shutdown.cancel();
}
