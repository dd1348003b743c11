//! The authorization matrix: every WebSocket command and every unary gRPC
//! method of the public services, for every kind of caller (anonymous,
//! outsider, member, moderator, host, owner, operator admin, banned, timed
//! out) and room state (public, private, archived), each cell asserting
//! success or the exact refusal (code and reason). Rows are data; one loop
//! sets the world up once per group and collects every mismatch. Blocks
//! between users have their own table (`blocked`): every act that reaches
//! another person, with and without a block either way.

mod blocked;
mod grpc;
mod rows;
mod world;

use std::fmt::Write as _;

use hearth_tests::TestApp;
use serde_json::Value;

pub use rows::{Fresh, Row, Via};
use world::World;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Caller {
    Anon,
    Outsider,
    Member,
    Moderator,
    Host,
    Owner,
    Admin,
    Banned,
    TimedOut,
}

impl Caller {
    pub const ALL: [Caller; 9] = [
        Caller::Anon,
        Caller::Outsider,
        Caller::Member,
        Caller::Moderator,
        Caller::Host,
        Caller::Owner,
        Caller::Admin,
        Caller::Banned,
        Caller::TimedOut,
    ];
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    Public,
    Private,
    Archived,
}

/// What a call came back with: `ok`, or the client code and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub code: String,
    pub reason: String,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.reason.is_empty() { write!(f, "{}", self.code) } else { write!(f, "{}/{}", self.code, self.reason) }
    }
}

/// The reason a WebSocket error message starts with (`"<reason>: text"`).
fn ws_reason(message: &str) -> String {
    match message.split_once(": ") {
        Some((head, _)) if !head.is_empty() && head.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') => {
            head.to_owned()
        }
        _ => String::new(),
    }
}

fn ws_outcome(reply: &Value) -> Outcome {
    match reply.get("error") {
        Some(error) => outcome(
            error["code"].as_str().unwrap_or_default(),
            &ws_reason(error["message"].as_str().unwrap_or_default()),
        ),
        None => Outcome { code: "ok".into(), reason: String::new() },
    }
}

fn grpc_outcome(result: &Result<Value, tonic::Status>) -> Outcome {
    match result {
        Ok(_) => Outcome { code: "ok".into(), reason: String::new() },
        Err(status) => outcome(
            hearth_platform::error::wire_code(status.code()),
            hearth_platform::error::status_reason(status).unwrap_or_default(),
        ),
    }
}

/// Field errors name the field, not a reason: compare their code only.
fn outcome(code: &str, reason: &str) -> Outcome {
    let reason = if code == "invalid_argument" { "" } else { reason };
    Outcome { code: code.to_owned(), reason: reason.to_owned() }
}

/// The `"$name"` placeholders in `body`, each once.
pub fn placeholders(body: &Value) -> Vec<String> {
    fn names(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::String(s) if s.starts_with('$') => out.push(s[1..].to_owned()),
            Value::Array(items) => items.iter().for_each(|v| names(v, out)),
            Value::Object(map) => map.values().for_each(|v| names(v, out)),
            _ => {}
        }
    }
    let mut wanted = Vec::new();
    names(body, &mut wanted);
    wanted.sort();
    wanted.dedup();
    wanted
}

