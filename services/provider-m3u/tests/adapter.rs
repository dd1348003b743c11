//! The reference adapter end to end over gRPC: the real iptv-org playlist
//! `us.m3u` (from ../shared/data) with a guide written around now, viewers
//! from a users file, the conformance kit passing against it, programmes
//! matched by tvg-id, tvg-name and name, entitlements, and a reload
//! streamed to WatchCatalog.

use std::{path::PathBuf, time::Duration};

use hearth_platform::wkt;
use hearth_proto::hearth::provider::v1::{self as pb, iptv_provider_client::IptvProviderClient};
use hearth_provider_m3u::{AdapterConfig, start};
use time::{OffsetDateTime, format_description::FormatItem, macros::format_description};
use tokio_util::sync::CancellationToken;

const XMLTV_TIME: &[FormatItem<'static>] = format_description!("[year][month][day][hour][minute][second] +0000");

fn shared(relative: &str) -> Option<PathBuf> {
    hearth_iptv_formats::testdata::shared(&format!("iptv/{relative}"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hearth-adapter-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn xmltv_time(at: OffsetDateTime) -> String {
    at.format(XMLTV_TIME).expect("format")
}

/// A playlist of the real us.m3u plus three channels of our own, matched
/// to the guide by tvg-id, by tvg-name and by name.
fn playlist(dir: &std::path::Path, real: &std::path::Path) -> PathBuf {
    let mut text = std::fs::read_to_string(real).expect("us.m3u");
    text.push_str("\r\n#EXTINF:-1 tvg-id=\"hearth.news\" group-title=\"News;Local\",Hearth News\r\nhttp://example.test/news.m3u8\r\n");
    text.push_str("#EXTINF:-1 tvg-name=\"Hearth Sport\" group-title=\"Sports\" catchup-days=\"3\",HS HD\r\nhttp://example.test/sport.m3u8|User-Agent=Hearth\r\n");
    text.push_str("#EXTINF:-1 group-title=\"Kids\",Hearth Kids\r\nhttp://example.test/kids.m3u8\r\n");
    let path = dir.join("playlist.m3u");
    std::fs::write(&path, text).expect("write playlist");
    path
}

/// Two hours of programmes per guide channel, around now, with the
/// quirks real guides have (desc before title, two languages, no stop).
fn guide(dir: &std::path::Path) -> PathBuf {
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).expect("ns");
    let base = now - time::Duration::minutes(30);
    let mut xml = String::from("<tv>\n");
    for (id, name) in [("hearth.news", "Hearth News TV"), ("sport-1", "Hearth Sport"), ("kids", "hearth   KIDS")] {
        xml.push_str(&format!("<channel id='{id}'><display-name lang='en'>{name}</display-name></channel>\n"));
    }
    for id in ["hearth.news", "sport-1", "kids"] {
        for slot in 0..4 {
            let start = base + time::Duration::minutes(30 * slot);
            let stop = if slot == 3 {
                String::new()
            } else {
                format!(" stop=\"{}\"", xmltv_time(start + time::Duration::minutes(30)))
            };
            xml.push_str(&format!(
                "<programme start=\"{}\"{stop} channel=\"{id}\"><desc lang=\"en\">About {slot}</desc>\
                 <title lang=\"en\">Show {slot}</title><title lang=\"de\">Sendung {slot}</title>\
                 <episode-num system=\"xmltv_ns\">1.{slot}.</episode-num></programme>\n",
                xmltv_time(start)
            ));
        }
    }
    xml.push_str("</tv>\n");
    let path = dir.join("guide.xml");
    std::fs::write(&path, xml).expect("write guide");
    path
}

fn users(dir: &std::path::Path) -> PathBuf {
    let path = dir.join("users.json");
    std::fs::write(
        &path,
        r#"{"users": [
            {"token": "tok-ann", "id": "ann", "name": "Ann", "packages": ["News"]},
            {"token": "tok-bob", "id": "bob", "name": "Bob", "all_channels": true},
            {"token": "tok-eve", "id": "eve", "name": "Eve", "all_channels": true, "suspended": true}
        ]}"#,
    )
    .expect("write users");
    path
}

fn config(playlist: PathBuf, guide: PathBuf, users: PathBuf) -> AdapterConfig {
    AdapterConfig {
        playlist: playlist.display().to_string(),
        guides: vec![guide.display().to_string()],
        header_guides: false,
        users: Some(users),
        api_key: Some("provider-key".into()),
        addr: "127.0.0.1:0".parse().expect("addr"),
        reload: Some(Duration::from_millis(300)),
        heartbeat: Duration::from_secs(1),
    }
}

fn authed<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert("authorization", "Bearer provider-key".parse().expect("header"));
    request
}

