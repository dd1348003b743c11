//! Polls over the real WebSocket: the lifecycle from draft to archive,
//! votes counted exactly once (retries, second votes, changes, refusals),
//! live tallies, results hidden until close where asked, public voters,
//! every bad input refused with its reason and nothing stored, and the
//! deadline closing a poll once with two polls replicas, one SIGKILLed.

use std::time::Duration;

use hearth::Role;
use hearth_proto::hearth::polls::v1::{
    ArchivePollRequest, DeletePollRequest, polls_service_client::PollsServiceClient,
};
use hearth_tests::{TestApp, Ws, authed};
use serde_json::{Value, json};

use crate::{
    chat::{member, num, room_with_host},
    rooms::error,
};

/// The refusal's reason (the first word of the error message).
pub(crate) fn reason(reply: &Value) -> String {
    error(reply).1.split(':').next().unwrap_or_default().to_owned()
}

pub(crate) fn is_interaction(frame: &Value, kind: &str) -> bool {
    frame["interactionEvent"].get(kind).is_some()
}

async fn create(ws: &mut Ws, room: &str, poll: Value, open_now: bool) -> Value {
    ws.call(json!({"createPoll": {"roomId": room, "poll": poll, "openNow": open_now}})).await
}

async fn vote(ws: &mut Ws, poll: &str, options: &[&str]) -> Value {
    ws.call(json!({"castVote": {"pollId": poll, "optionIds": options}})).await
}

/// PollsService over gRPC as `user` (archive and delete are not frames).
async fn grpc(app: &TestApp) -> PollsServiceClient<tonic::transport::Channel> {
    PollsServiceClient::connect(app.grpc_url.clone()).await.expect("connect to the polls service")
}

fn tallies(results: &Value) -> Vec<u64> {
    results["tallies"].as_array().map(|t| t.iter().map(|o| num(&o["votes"])).collect()).unwrap_or_default()
}

