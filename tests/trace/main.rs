//! One trace crosses gateway and identity: a register call over HTTP
//! produces the gateway's `http.server` span, its `grpc.client` span and
//! identity's `grpc.server` span, all in one trace; and a chat message is
//! one trace from the sender's frame through the chat service to the
//! fan-out on every gateway with a receiver. Spans are exported over OTLP
//! to a receiver inside this test. (Its own binary: telemetry is
//! process-global.)

use std::{collections::HashMap, time::Duration};

use serde_json::json;

use hearth::Role;
use hearth_platform::telemetry;
use hearth_tests::{TestApp, otlp::Receiver, test_config, username};
use opentelemetry_proto::tonic::trace::v1::Span;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_follows_a_request_across_roles_and_gateways() {
    let (receiver, endpoint) = Receiver::start().await;

    let (mut config, database) = test_config();
    config.telemetry.otlp_endpoint = Some(endpoint);
    let telemetry = telemetry::init(&config.telemetry, "hearth-trace-test").expect("telemetry");

    // Identity and gateway as two separate role sets, as in microservices mode.
    let identity = TestApp::start(config.clone(), database.clone(), &[Role::Identity]).await;
    let mut gateway_config = config.clone();
    gateway_config.services.identity_url = identity.grpc_url.clone();
    let gateway = TestApp::start(gateway_config, database, &[Role::Gateway]).await;
    gateway.register(&username("traced")).await;

    // Export, then wait for the three spans of one trace.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let trace = loop {
        telemetry.flush();
        let spans = receiver.spans.lock().await.clone();
        let http = spans.iter().map(|(_, s)| s).find(|s| s.name == "POST /v1/auth/register").cloned();
        if let Some(http) = http {
            let same_trace: Vec<Span> =
                spans.iter().filter(|(_, s)| s.trace_id == http.trace_id).map(|(_, s)| s.clone()).collect();
            let names: Vec<&str> = same_trace.iter().map(|s| s.name.as_str()).collect();
            if names.iter().filter(|n| **n == "hearth.identity.v1.IdentityService/Register").count() >= 2 {
                break same_trace;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "spans received: {:?}",
            spans.iter().map(|(_, s)| &s.name).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    let ids: HashMap<&[u8], &Span> = trace.iter().map(|s| (s.span_id.as_slice(), s)).collect();
    let http = trace.iter().find(|s| s.name == "POST /v1/auth/register").expect("gateway http span");
    let register: Vec<&Span> =
        trace.iter().filter(|s| s.name == "hearth.identity.v1.IdentityService/Register").collect();
    // SPAN_KIND_SERVER = 2, SPAN_KIND_CLIENT = 3.
    let client = register.iter().find(|s| s.kind == 3).expect("gateway grpc.client span");
    let server = register.iter().find(|s| s.kind == 2).expect("identity grpc.server span");
    assert_eq!(server.parent_span_id, client.span_id, "identity's span is a child of the gateway's call");
    // The client span descends from the HTTP span (possibly through handler spans).
    let mut cursor = ids.get(client.parent_span_id.as_slice()).copied();
    let mut reaches_http = false;
    while let Some(span) = cursor {
        if span.span_id == http.span_id {
            reaches_http = true;
            break;
        }
        cursor = ids.get(span.parent_span_id.as_slice()).copied();
    }
    assert!(reaches_http, "the gRPC call belongs to the HTTP request's trace");
    assert!(http.parent_span_id.is_empty(), "the HTTP span is the root");

    // A chat message: one trace from the sender's frame, through the chat
    // service, to the fan-out on every gateway with a receiver.
    let mut backend_config = config.clone();
    backend_config.grpc.addr = ([127, 0, 0, 1], 0).into();
    backend_config.services.identity_url = identity.grpc_url.clone();
    let backend = TestApp::start_shared(backend_config, &[Role::Rooms, Role::Chat]).await;
    let mut gateway_config = config.clone();
    gateway_config.gateway.addr = ([127, 0, 0, 1], 0).into();
    gateway_config.services.identity_url = identity.grpc_url.clone();
    gateway_config.services.rooms_url = backend.grpc_url.clone();
    gateway_config.services.chat_url = backend.grpc_url.clone();
    let gateway_a = TestApp::start_shared(gateway_config.clone(), &[Role::Gateway]).await;
    let gateway_b = TestApp::start_shared(gateway_config, &[Role::Gateway]).await;
    let (_, mut host) = gateway_a.user_ws(&gateway_a.ws_url, &[]).await;
    let created = host
        .call(json!({"createRoom": {"kind": "ROOM_KIND_COMMUNITY", "visibility": "ROOM_VISIBILITY_PUBLIC", "title": "Traced"}}))
        .await;
    let room = created["createRoom"]["room"]["roomId"].as_str().expect("a room").to_owned();
    host.call(json!({"enterRoom": {"roomId": room}})).await;
    let (_, mut viewer) = gateway_b.user_ws(&gateway_b.ws_url, &[]).await;
    viewer.call(json!({"enterRoom": {"roomId": room, "join": true}})).await;
    let sent = host.call(json!({"sendMessage": {"roomId": room, "clientMsgId": "traced", "text": "hello"}})).await;
    assert!(sent.get("sendMessage").is_some(), "{sent}");
    viewer.event_where(Duration::from_secs(5), |f| f["chatEvent"]["messagePosted"].is_object()).await;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let trace = loop {
        telemetry.flush();
        let spans = receiver.spans.lock().await.clone();
        let root = spans
            .iter()
            .map(|(_, s)| s)
            .find(|s| s.name == "ws.request" && s.attributes.iter().any(|a| format!("{a:?}").contains("send_message")))
            .cloned();
        if let Some(root) = root {
            let same: Vec<Span> =
                spans.iter().filter(|(_, s)| s.trace_id == root.trace_id).map(|(_, s)| s.clone()).collect();
            if same.iter().filter(|s| s.name == "room.fanout").count() >= 2 {
                break same;
            }
        }
        assert!(tokio::time::Instant::now() < deadline, "no chat trace reached both gateways");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let root = trace.iter().find(|s| s.name == "ws.request").expect("root");
    assert!(root.parent_span_id.is_empty(), "the sender's frame is the root");
    let ids: HashMap<&[u8], &Span> = trace.iter().map(|s| (s.span_id.as_slice(), s)).collect();
    let server = trace
        .iter()
        .find(|s| s.name == "hearth.chat.v1.ChatService/SendMessage" && s.kind == 2)
        .expect("chat's server span");
    for fanout in trace.iter().filter(|s| s.name == "room.fanout") {
        let mut cursor = ids.get(fanout.parent_span_id.as_slice()).copied();
        let mut through_chat = false;
        while let Some(span) = cursor {
            through_chat |= span.span_id == server.span_id;
            cursor = ids.get(span.parent_span_id.as_slice()).copied();
        }
        assert!(through_chat, "each gateway's fan-out descends from the chat service's span");
    }
    drop((backend, gateway_a, gateway_b));

    // Metrics and logs travel over OTLP too.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while receiver.metrics.lock().await.is_empty() || *receiver.log_records.lock().await == 0 {
        telemetry.flush();
        assert!(tokio::time::Instant::now() < deadline, "metrics and logs are exported");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop((identity, gateway));
}