#[tokio::test]
async fn the_adapter_serves_a_real_playlist_and_passes_the_conformance_kit() {
    let Some(real) = shared("m3u/iptv-org_2026-06/us.m3u") else { return };
    let dir = scratch("conformance");
    let playlist = playlist(&dir, &real);
    let shutdown = CancellationToken::new();
    let running = start(config(playlist.clone(), guide(&dir), users(&dir)), shutdown.clone()).await.expect("start");
    let report = &running.report;
    let real_entries = std::fs::read_to_string(&real).expect("us.m3u").matches("#EXTINF").count();
    assert_eq!(report.entries, real_entries + 3, "{report:?}");
    assert_eq!(report.channels, report.entries, "every entry has a name: {report:?}");
    assert_eq!((report.matched_by_id, report.matched_by_tvg_name, report.matched_by_name), (1, 1, 1), "{report:?}");
    assert_eq!(report.channels_with_guide, 3);
    assert_eq!(report.programmes, 12 - 3, "the last programme of each channel has no stop and no successor");

    let endpoint = format!("http://{}", running.addr);
    let outcome = hearth_provider_check::check(hearth_provider_check::CheckConfig {
        endpoint: endpoint.clone(),
        api_key: Some("provider-key".into()),
        user_token: Some("tok-ann".into()),
        watch_wait: Duration::from_secs(5),
        timeout: Duration::from_secs(10),
    })
    .await;
    println!("{outcome}");
    assert!(outcome.passed(), "the reference adapter must be conformant:\n{outcome}");
    assert!(
        outcome.outcomes.iter().all(|o| matches!(o.verdict, hearth_provider_check::Verdict::Pass(_))),
        "every check passes, BatchGetAssets included (no VOD: unknown ids left out): {outcome}"
    );
    assert!(
        outcome.outcomes.iter().filter(|o| matches!(o.verdict, hearth_provider_check::Verdict::Pass(_))).count() >= 15,
        "{outcome}"
    );

    // Programme info: the channel matched by tvg-name has its guide, in
    // both languages, zero-based episodes, stops filled from the next start.
    let mut client = IptvProviderClient::connect(endpoint).await.expect("connect");
    let mut all = Vec::new();
    let mut page = String::new();
    loop {
        let listed = client
            .list_channels(authed(pb::ListChannelsRequest {
                page_size: 1000,
                page_token: page.clone(),
                ..Default::default()
            }))
            .await
            .expect("list")
            .into_inner();
        all.extend(listed.channels);
        if listed.next_page_token.is_empty() {
            break;
        }
        page = listed.next_page_token;
    }
    let sport = all.iter().find(|c| c.names[0].value == "HS HD").expect("HS HD listed");
    assert_eq!(sport.groups, ["Sports"]);
    assert_eq!(sport.catchup.as_ref().and_then(|c| c.window.as_ref()).map(|w| w.seconds), Some(3 * 86_400));
    assert_eq!(sport.stream.as_ref().map(|s| s.headers.get("User-Agent").cloned()), Some(Some("Hearth".into())));
    let news = all.iter().find(|c| c.names[0].value == "Hearth News").expect("Hearth News listed");
    assert_eq!(news.epg_id, "hearth.news");
    assert_eq!(news.groups, ["News", "Local"]);
    let now = OffsetDateTime::now_utc();
    let mut guide = client
        .get_guide(authed(pb::GetGuideRequest {
            channel_ids: vec![sport.channel_id.clone()],
            start_time: Some(wkt::timestamp(now - time::Duration::hours(1))),
            end_time: Some(wkt::timestamp(now + time::Duration::hours(3))),
        }))
        .await
        .expect("guide")
        .into_inner();
    let mut programmes = Vec::new();
    while let Some(batch) = guide.message().await.expect("batch") {
        programmes.extend(batch.programmes);
    }
    assert_eq!(programmes.len(), 3);
    assert_eq!(programmes[0].titles.iter().map(|t| t.language.as_str()).collect::<Vec<_>>(), ["en", "de"]);
    assert_eq!((programmes[1].season, programmes[1].episode), (Some(1), Some(1)));
    assert_eq!(programmes[0].end_time, programmes[1].start_time);

    // Entitlements: packages by group, suspension, unknown users.
    let check = |user: &str, channel: &str| pb::CheckEntitlementRequest {
        provider_user_ids: vec![user.to_owned(), "nobody".into()],
        target: Some(pb::check_entitlement_request::Target::ChannelId(channel.to_owned())),
    };
    let decide =
        |r: pb::CheckEntitlementResponse| r.decisions.iter().map(|d| (d.allowed, d.reason)).collect::<Vec<_>>();
    let unknown = (false, pb::DenialReason::UnknownUser as i32);
    let news_ann = client.check_entitlement(authed(check("ann", &news.channel_id))).await.expect("ann news");
    assert_eq!(decide(news_ann.into_inner()), [(true, 0), unknown]);
    let sport_ann = client.check_entitlement(authed(check("ann", &sport.channel_id))).await.expect("ann sport");
    assert_eq!(decide(sport_ann.into_inner()), [(false, pb::DenialReason::NotSubscribed as i32), unknown]);
    let sport_eve = client.check_entitlement(authed(check("eve", &sport.channel_id))).await.expect("eve");
    assert_eq!(decide(sport_eve.into_inner()), [(false, pb::DenialReason::AccountSuspended as i32), unknown]);
    let suspended = client
        .verify_user_token(authed(pb::VerifyUserTokenRequest { token: "tok-eve".into(), ..Default::default() }))
        .await;
    assert_eq!(suspended.expect_err("suspended").code(), tonic::Code::PermissionDenied);

    shutdown.cancel();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_changed_playlist_reaches_watch_catalog_and_incremental_listings() {
    let Some(real) = shared("m3u/iptv-org_2023-01_gh-pages/countries_ad.m3u") else { return };
    let dir = scratch("reload");
    let playlist = playlist(&dir, &real);
    let shutdown = CancellationToken::new();
    let running = start(config(playlist.clone(), guide(&dir), users(&dir)), shutdown.clone()).await.expect("start");
    let mut client = IptvProviderClient::connect(format!("http://{}", running.addr)).await.expect("connect");
    let listed = client
        .list_channels(authed(pb::ListChannelsRequest { page_size: 1000, ..Default::default() }))
        .await
        .expect("list")
        .into_inner();
    let token = listed.next_sync_token.clone();
    let kids = listed.channels.iter().find(|c| c.names[0].value == "Hearth Kids").expect("kids").channel_id.clone();
    let mut watch = client
        .watch_catalog(authed(pb::WatchCatalogRequest { sync_token: token.clone() }))
        .await
        .expect("watch")
        .into_inner();
    let heartbeat = watch.message().await.expect("heartbeat").expect("a message");
    assert!(heartbeat.upserted.is_empty() && heartbeat.removed_channel_ids.is_empty());
    assert_eq!(heartbeat.sync_token, token);

    // Rename one channel and drop another: the reload publishes a version.
    let text = std::fs::read_to_string(&playlist).expect("read");
    let text = text
        .replace(",Hearth News\r\n", ",Hearth News 24\r\n")
        .replace("#EXTINF:-1 group-title=\"Kids\",Hearth Kids\r\nhttp://example.test/kids.m3u8\r\n", "");
    std::fs::write(&playlist, text).expect("rewrite");
    let change = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let message = watch.message().await.expect("stream").expect("message");
            if !message.upserted.is_empty() || !message.removed_channel_ids.is_empty() {
                return message;
            }
        }
    })
    .await
    .expect("a change within 10 s");
    assert_eq!(change.upserted.iter().map(|c| c.names[0].value.as_str()).collect::<Vec<_>>(), ["Hearth News 24"]);
    // The renamed channel is a new id (name and URL identify a stream); the
    // old id and Kids are removed.
    assert_eq!(change.removed_channel_ids.len(), 2);
    assert!(change.removed_channel_ids.contains(&kids));
    let since = client
        .list_channels(authed(pb::ListChannelsRequest { sync_token: token, page_size: 1000, ..Default::default() }))
        .await
        .expect("incremental")
        .into_inner();
    assert_eq!((since.channels.len(), since.removed_channel_ids.len()), (1, 2));
    assert_eq!(since.next_sync_token, change.sync_token);
    shutdown.cancel();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn guides_named_in_the_playlist_header_are_loaded_on_request() {
    let dir = scratch("header-epg");
    let guide = guide(&dir);
    let playlist = dir.join("header.m3u");
    std::fs::write(
        &playlist,
        format!(
            "#EXTM3U x-tvg-url=\"{}\"\n#EXTINF:-1 tvg-id=\"hearth.news\" group-title=\"News\",Hearth News\nhttp://example.test/news.m3u8\n",
            guide.display()
        ),
    )
    .expect("playlist");
    let shutdown = CancellationToken::new();
    let mut config = config(playlist, guide, users(&dir));
    config.guides.clear();
    config.reload = None;
    let without = start(config.clone(), shutdown.clone()).await.expect("start");
    assert_eq!((without.report.guide_channels, without.report.programmes), (0, 0), "not fetched unless asked");
    config.header_guides = true;
    let with = start(config, shutdown.clone()).await.expect("start");
    assert_eq!((with.report.guide_channels, with.report.channels_with_guide, with.report.programmes), (3, 1, 3));
    shutdown.cancel();
    let _ = std::fs::remove_dir_all(dir);
}