#[tokio::test]
async fn votes_count_once_and_tallies_go_live_then_final() {
    let app = TestApp::spawn().await;
    let (room, host_id, mut host) = room_with_host(&app, "ROOM_VISIBILITY_PUBLIC").await;
    let (_, mut ann) = member(&app, &app.ws_url, &room).await;
    let (_, mut bob) = member(&app, &app.ws_url, &room).await;
    let (_, mut guest) = app.user_ws(&app.ws_url, &[]).await;
    let entered = guest.call(json!({"enterRoom": {"roomId": room}})).await;
    assert!(entered["enterRoom"]["interactions"].is_object(), "enter replies carry interactions: {entered}");

    let created = create(&mut host, &room, json!({"question": " Who wins? ", "options": ["Red", "Blue"]}), true).await;
    let poll = &created["createPoll"]["poll"];
    assert_eq!(poll["state"], "POLL_STATE_OPEN", "{created}");
    assert_eq!(poll["question"], "Who wins?");
    let id = poll["pollId"].as_str().expect("poll id").to_owned();
    let opened = ann.event_where(Duration::from_secs(5), |f| is_interaction(f, "pollOpened")).await;
    assert_eq!(opened["interactionEvent"]["pollOpened"]["poll"]["pollId"], id.as_str());

    // A vote, its retry (same choice: a no-op success), a different second
    // vote (refused: changing is off), and a guest (not a member).
    let first = vote(&mut ann, &id, &["o1"]).await;
    assert_eq!(first["castVote"]["optionIds"], json!(["o1"]), "{first}");
    let again = vote(&mut ann, &id, &["o1"]).await;
    assert!(again.get("castVote").is_some(), "a retry succeeds: {again}");
    assert_eq!(reason(&vote(&mut ann, &id, &["o2"]).await), "already_voted");
    assert_eq!(reason(&vote(&mut guest, &id, &["o1"]).await), "not_member");
    vote(&mut bob, &id, &["o2"]).await;
    vote(&mut host, &id, &["o2"]).await;

    // Live tallies reach the room, coalesced, highest revision last.
    let tally = bob
        .event_where(Duration::from_secs(5), |f| {
            is_interaction(f, "pollTally") && num(&f["interactionEvent"]["pollTally"]["results"]["voterCount"]) == 3
        })
        .await;
    assert_eq!(tallies(&tally["interactionEvent"]["pollTally"]["results"]), vec![1, 2]);

    // Reads: results and one's own choice.
    let read = ann.call(json!({"getPoll": {"pollId": id}})).await;
    assert_eq!(read["getPoll"]["poll"]["myOptionIds"], json!(["o1"]), "{read}");
    assert_eq!(tallies(&read["getPoll"]["poll"]["results"]), vec![1, 2]);

    // Only managers close; the final results are the counted votes.
    assert_eq!(reason(&ann.call(json!({"closePoll": {"pollId": id}})).await), "not_manager");
    let closed = host.call(json!({"closePoll": {"pollId": id}})).await;
    let results = &closed["closePoll"]["poll"]["results"];
    assert_eq!(results["finalized"], true, "{closed}");
    assert_eq!((tallies(results), num(&results["voterCount"])), (vec![1, 2], 3));
    let event = ann.event_where(Duration::from_secs(5), |f| is_interaction(f, "pollClosed")).await;
    assert_eq!(tallies(&event["interactionEvent"]["pollClosed"]["poll"]["results"]), vec![1, 2]);
    let again = host.call(json!({"closePoll": {"pollId": id}})).await;
    assert_eq!(again["closePoll"]["poll"]["state"], "POLL_STATE_CLOSED", "closing is idempotent: {again}");
    assert_eq!(reason(&vote(&mut bob, &id, &["o1"]).await), "poll_closed");
    let (_, mut late) = member(&app, &app.ws_url, &room).await;
    assert_eq!(reason(&vote(&mut late, &id, &["o1"]).await), "poll_closed");

    // Archive hides it from the room's list; results stay.
    let token = app.token(&host_id, &[]);
    let archived = grpc(&app).await.archive_poll(authed(ArchivePollRequest { poll_id: id.clone() }, &token)).await;
    assert_eq!(archived.expect("archive").into_inner().poll.map(|p| p.state), Some(5), "ARCHIVED");
    let listed = ann.call(json!({"listPolls": {"roomId": room}})).await;
    assert_eq!(listed["listPolls"]["polls"].as_array().map(Vec::len).unwrap_or(0), 0, "{listed}");
    let archived = ann.call(json!({"listPolls": {"roomId": room, "states": ["POLL_STATE_ARCHIVED"]}})).await;
    assert_eq!(tallies(&archived["listPolls"]["polls"][0]["results"]), vec![1, 2], "{archived}");
}

