//! The recommendations role end to end: engagement signals on JetStream
//! (the contract rooms, chat and polls publish to) become taste exactly
//! once across a restart; friends-watching is opt-in and honours
//! audiences, blocks, sensitive rooms and hidden sessions; trending,
//! because-you-watched (EASE refitted by the leased replica), starting
//! soon and shares are served with their explanations.

use std::time::Duration;

use async_nats::jetstream;
use hearth::Role;
use hearth_platform::{error::status_reason, secret::SecretString, wkt};
use hearth_proto::{
    hearth::{
        common::v1::{MediaRef, media_ref},
        events::v1::Envelope,
        provider::v1::{self as provider, provider_ingest_client::ProviderIngestClient},
        recommendations::v1::{
            self as pb, EngagementSignal, SignalKind, recommendations_service_client::RecommendationsServiceClient,
        },
        rooms::v1::{self as rooms, rooms_service_client::RoomsServiceClient},
    },
    identity::{BlockRequest, FollowRequest},
};
use hearth_tests::{Registered, TestApp, authed, eventually};
use prost::Message;
use time::OffsetDateTime;
use tonic::Code;
use uuid::Uuid;

const INGEST_KEY: &str = "ingest-key";

fn channel(id: &str) -> Option<MediaRef> {
    Some(MediaRef { kind: Some(media_ref::Kind::ChannelId(id.to_owned())) })
}

/// A signal as rooms, chat and polls publish it.
struct Signal<'a> {
    kind: SignalKind,
    user: &'a str,
    room: Option<&'a str>,
    public: bool,
    media: Option<MediaRef>,
    sensitive: bool,
    at: OffsetDateTime,
}

impl Signal<'_> {
    fn encode(&self, envelope_id: &str) -> Vec<u8> {
        let signal = EngagementSignal {
            user_id: self.user.to_owned(),
            kind: self.kind as i32,
            room_id: self.room.unwrap_or_default().to_owned(),
            room_visibility: if self.public { rooms::RoomVisibility::Public } else { rooms::RoomVisibility::Private }
                as i32,
            media: self.media.clone(),
            sensitive: self.sensitive,
            time: Some(wkt::timestamp(self.at)),
            count: 1,
            ..Default::default()
        };
        Envelope {
            id: envelope_id.to_owned(),
            r#type: "hearth.recommendations.v1.EngagementSignal".into(),
            payload: signal.encode_to_vec(),
            ..Default::default()
        }
        .encode_to_vec()
    }
}