/// Replaces every `"$name"` string in `body` with the world's value.
async fn fill(app: &TestApp, world: &mut World, caller: Caller, body: &Value) -> Value {
    fn replace(value: &mut Value, values: &[(String, String)]) {
        match value {
            Value::String(s) if s.starts_with('$') => {
                if let Some((_, v)) = values.iter().find(|(n, _)| *n == s[1..]) {
                    *s = v.clone();
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| replace(v, values)),
            Value::Object(map) => map.values_mut().for_each(|v| replace(v, values)),
            _ => {}
        }
    }
    let mut wanted = placeholders(body);
    // A prediction's outcome is known once the prediction is made.
    wanted.sort_by_key(|n| n == "outcome");
    let mut values = Vec::new();
    for name in wanted {
        let value = world.resolve(app, caller, &name).await;
        values.push((name, value));
    }
    let mut body = body.clone();
    replace(&mut body, &values);
    body
}

/// Runs one act as `caller`, as its labelled actor, a stand-in of the same
/// standing, or in a world of its own; what came back.
async fn perform(app: &TestApp, world: &mut World, row: &Row) -> Outcome {
    match row.fresh {
        Fresh::Shared => perform_in(app, world, row).await,
        Fresh::StandIn => {
            let stand_in = world.stand_in(app, row.caller).await;
            let labelled = world.actors.insert(row.caller, stand_in).expect("every caller is set up");
            let got = perform_in(app, world, row).await;
            world.actors.insert(row.caller, labelled);
            got
        }
        Fresh::OwnWorld => {
            let mut own = World::build(app, world.state, std::slice::from_ref(row)).await;
            perform_in(app, &mut own, row).await
        }
    }
}

async fn perform_in(app: &TestApp, world: &mut World, row: &Row) -> Outcome {
    let body = fill(app, world, row.caller, &row.body).await;
    match row.via {
        Via::Ws(kind) if row.caller == Caller::Anon => {
            // A fresh socket: an unauthenticated one is closed at the auth deadline.
            ws_outcome(&app.ws().await.call(serde_json::json!({ kind: body })).await)
        }
        Via::Ws(kind) => {
            let actor = world.actors.get_mut(&row.caller).expect("every caller is set up");
            ws_outcome(&actor.ws.call(serde_json::json!({ kind: body })).await)
        }
        Via::Grpc(method) => {
            let token = world.actors[&row.caller].token.clone();
            let channel = tonic::transport::Channel::from_shared(app.grpc_url.clone()).expect("url").connect_lazy();
            grpc_outcome(&grpc::call(channel, method, body, token.as_deref()).await)
        }
    }
}

/// Runs `rows` (all of one state) in one app and world; the mismatches.
async fn run_group(app: &TestApp, state: State, rows: &[Row]) -> Vec<String> {
    let mut world = World::build(app, state, rows).await;
    let mut mismatches = Vec::new();
    for row in rows {
        let got = perform(app, &mut world, row).await;
        let want = row.expect.outcome();
        if std::env::var_os("AUTHZ_DISCOVER").is_some() {
            println!("DISCOVER|{}|{:?}|{:?}|{:?}|{got}", row.via, state, row.caller, row.fresh);
        }
        // Every later row relies on the labelled callers' standing: a row
        // that changed it is a broken matrix, not a mismatch.
        if let Err(change) = world.unchanged(app).await {
            panic!(
                "{} as {:?} in a {state:?} room changed the labelled callers' standing:\n {change}",
                row.via, row.caller
            );
        }
        if let Some(documented) = row.expect.documented() {
            println!("KNOWN_BUG {} as {:?} in {state:?}: documented {documented}, observed {got}", row.via, row.caller);
            if got == documented {
                mismatches.push(format!(
                    "{} as {:?} in {state:?}: now as documented; drop its KNOWN_BUG",
                    row.via, row.caller
                ));
                continue;
            }
        }
        if got != want {
            mismatches.push(format!(
                "{:<44} {:<10} {:<9} want {:<40} got {got}",
                row.via.to_string(),
                format!("{:?}", row.caller),
                format!("{:?}", state),
                want.to_string()
            ));
        }
    }
    mismatches
}

fn report(total: usize, mismatches: &[String]) {
    println!("authorization matrix: {total} rows, {} mismatches", mismatches.len());
    if std::env::var_os("AUTHZ_DISCOVER").is_some() {
        mismatches.iter().for_each(|line| println!("MISMATCH {line}"));
        return;
    }
    let mut table = String::new();
    for line in mismatches {
        let _ = writeln!(table, "  {line}");
    }
    assert!(mismatches.is_empty(), "authorization mismatches ({} of {total}):\n{table}", mismatches.len());
}

/// An app whose gateway tolerates any number of refused frames per
/// connection (the matrix sends hundreds on purpose) and chat rate limits
/// that setup never reaches.
async fn spawn() -> TestApp {
    TestApp::spawn_with(hearth::Role::ALL, |c| {
        c.gateway.max_bad_frames = u32::MAX;
        // Setup and rows send far faster than a viewer.
        c.gateway.frames_per_second = 100_000;
        c.gateway.frame_burst = 100_000;
        // Every Q&A row asks a question of its own as the member.
        c.polls.qna_ask_limit = 100_000;
        // The owner posts a message for every act that needs one.
        c.chat.moderator_messages_per_window = 100_000;
        c.chat.member_messages_per_window = 100_000;
    })
    .await
}

/// Room-scoped commands over the WebSocket and the same methods over gRPC,
/// for every caller in a public, a private and an archived room.
#[tokio::test]
async fn room_commands_obey_roles_and_state() {
    let app = spawn().await;
    let mut total = 0;
    let mut mismatches = Vec::new();
    for state in [State::Public, State::Private, State::Archived] {
        let rows = rows::room_rows(state);
        total += rows.len();
        mismatches.extend(run_group(&app, state, &rows).await);
    }
    report(total, &mismatches);
}

/// Every gRPC method without a token, and every service-only method with
/// user and operator-admin tokens; every WebSocket command before `auth`.
#[tokio::test]
async fn anonymous_and_user_callers_of_service_methods_are_refused() {
    let app = spawn().await;
    let rows = rows::credential_rows();
    let mismatches = run_group(&app, State::Public, &rows).await;
    report(rows.len(), &mismatches);
}

/// Every act that reaches another person, by a caller the target blocked,
/// a caller who blocked the target, and one with no block (the control).
#[tokio::test]
async fn blocked_callers_reach_nobody_who_blocked_them() {
    // Two fresh users per cell.
    let app = TestApp::spawn_with(hearth::Role::ALL, |c| c.identity.registrations_per_ip_per_hour = 1_000).await;
    let (total, mismatches) = blocked::run(&app).await;
    report(total, &mismatches);
}

/// The client-streaming ProviderIngest/ReportViewing (left out of the
/// unary tables) takes only the operator's ingest key: no credentials, a
/// wrong key, and user, operator-admin and service tokens are refused
/// before any event is read.
#[tokio::test]
async fn report_viewing_takes_only_the_ingest_key() {
    use hearth_platform::{auth, secret::SecretString};
    use hearth_proto::hearth::provider::v1::{self as pb, provider_ingest_client::ProviderIngestClient};
    const KEY: &str = "the-ingest-key";
    let app = TestApp::spawn_with(hearth::Role::ALL, |c| c.provider.ingest_key = Some(SecretString::new(KEY))).await;
    let keys = auth::TokenKeys::from_config(&app.config.auth).expect("token keys");
    let service = keys.issue_service("gateway", "authz").expect("service token");
    let user = app.token(&uuid::Uuid::now_v7().to_string(), &[]);
    let admin = app.token(&uuid::Uuid::now_v7().to_string(), &["admin"]);
    let mut client = ProviderIngestClient::connect(app.grpc_url.clone()).await.expect("ingest client");
    let empty = || futures::stream::iter(Vec::<pb::ReportViewingRequest>::new());
    let mut refused = Vec::new();
    for (who, token) in [
        ("wrong key", Some("not-the-key")),
        ("user", Some(&user)),
        ("admin", Some(&admin)),
        ("service", Some(&service)),
        ("no credentials", None),
    ] {
        let request = match token {
            Some(token) => hearth_tests::authed(empty(), token),
            None => tonic::Request::new(empty()),
        };
        match client.report_viewing(request).await {
            Err(status) if status.code() == tonic::Code::Unauthenticated => refused.push(who),
            other => panic!("{who}: ReportViewing answered {other:?}, want UNAUTHENTICATED"),
        }
    }
    println!("ReportViewing refused: {}", refused.join(", "));
    let accepted = client.report_viewing(hearth_tests::authed(empty(), KEY)).await.expect("the ingest key is accepted");
    assert_eq!(accepted.into_inner().accepted_count, 0);
}