#[tokio::test]
async fn changes_multiple_choice_hidden_results_drafts_and_public_voters() {
    let app = TestApp::spawn().await;
    let (room, host_id, mut host) = room_with_host(&app, "ROOM_VISIBILITY_PUBLIC").await;
    let (ann_id, mut ann) = member(&app, &app.ws_url, &room).await;
    let (_, mut bob) = member(&app, &app.ws_url, &room).await;

    // A draft is invisible to members until opened, editable until then.
    let draft =
        create(&mut host, &room, json!({"question": "Snacks?", "options": ["Chips", "Nuts", "Fruit"]}), false).await;
    let id = draft["createPoll"]["poll"]["pollId"].as_str().expect("poll id").to_owned();
    assert_eq!(draft["createPoll"]["poll"]["state"], "POLL_STATE_DRAFT");
    assert_eq!(error(&ann.call(json!({"getPoll": {"pollId": id}})).await).0, "not_found");
    assert_eq!(reason(&vote(&mut ann, &id, &["o1"]).await), "poll_not_open");
    let updated = host
        .call(json!({"updatePoll": {"pollId": id, "poll": {
            "question": "Snacks?", "options": ["Chips", "Nuts", "Fruit"],
            "choiceMode": "CHOICE_MODE_MULTIPLE", "maxChoices": 2, "allowVoteChange": true,
            "resultsVisibility": "RESULTS_VISIBILITY_AFTER_CLOSE", "voteVisibility": "VOTE_VISIBILITY_PUBLIC"}}}))
        .await;
    assert_eq!(updated["updatePoll"]["poll"]["maxChoices"], 2, "{updated}");
    let opened = host.call(json!({"openPoll": {"pollId": id}})).await;
    assert_eq!(opened["openPoll"]["poll"]["state"], "POLL_STATE_OPEN", "{opened}");
    assert_eq!(
        reason(
            &host.call(json!({"updatePoll": {"pollId": id, "poll": {"question": "x", "options": ["a", "b"]}}})).await
        ),
        "poll_not_editable"
    );

    // Multiple choice within max_choices; a change moves the counts.
    assert_eq!(reason(&vote(&mut ann, &id, &["o1", "o2", "o3"]).await), "too_many_choices");
    assert_eq!(vote(&mut ann, &id, &["o3", "o1"]).await["castVote"]["optionIds"], json!(["o1", "o3"]));
    let changed = vote(&mut ann, &id, &["o2"]).await;
    assert_eq!(changed["castVote"]["changed"], true, "{changed}");
    vote(&mut bob, &id, &["o2", "o3"]).await;

    // Results after close: members see none while open, managers do.
    let seen = ann.call(json!({"getPoll": {"pollId": id}})).await;
    assert!(seen["getPoll"]["poll"].get("results").is_none(), "hidden until close: {seen}");
    let managed = host.call(json!({"getPoll": {"pollId": id}})).await;
    assert_eq!(tallies(&managed["getPoll"]["poll"]["results"]), vec![0, 2, 1], "{managed}");
    assert_eq!(reason(&ann.call(json!({"listPollVoters": {"pollId": id, "optionId": "o2"}})).await), "results_hidden");

    host.call(json!({"closePoll": {"pollId": id}})).await;
    let final_read = ann.call(json!({"getPoll": {"pollId": id}})).await;
    let results = &final_read["getPoll"]["poll"]["results"];
    assert_eq!((tallies(results), num(&results["voterCount"]), num(&results["voteCount"])), (vec![0, 2, 1], 2, 3));
    let voters = ann.call(json!({"listPollVoters": {"pollId": id, "optionId": "o2"}})).await;
    let ids: Vec<&str> = voters["listPollVoters"]["voters"]
        .as_array()
        .map(|v| v.iter().filter_map(|u| u["userId"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(ids.len(), 2, "{voters}");
    assert!(ids.contains(&ann_id.as_str()));

    // Anonymous polls never list voters; drafts can be deleted, open ones not.
    let anonymous = create(&mut host, &room, json!({"question": "Quiet?", "options": ["Yes", "No"]}), true).await;
    let anon_id = anonymous["createPoll"]["poll"]["pollId"].as_str().expect("id").to_owned();
    assert_eq!(
        reason(&ann.call(json!({"listPollVoters": {"pollId": anon_id, "optionId": "o1"}})).await),
        "poll_anonymous"
    );
    let token = app.token(&host_id, &[]);
    let refused = grpc(&app).await.delete_poll(authed(DeletePollRequest { poll_id: anon_id }, &token)).await;
    assert_eq!(refused.expect_err("open polls stay").code(), tonic::Code::FailedPrecondition);
    let draft = create(&mut host, &room, json!({"question": "Later?", "options": ["Yes", "No"]}), false).await;
    let draft_id = draft["createPoll"]["poll"]["pollId"].as_str().expect("id").to_owned();
    grpc(&app)
        .await
        .delete_poll(authed(DeletePollRequest { poll_id: draft_id.clone() }, &token))
        .await
        .expect("drafts go");
    assert_eq!(error(&host.call(json!({"getPoll": {"pollId": draft_id}})).await).0, "not_found");
}

#[tokio::test]
async fn bad_input_is_refused_with_its_reason_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let (room, _, mut host) = room_with_host(&app, "ROOM_VISIBILITY_PUBLIC").await;
    let (_, mut fan) = member(&app, &app.ws_url, &room).await;
    let cases = [
        (json!({"question": "  ", "options": ["a", "b"]}), "question_empty"),
        (json!({"question": "x".repeat(201), "options": ["a", "b"]}), "question_too_long"),
        (json!({"question": "Q", "options": ["a"]}), "too_few_options"),
        (json!({"question": "Q", "options": ["1","2","3","4","5","6","7","8","9","10","11"]}), "too_many_options"),
        (json!({"question": "Q", "options": ["Yes", " yes"]}), "duplicate_options"),
        (json!({"question": "Q", "options": ["a", ""]}), "option_empty"),
        (json!({"question": "Q", "options": ["a", "b"], "duration": "5s"}), "invalid_duration"),
        (json!({"question": "Q", "options": ["a", "b"], "duration": "-20s"}), "invalid_duration"),
        (json!({"question": "Q", "options": ["a", "b"], "maxChoices": 2}), "invalid_max_choices"),
    ];
    for (poll, want) in cases {
        let reply = create(&mut host, &room, poll.clone(), true).await;
        assert_eq!((error(&reply).0.as_str(), reason(&reply).as_str()), ("invalid_argument", want), "{poll}: {reply}");
    }
    let past = host
        .call(json!({"createPoll": {"roomId": room, "poll": {"question": "Q", "options": ["a", "b"]},
            "scheduledOpenTime": "2020-01-01T00:00:00Z"}}))
        .await;
    assert_eq!(reason(&past), "open_time_in_past");
    assert_eq!(error(&host.call(json!({"createPoll": {"roomId": "nope", "poll": {}}})).await).2, "room_id");
    assert_eq!(
        reason(&create(&mut fan, &room, json!({"question": "Q", "options": ["a", "b"]}), true).await),
        "not_manager"
    );
    let listed = host.call(json!({"listPolls": {"roomId": room}})).await;
    assert_eq!(listed["listPolls"]["polls"].as_array().map(Vec::len).unwrap_or(0), 0, "nothing stored: {listed}");

    // Votes: unknown option, nothing chosen, a malformed id, an unknown poll.
    let ok = create(&mut host, &room, json!({"question": "Q", "options": ["a", "b"]}), true).await;
    let id = ok["createPoll"]["poll"]["pollId"].as_str().expect("id").to_owned();
    assert_eq!(reason(&vote(&mut fan, &id, &["o9"]).await), "unknown_option");
    assert_eq!(reason(&vote(&mut fan, &id, &[]).await), "no_choice");
    assert_eq!(reason(&vote(&mut fan, &id, &["o1", "o1"]).await), "too_many_choices");
    assert_eq!(error(&vote(&mut fan, "not-a-uuid", &["o1"]).await).2, "poll_id");
    assert_eq!(reason(&vote(&mut fan, &uuid::Uuid::now_v7().to_string(), &["o1"]).await), "poll_not_found");
    let read = host.call(json!({"getPoll": {"pollId": id}})).await;
    assert_eq!(num(&read["getPoll"]["poll"]["results"]["voterCount"]), 0, "no refused vote counted: {read}");

    // At most five open polls per room.
    for i in 0..4 {
        create(&mut host, &room, json!({"question": format!("Q{i}"), "options": ["a", "b"]}), true).await;
    }
    let sixth = create(&mut host, &room, json!({"question": "Q6", "options": ["a", "b"]}), true).await;
    assert_eq!(reason(&sixth), "too_many_open_polls");
}

#[tokio::test]
async fn the_deadline_closes_a_poll_once_with_two_replicas_one_killed() {
    // Identity, rooms and chat here; two polls replicas in child processes;
    // a gateway (in this process) calling the first replica.
    let core = TestApp::spawn_with(&[Role::Identity, Role::Rooms, Role::Chat], |_| {}).await;
    let binary = env!("CARGO_BIN_EXE_hearth-test-roles");
    let mut doomed = core.spawn_roles_process(binary, "polls", |_| {}).await;
    let _survivor = core.spawn_roles_process(binary, "polls", |_| {}).await;
    let mut config = core.config.clone();
    config.services.identity_url = core.grpc_url.clone();
    config.services.rooms_url = core.grpc_url.clone();
    config.services.chat_url = core.grpc_url.clone();
    config.services.polls_url = format!("http://{}", doomed.addr);
    let gateway = TestApp::start_shared(config, &[Role::Gateway]).await;

    let (room, _, mut host) = room_with_host(&gateway, "ROOM_VISIBILITY_PUBLIC").await;
    let (_, mut watcher) = member(&gateway, &gateway.ws_url, &room).await;
    let created =
        create(&mut host, &room, json!({"question": "Quick one", "options": ["a", "b"], "duration": "10s"}), true)
            .await;
    let id = created["createPoll"]["poll"]["pollId"].as_str().expect("poll id").to_owned();
    let mut voters = Vec::new();
    for i in 0..5 {
        let (_, mut ws) = member(&gateway, &gateway.ws_url, &room).await;
        let reply = vote(&mut ws, &id, &[if i % 2 == 0 { "o1" } else { "o2" }]).await;
        assert!(reply.get("castVote").is_some(), "{reply}");
        voters.push(ws);
    }
    // The replica that served every request dies before the deadline.
    doomed.kill().await;

    let closed = watcher.event_where(Duration::from_secs(20), |f| is_interaction(f, "pollClosed")).await;
    let results = &closed["interactionEvent"]["pollClosed"]["poll"]["results"];
    assert_eq!((tallies(results), num(&results["voterCount"])), (vec![3, 2], 5), "{closed}");
    let rest = watcher.drain(Duration::from_secs(3)).await;
    let again = rest.iter().filter(|f| is_interaction(f, "pollClosed")).count();
    assert_eq!(again, 0, "the deadline fires once: {rest:?}");
}

#[tokio::test]
async fn a_large_rooms_tallies_are_paced_and_never_follow_the_final_results() {
    // A budget of 1 delivery a second makes this 4-member room "large":
    // a counter's updates are spaced 2 s apart (the cap) on this gateway.
    let app = TestApp::spawn_with(Role::ALL, |config| config.gateway.live_counter_budget = 1).await;
    let (room, _, mut host) = room_with_host(&app, "ROOM_VISIBILITY_PUBLIC").await;
    let (_, mut ann) = member(&app, &app.ws_url, &room).await;
    let (_, mut bob) = member(&app, &app.ws_url, &room).await;
    let (_, mut watcher) = member(&app, &app.ws_url, &room).await;
    let created = create(&mut host, &room, json!({"question": "Paced?", "options": ["Yes", "No"]}), true).await;
    let id = created["createPoll"]["poll"]["pollId"].as_str().expect("poll id").to_owned();
    let voters = |f: &Value| num(&f["interactionEvent"]["pollTally"]["results"]["voterCount"]);

    // The first tally of the poll goes out at once.
    vote(&mut ann, &id, &["o1"]).await;
    let first = watcher.event_where(Duration::from_secs(5), |f| is_interaction(f, "pollTally")).await;
    assert_eq!(voters(&first), 1);
    // Two more votes: the polls service publishes their tallies within
    // 250 ms, the gateway holds them until 2 s after the first.
    vote(&mut bob, &id, &["o2"]).await;
    vote(&mut host, &id, &["o2"]).await;
    let early = watcher.frames_within(Duration::from_millis(1500)).await;
    assert!(!early.iter().any(|f| is_interaction(f, "pollTally")), "a paced tally came early: {early:?}");
    let held = watcher.event_where(Duration::from_secs(5), |f| is_interaction(f, "pollTally")).await;
    assert_eq!(voters(&held), 3, "the newest tally replaced the older one waiting");

    // A vote whose tally is still waiting when the poll closes: the final
    // results come, and no tally after them.
    vote(&mut watcher, &id, &["o1"]).await;
    let closed = host.call(json!({"closePoll": {"pollId": id}})).await;
    assert_eq!(num(&closed["closePoll"]["poll"]["results"]["voterCount"]), 4, "{closed}");
    let event = watcher.event_where(Duration::from_secs(5), |f| is_interaction(f, "pollClosed")).await;
    assert_eq!(num(&event["interactionEvent"]["pollClosed"]["poll"]["results"]["voterCount"]), 4);
    let after = watcher.frames_within(Duration::from_millis(2500)).await;
    assert!(!after.iter().any(|f| is_interaction(f, "pollTally")), "a stale tally followed the close: {after:?}");
}