/// Publishes signals durably; `msg_ids` lets a test resend one envelope id
/// past JetStream's own deduplication (as a late redelivery would).
async fn publish(app: &TestApp, signals: &[(String, String, Signal<'_>)]) {
    let client = async_nats::connect(app.config.nats.url.expose()).await.expect("nats");
    let js = jetstream::new(client);
    for (envelope_id, msg_id, signal) in signals {
        let subject = format!("{}.recommendations.signal.{}", app.config.nats.subject_prefix, kind_name(signal.kind));
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", msg_id.as_str());
        js.publish_with_headers(subject, headers, signal.encode(envelope_id).into())
            .await
            .expect("publish")
            .await
            .expect("stored");
    }
}

fn kind_name(kind: SignalKind) -> &'static str {
    match kind {
        SignalKind::RoomJoined => "room_joined",
        SignalKind::ChatMessage => "chat_message",
        SignalKind::RoomWatchTime => "room_watch_time",
        _ => "other",
    }
}

async fn affinity(pool: &sqlx::PgPool, user: &str, item: &str) -> f64 {
    sqlx::query_scalar("SELECT score FROM recs.affinity WHERE user_id = $1::uuid AND item = $2")
        .bind(user)
        .bind(item)
        .fetch_optional(pool)
        .await
        .expect("affinity")
        .unwrap_or(0.0)
}

#[tokio::test]
async fn the_consumer_resumes_after_a_restart_without_losing_or_double_counting() {
    let app = TestApp::spawn_with(&[Role::Identity, Role::Recommendations], |_| {}).await;
    let pool = sqlx::PgPool::connect(app.config.database.url.expose()).await.expect("pg");
    let user = Uuid::now_v7().to_string();
    let at = OffsetDateTime::now_utc().replace_nanosecond(0).expect("ns");
    let signal = |_: usize| Signal {
        kind: SignalKind::ChatMessage,
        user: &user,
        room: None,
        public: false,
        media: channel("news"),
        sensitive: false,
        at,
    };
    let batch = |range: std::ops::Range<usize>| -> Vec<(String, String, Signal<'_>)> {
        range.map(|i| (format!("00000000-0000-7000-8000-{i:012}"), format!("m{i}"), signal(i))).collect()
    };
    publish(&app, &batch(0..40)).await;
    // Each chat message weighs 0.5; all at one instant, so no decay.
    eventually("40 messages counted", || async {
        (affinity(&pool, &user, "channel:news").await == 20.0).then_some(())
    })
    .await;
    app.stop();
    tokio::time::sleep(Duration::from_millis(500)).await;

    // While no replica runs: 30 new events and 10 late duplicates of old
    // ones (same event id, a new JetStream message).
    let mut more = batch(40..70);
    more.extend(batch(0..10).into_iter().map(|(id, msg, s)| (id, format!("{msg}-again"), s)));
    publish(&app, &more).await;
    let second = TestApp::start_shared(app.config.clone(), &[Role::Identity, Role::Recommendations]).await;
    eventually("the backlog applied", || async {
        (affinity(&pool, &user, "channel:news").await == 35.0).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(affinity(&pool, &user, "channel:news").await, 35.0, "70 distinct events, none twice");
    let seen: i64 = sqlx::query_scalar("SELECT count(*) FROM recs.seen_events").fetch_one(&pool).await.expect("seen");
    assert_eq!(seen, 70);
    drop(second);
}

/// A Hearth with a catalog of three channels (via ProviderIngest).
async fn app_with_catalog(tweak: impl FnOnce(&mut hearth_platform::Config)) -> TestApp {
    let app = TestApp::spawn_with(Role::ALL, |config| {
        config.provider.ingest_key = Some(SecretString::new(INGEST_KEY));
        config.recommendations.recompute_interval = Duration::from_millis(500);
        tweak(config);
    })
    .await;
    let mut ingest = ProviderIngestClient::connect(app.grpc_url.clone()).await.expect("ingest");
    let channel = |id: &str, name: &str| provider::Channel {
        channel_id: id.into(),
        names: vec![provider::LocalizedString { language: "en".into(), value: name.into() }],
        ..Default::default()
    };
    let push = provider::PushCatalogRequest {
        upserts: vec![channel("news", "News"), channel("weather", "Weather"), channel("sport", "Sport")],
        removed_channel_ids: vec![],
    };
    ingest.push_catalog(authed(push, INGEST_KEY)).await.expect("catalog");
    app
}

async fn follow(app: &TestApp, who: &Registered, whom: &Registered) {
    let mut identity = app.identity().await;
    identity.follow(authed(FollowRequest { user_id: whom.user_id.clone() }, &who.access_token)).await.expect("follow");
}

async fn opt_in(
    recs: &mut RecommendationsServiceClient<tonic::transport::Channel>,
    user: &Registered,
    audience: pb::SharingAudience,
) {
    let settings = pb::SharingSettings { share_activity: true, audience: audience as i32, ..Default::default() };
    recs.update_sharing_settings(authed(
        pb::UpdateSharingSettingsRequest { settings: Some(settings) },
        &user.access_token,
    ))
    .await
    .expect("opt in");
}

#[tokio::test]
async fn friends_watching_is_opt_in_and_honours_audiences_blocks_sensitivity_and_hiding() {
    let app = app_with_catalog(|_| {}).await;
    let mut recs = RecommendationsServiceClient::connect(app.grpc_url.clone()).await.expect("recs");
    let mut rooms_client = RoomsServiceClient::connect(app.grpc_url.clone()).await.expect("rooms");
    let [ann, bob, carol, dave, erin, frank] = [
        app.register("ann").await,
        app.register("bob").await,
        app.register("carol").await,
        app.register("dave").await,
        app.register("erin").await,
        app.register("frank").await,
    ];
    for friend in [&bob, &carol, &dave, &erin, &frank] {
        follow(&app, &ann, friend).await;
    }
    for back in [&bob, &carol, &erin] {
        follow(&app, back, &ann).await;
    }
    opt_in(&mut recs, &bob, pb::SharingAudience::MutualFollowers).await; // mutual: seen
    // carol never opts in: not seen.
    opt_in(&mut recs, &dave, pb::SharingAudience::MutualFollowers).await; // not mutual: not seen
    opt_in(&mut recs, &erin, pb::SharingAudience::Followers).await; // blocks ann below: not seen
    opt_in(&mut recs, &frank, pb::SharingAudience::Followers).await; // followers: seen
    let defaults = recs
        .get_sharing_settings(authed(pb::GetSharingSettingsRequest {}, &carol.access_token))
        .await
        .expect("settings")
        .into_inner();
    assert!(!defaults.settings.expect("settings").share_activity, "sharing is off by default");
    let mut identity = app.identity().await;
    identity.block(authed(BlockRequest { user_id: ann.user_id.clone() }, &erin.access_token)).await.expect("block");

    // A public room on News, and a sensitive room.
    let create = |title: &str, sensitive: bool| rooms::CreateRoomRequest {
        kind: rooms::RoomKind::Community as i32,
        visibility: rooms::RoomVisibility::Public as i32,
        title: title.into(),
        media: channel("news"),
        settings: Some(rooms::RoomSettings { sensitive, ..Default::default() }),
        ..Default::default()
    };
    let room = rooms_client.create_room(authed(create("News night", false), &bob.access_token)).await.expect("room");
    let room = room.into_inner().room.expect("room").room_id;
    let late = rooms_client.create_room(authed(create("Late night", true), &bob.access_token)).await.expect("room");
    let late = late.into_inner().room.expect("room").room_id;
    let now = OffsetDateTime::now_utc();
    let mut signals = Vec::new();
    for (i, user) in [&bob, &carol, &dave, &erin, &frank].into_iter().enumerate() {
        signals.push((
            Uuid::now_v7().to_string(),
            format!("join-{i}"),
            Signal {
                kind: SignalKind::RoomJoined,
                user: &user.user_id,
                room: Some(&room),
                public: true,
                media: channel("news"),
                sensitive: false,
                at: now,
            },
        ));
    }
    signals.push((
        Uuid::now_v7().to_string(),
        "late".into(),
        Signal {
            kind: SignalKind::RoomJoined,
            user: &bob.user_id,
            room: Some(&late),
            public: true,
            media: channel("sport"),
            sensitive: true,
            at: now,
        },
    ));
    publish(&app, &signals).await;

    let friends = |recs: &RecommendationsServiceClient<tonic::transport::Channel>| {
        let mut recs = recs.clone();
        let token = ann.access_token.clone();
        async move {
            recs.list_friends_watching(authed(pb::ListFriendsWatchingRequest::default(), &token))
                .await
                .expect("friends")
                .into_inner()
                .recommendations
        }
    };
    let seen = eventually("friends watching News", || async {
        let list = friends(&recs).await;
        list.iter().any(|r| r.explanation.as_ref().is_some_and(|e| e.count == 2)).then_some(list)
    })
    .await;
    assert_eq!(seen.len(), 1, "one item: News (the sensitive room never shows): {seen:?}");
    let explanation = seen[0].explanation.as_ref().expect("explanation");
    let names: Vec<&str> = explanation.users.iter().map(|u| u.username.as_str()).collect();
    assert!(names.contains(&"bob") && names.contains(&"frank") && names.len() == 2, "{names:?}");
    assert_eq!(explanation.text, format!("{} and 1 friend are watching", explanation.users[0].display_name));
    let item = seen[0].item.as_ref().expect("item");
    assert_eq!((item.title.as_str(), item.join_room_id.as_str()), ("News", room.as_str()));

    // Bob hides this session: only Frank remains.
    recs.hide_session(authed(
        pb::HideSessionRequest {
            target: Some(pb::hide_session_request::Target::Media(channel("news").expect("m"))),
            remove_from_history: false,
        },
        &bob.access_token,
    ))
    .await
    .expect("hide");
    let after = friends(&recs).await;
    assert_eq!(after[0].explanation.as_ref().map(|e| e.count), Some(1));
    assert_eq!(after[0].explanation.as_ref().map(|e| e.users[0].username.as_str()), Some("frank"));
    let nothing = recs
        .hide_session(authed(
            pb::HideSessionRequest {
                target: Some(pb::hide_session_request::Target::Media(channel("weather").expect("m"))),
                remove_from_history: false,
            },
            &bob.access_token,
        ))
        .await
        .expect_err("never watched");
    assert_eq!(status_reason(&nothing), Some("session_not_found"));

    // Trending: News and the public room trend; the sensitive room and
    // Sport (only watched there) do not.
    let trending = recs
        .list_trending(authed(pb::ListTrendingRequest::default(), &ann.access_token))
        .await
        .expect("trending")
        .into_inner()
        .recommendations;
    let keys: Vec<String> = trending
        .iter()
        .filter_map(|r| r.item.as_ref())
        .map(|i| match &i.target {
            Some(pb::recommended_item::Target::RoomId(id)) => format!("room:{id}"),
            _ => format!("channel:{}", i.channel_id),
        })
        .collect();
    assert!(keys.contains(&"channel:news".to_owned()) && keys.contains(&format!("room:{room}")), "{keys:?}");
    assert!(!keys.contains(&format!("room:{late}")) && !keys.contains(&"channel:sport".to_owned()), "{keys:?}");
    let bad = recs
        .list_trending(authed(
            pb::ListTrendingRequest { region: "Germany".into(), ..Default::default() },
            &ann.access_token,
        ))
        .await
        .expect_err("bad region");
    assert_eq!((bad.code(), status_reason(&bad)), (Code::InvalidArgument, Some("invalid_region")));
}

#[tokio::test]
async fn because_you_watched_starting_soon_and_shares_explain_themselves() {
    let app = app_with_catalog(|config| config.recommendations.shares_per_hour = 3).await;
    let mut recs = RecommendationsServiceClient::connect(app.grpc_url.clone()).await.expect("recs");
    let mut users = Vec::new();
    for name in ["viewer1", "viewer2", "viewer3", "viewer4", "viewer5", "viewer6"] {
        users.push(app.register(name).await);
    }
    // Five viewers watch News and Weather; one also Sport; the sixth only News.
    let now = OffsetDateTime::now_utc();
    let mut signals = Vec::new();
    fn watched<'a>(user: &'a Registered, item: &str, now: OffsetDateTime) -> (String, String, Signal<'a>) {
        (
            Uuid::now_v7().to_string(),
            Uuid::now_v7().to_string(),
            Signal {
                kind: SignalKind::ChatMessage,
                user: &user.user_id,
                room: None,
                public: false,
                media: channel(item),
                sensitive: false,
                at: now,
            },
        )
    }
    for user in &users[..5] {
        signals.push(watched(user, "news", now));
        signals.push(watched(user, "weather", now));
    }
    signals.push(watched(&users[0], "sport", now));
    signals.push(watched(&users[5], "news", now));
    publish(&app, &signals).await;

    let six = &users[5];
    let personal = eventually("the refitted model's list for u6", || {
        let mut recs = recs.clone();
        let token = six.access_token.clone();
        async move {
            let list = recs
                .list_because_you_watched(authed(pb::ListBecauseYouWatchedRequest::default(), &token))
                .await
                .ok()?
                .into_inner()
                .recommendations;
            (!list.is_empty()).then_some(list)
        }
    })
    .await;
    let first = &personal[0];
    assert_eq!(first.item.as_ref().map(|i| i.title.as_str()), Some("Weather"));
    let explanation = first.explanation.as_ref().expect("explanation");
    assert_eq!((explanation.text.as_str(), explanation.seed_title.as_str()), ("Because you watched News", "News"));
    let similar = recs
        .list_because_you_watched(authed(
            pb::ListBecauseYouWatchedRequest { seed: channel("news"), page: None },
            &six.access_token,
        ))
        .await
        .expect("similar")
        .into_inner()
        .recommendations;
    assert_eq!(similar[0].item.as_ref().map(|i| i.title.as_str()), Some("Weather"));
    let unknown = recs
        .list_because_you_watched(authed(
            pb::ListBecauseYouWatchedRequest { seed: channel("no-such"), page: None },
            &six.access_token,
        ))
        .await
        .expect_err("unknown seed");
    assert_eq!((unknown.code(), status_reason(&unknown)), (Code::NotFound, Some("media_not_found")));

    // Starting soon: a programme in 30 minutes on News, which u6 watches.
    let mut ingest = ProviderIngestClient::connect(app.grpc_url.clone()).await.expect("ingest");
    let start = now + time::Duration::minutes(30);
    let schedule = provider::ChannelSchedule {
        channel_id: "news".into(),
        start_time: Some(wkt::timestamp(now)),
        end_time: Some(wkt::timestamp(now + time::Duration::hours(2))),
        programmes: vec![provider::Programme {
            programme_id: "news@evening".into(),
            channel_id: "news".into(),
            start_time: Some(wkt::timestamp(start)),
            end_time: Some(wkt::timestamp(start + time::Duration::minutes(30))),
            titles: vec![provider::LocalizedString { language: "en".into(), value: "Evening News".into() }],
            ..Default::default()
        }],
    };
    ingest
        .push_guide(authed(provider::PushGuideRequest { schedules: vec![schedule] }, INGEST_KEY))
        .await
        .expect("guide");
    let soon = recs
        .list_starting_soon(authed(pb::ListStartingSoonRequest::default(), &six.access_token))
        .await
        .expect("soon")
        .into_inner()
        .recommendations;
    assert_eq!(soon.len(), 1, "{soon:?}");
    assert_eq!(soon[0].item.as_ref().map(|i| i.title.as_str()), Some("Evening News"));
    let text = soon[0].explanation.as_ref().map(|e| e.text.clone()).unwrap_or_default();
    assert!(text.ends_with("on a channel you watch") && text.starts_with("Starts in 2"), "{text}");
    let too_short = recs
        .list_starting_soon(authed(
            pb::ListStartingSoonRequest { horizon: Some(wkt::duration(Duration::from_secs(60))), page: None },
            &six.access_token,
        ))
        .await
        .expect_err("1 minute");
    assert_eq!(status_reason(&too_short), Some("invalid_horizon"));

    // Shares reach the chosen users' feeds, explain themselves, can be
    // dismissed, skip people who blocked the sharer, and are rate limited.
    let (sharer, friend, blocker) = (&users[0], &users[1], &users[2]);
    let share = |to: &Registered, comment: &str| pb::ShareItemRequest {
        target: Some(pb::share_item_request::Target::Media(channel("weather").expect("m"))),
        comment: comment.into(),
        audience: Some(pb::share_item_request::Audience::ToUsers(pb::ShareRecipients {
            user_ids: vec![to.user_id.clone()],
        })),
    };
    let sent = recs
        .share_item(authed(share(friend, "storm tonight"), &sharer.access_token))
        .await
        .expect("share")
        .into_inner();
    assert_eq!(sent.recipient_count, 1);
    let feed = |recs: &mut RecommendationsServiceClient<tonic::transport::Channel>, include_dismissed: bool| {
        let mut recs = recs.clone();
        let token = friend.access_token.clone();
        async move {
            recs.list_shares(authed(pb::ListSharesRequest { include_dismissed, page: None }, &token))
                .await
                .expect("feed")
                .into_inner()
                .shares
        }
    };
    let shares = feed(&mut recs, false).await;
    assert_eq!(shares.len(), 1);
    assert_eq!(
        (shares[0].comment.as_str(), shares[0].item.as_ref().map(|i| i.title.as_str())),
        ("storm tonight", Some("Weather"))
    );
    assert_eq!(shares[0].explanation.as_ref().map(|e| e.text.as_str()), Some("viewer1 shared this"));
    recs.dismiss_share(authed(pb::DismissShareRequest { share_id: shares[0].share_id.clone() }, &friend.access_token))
        .await
        .expect("dismiss");
    assert!(feed(&mut recs, false).await.is_empty());
    assert!(feed(&mut recs, true).await[0].dismissed);
    let mut identity = app.identity().await;
    identity
        .block(authed(BlockRequest { user_id: sharer.user_id.clone() }, &blocker.access_token))
        .await
        .expect("block");
    let skipped = recs.share_item(authed(share(blocker, ""), &sharer.access_token)).await.expect("share").into_inner();
    assert_eq!(skipped.recipient_count, 0, "people who blocked the sharer are skipped silently");
    let long = recs.share_item(authed(share(friend, &"x".repeat(281)), &sharer.access_token)).await.expect_err("long");
    assert_eq!(status_reason(&long), Some("comment_too_long"));
    recs.share_item(authed(share(friend, "third"), &sharer.access_token)).await.expect("third share");
    let limited = recs.share_item(authed(share(friend, "fourth"), &sharer.access_token)).await.expect_err("limit");
    assert_eq!((limited.code(), status_reason(&limited)), (Code::ResourceExhausted, Some("rate_limited")));
}

#[tokio::test]
async fn real_room_joins_and_chat_feed_trending_and_taste() {
    let app = app_with_catalog(|_| {}).await;
    let mut recs = RecommendationsServiceClient::connect(app.grpc_url.clone()).await.expect("recs");
    let mut rooms_client = RoomsServiceClient::connect(app.grpc_url.clone()).await.expect("rooms");
    let (host, guest) = (app.register("host").await, app.register("guest").await);
    let room = rooms_client
        .create_room(authed(
            rooms::CreateRoomRequest {
                kind: rooms::RoomKind::Community as i32,
                visibility: rooms::RoomVisibility::Public as i32,
                title: "Weather watchers".into(),
                media: channel("weather"),
                ..Default::default()
            },
            &host.access_token,
        ))
        .await
        .expect("room")
        .into_inner()
        .room
        .expect("room")
        .room_id;
    rooms_client
        .join_room(authed(
            rooms::JoinRoomRequest { room_id: room.clone(), invite_code: String::new() },
            &guest.access_token,
        ))
        .await
        .expect("join");
    // The rooms service's own signal, through the real consumer.
    let pool = sqlx::PgPool::connect(app.config.database.url.expose()).await.expect("pg");
    eventually("the join in the guest's taste", || async {
        (affinity(&pool, &guest.user_id, "channel:weather").await > 0.0).then_some(())
    })
    .await;
    assert!(affinity(&pool, &guest.user_id, &format!("room:{room}")).await > 0.0);
    let trending = recs
        .list_trending(authed(pb::ListTrendingRequest::default(), &host.access_token))
        .await
        .expect("trending")
        .into_inner()
        .recommendations;
    let titles: Vec<&str> = trending.iter().filter_map(|r| r.item.as_ref()).map(|i| i.title.as_str()).collect();
    assert!(titles.contains(&"Weather") && titles.contains(&"Weather watchers"), "{titles:?}");
}

#[tokio::test]
async fn friends_hear_of_a_watch_party_only_when_the_host_shares_parties() {
    use futures::StreamExt;

    let app = app_with_catalog(|_| {}).await;
    let mut recs = RecommendationsServiceClient::connect(app.grpc_url.clone()).await.expect("recs");
    let mut rooms_client = RoomsServiceClient::connect(app.grpc_url.clone()).await.expect("rooms");
    let (host, friend, stranger) =
        (app.register("host").await, app.register("friend").await, app.register("stranger").await);
    follow(&app, &friend, &host).await;
    follow(&app, &host, &friend).await;
    follow(&app, &stranger, &host).await; // not followed back: outside the mutual audience
    let nats = async_nats::connect(app.config.nats.url.expose()).await.expect("nats");
    let prefix = &app.config.nats.subject_prefix;
    let mut to_friend = nats.subscribe(format!("{prefix}.user.{}.recs", friend.user_id)).await.expect("sub");
    let mut to_stranger = nats.subscribe(format!("{prefix}.user.{}.recs", stranger.user_id)).await.expect("sub");
    let party = |title: &str| rooms::CreateRoomRequest {
        kind: rooms::RoomKind::WatchParty as i32,
        visibility: rooms::RoomVisibility::Unlisted as i32,
        title: title.into(),
        media: Some(MediaRef { kind: Some(media_ref::Kind::AssetId("film-42".into())) }),
        ..Default::default()
    };
    let player = rooms_client.clone();
    let start = |room: String| {
        let mut rooms_client = player.clone();
        let token = host.access_token.clone();
        async move {
            rooms_client
                .play(authed(rooms::PlayRequest { room_id: room, ..Default::default() }, &token))
                .await
                .expect("play");
        }
    };
    // Not shared yet: nobody hears of the first party.
    let first = rooms_client.create_room(authed(party("Quiet one"), &host.access_token)).await.expect("room");
    let first = first.into_inner().room.expect("room").room_id;
    start(first.clone()).await;
    let pool = sqlx::PgPool::connect(app.config.database.url.expose()).await.expect("pg");
    eventually("the first party's signal consumed", || async {
        (affinity(&pool, &host.user_id, &format!("room:{first}")).await > 0.0).then_some(())
    })
    .await;
    let settings = pb::SharingSettings { share_watch_parties: true, ..Default::default() };
    recs.update_sharing_settings(authed(
        pb::UpdateSharingSettingsRequest { settings: Some(settings) },
        &host.access_token,
    ))
    .await
    .expect("share parties");
    let second = rooms_client.create_room(authed(party("Match night"), &host.access_token)).await.expect("room");
    let second = second.into_inner().room.expect("room").room_id;
    start(second.clone()).await;
    let heard = tokio::time::timeout(Duration::from_secs(20), to_friend.next())
        .await
        .expect("the friend hears")
        .expect("message");
    let envelope = Envelope::decode(heard.payload.as_ref()).expect("envelope");
    let event = hearth_proto::hearth::events::v1::UserEvent::decode(envelope.payload.as_slice()).expect("event");
    let Some(hearth_proto::hearth::events::v1::user_event::Kind::FriendStartedParty(party)) = event.kind else {
        panic!("not a party: {event:?}");
    };
    assert_eq!((party.room_id.as_str(), party.room_title.as_str()), (second.as_str(), "Match night"));
    assert_eq!(party.friend.map(|f| f.username), Some("host".to_owned()));
    assert!(
        tokio::time::timeout(Duration::from_secs(1), to_friend.next()).await.is_err(),
        "the party started before sharing was switched on is not announced"
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(200), to_stranger.next()).await.is_err(),
        "mutual audience only"
    );
}

#[tokio::test]
async fn recommendation_frames_work_over_the_websocket() {
    use serde_json::json;

    let app = app_with_catalog(|_| {}).await;
    let (_, mut ws) = app.user_ws(&app.ws_url, &[]).await;
    let updated = ws.call(json!({"updateSharingSettings": {"settings": {"shareActivity": true}}})).await;
    assert_eq!(updated["updateSharingSettings"]["settings"]["shareActivity"], json!(true), "{updated}");
    let settings = ws.call(json!({"getSharingSettings": {}})).await;
    assert_eq!(settings["getSharingSettings"]["settings"]["shareActivity"], json!(true), "{settings}");
    let trending = ws.call(json!({"listTrending": {"page": {"pageSize": 10}}})).await;
    assert!(trending.get("listTrending").is_some(), "{trending}");
    let refused = ws.call(json!({"listTrending": {"region": "Atlantis"}})).await;
    assert_eq!(
        (&refused["error"]["code"], &refused["error"]["field"]),
        (&json!("invalid_argument"), &json!("region")),
        "{refused}"
    );
    assert!(refused["error"]["message"].as_str().is_some_and(|m| m.starts_with("invalid_region")), "{refused}");
}

/// A deployment without the recommendations role (empty
/// `services.recommendations_url`) answers its frames `unsupported` with
/// reason `not_deployed`, as valid requests: more of them than
/// `gateway.max_bad_frames` leave the connection open.
#[tokio::test]
async fn frames_of_a_role_not_deployed_are_refused_without_closing_the_connection() {
    let roles = [Role::Gateway, Role::Identity, Role::Rooms, Role::Chat, Role::Polls];
    let app = TestApp::spawn_with(&roles, |config| config.services.recommendations_url = String::new()).await;
    let (_, mut ws) = app.user_ws(&app.ws_url, &[]).await;
    for _ in 0..=app.config.gateway.max_bad_frames {
        let reply = ws.call(serde_json::json!({"listTrending": {}})).await;
        assert_eq!(reply["error"]["code"], "unsupported", "{reply}");
        let message = reply["error"]["message"].as_str().unwrap_or_default();
        assert!(message.starts_with("not_deployed: "), "{reply}");
    }
    let pong = ws.call(serde_json::json!({"ping": {"clientTime": "2026-11-27T12:00:00Z"}})).await;
    assert!(pong.get("pong").is_some(), "the connection stays open: {pong}");
}
