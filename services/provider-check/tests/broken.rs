//! The kit must catch a provider that breaks the contract: one that lists
//! a channel twice, forgets the sync token, accepts any page size, answers
//! unknown users with an error, overlaps programmes and lets anyone in.

use std::{pin::Pin, sync::Arc, time::Duration};

use futures::Stream;
use hearth_proto::hearth::provider::v1::{
    self as pb,
    iptv_provider_server::{IptvProvider, IptvProviderServer},
};
use hearth_provider_check::{CheckConfig, Verdict, check};
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

struct Broken;

fn channel(id: &str) -> pb::Channel {
    pb::Channel {
        channel_id: id.into(),
        names: vec![pb::LocalizedString { language: String::new(), value: id.into() }],
        ..Default::default()
    }
}

type Out<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

#[tonic::async_trait]
impl IptvProvider for Broken {
    async fn verify_user_token(
        &self,
        _: Request<pb::VerifyUserTokenRequest>,
    ) -> Result<Response<pb::VerifyUserTokenResponse>, Status> {
        Err(Status::internal("not implemented properly"))
    }

    async fn list_channels(
        &self,
        _: Request<pb::ListChannelsRequest>,
    ) -> Result<Response<pb::ListChannelsResponse>, Status> {
        // Any page size is accepted, a channel appears twice, no sync token.
        Ok(Response::new(pb::ListChannelsResponse { channels: vec![channel("a"), channel("a")], ..Default::default() }))
    }

    type WatchCatalogStream = Out<pb::WatchCatalogResponse>;

    async fn watch_catalog(
        &self,
        _: Request<pb::WatchCatalogRequest>,
    ) -> Result<Response<Self::WatchCatalogStream>, Status> {
        Err(Status::unimplemented("polling only"))
    }

    type GetGuideStream = Out<pb::GetGuideResponse>;

    async fn get_guide(&self, request: Request<pb::GetGuideRequest>) -> Result<Response<Self::GetGuideStream>, Status> {
        let start = request.into_inner().start_time.unwrap_or_default();
        let at = |minutes: i64| hearth_proto::wkt::Timestamp { seconds: start.seconds + minutes * 60 + 3600, nanos: 0 };
        let programme = |id: &str, from: i64, to: i64| pb::Programme {
            programme_id: id.into(),
            channel_id: "a".into(),
            start_time: Some(at(from)),
            end_time: Some(at(to)),
            titles: vec![pb::LocalizedString { language: "en".into(), value: id.into() }],
            ..Default::default()
        };
        // Overlapping programmes, and no window validation at all.
        let batch = pb::GetGuideResponse { programmes: vec![programme("p1", 0, 60), programme("p2", 30, 90)] };
        Ok(Response::new(Box::pin(futures::stream::iter([Ok(batch)]))))
    }

    async fn check_entitlement(
        &self,
        _: Request<pb::CheckEntitlementRequest>,
    ) -> Result<Response<pb::CheckEntitlementResponse>, Status> {
        Err(Status::not_found("unknown user"))
    }

    async fn batch_get_assets(
        &self,
        _: Request<pb::BatchGetAssetsRequest>,
    ) -> Result<Response<pb::BatchGetAssetsResponse>, Status> {
        Err(Status::unimplemented("no VOD"))
    }
}

#[tokio::test]
async fn a_broken_provider_fails_the_checks_it_breaks() {
    let listener = hearth_platform::grpc::bind("127.0.0.1:0".parse().expect("addr")).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mut services = hearth_platform::grpc::GrpcServices::default();
    services.add(IptvProviderServer::new(Broken));
    let shutdown = CancellationToken::new();
    let ready: hearth_platform::grpc::ReadinessCheck = Arc::new(|| Box::pin(async { true }));
    tokio::spawn(hearth_platform::grpc::serve(
        listener,
        services,
        ready,
        Duration::from_secs(10),
        Duration::ZERO,
        shutdown.clone(),
    ));

    let report = check(CheckConfig {
        endpoint: format!("http://{addr}"),
        api_key: Some("key".into()),
        user_token: Some("token".into()),
        watch_wait: Duration::from_secs(2),
        timeout: Duration::from_secs(5),
    })
    .await;
    println!("{report}");
    assert!(!report.passed());
    let verdict = |name: &str| report.outcomes.iter().find(|o| o.name == name).map(|o| o.verdict.clone()).expect(name);
    let failed = |name: &str, why: &str| match verdict(name) {
        Verdict::Fail(detail) => assert!(detail.contains(why), "{name}: {detail:?} should mention {why:?}"),
        other => panic!("{name} should fail, got {other:?}"),
    };
    failed("auth.required", "without credentials");
    failed("list.full_paging", "next_sync_token");
    failed("list.page_limits", "page_size 1001");
    failed("guide.invalid_window", "an empty window");
    failed("entitlement.unknown_users", "answers, not errors");
    failed("guide.window", "overlaps");
    failed("guide.unknown_channel", "does not exist");
    failed("user.invalid_token", "an empty token");
    assert!(matches!(verdict("assets.optional"), Verdict::Skip(_)), "UNIMPLEMENTED is allowed");
    assert!(report.to_string().contains("NOT CONFORMANT"));
    shutdown.cancel();
}
