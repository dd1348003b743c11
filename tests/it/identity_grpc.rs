//! Identity over gRPC: profiles, the follow graph, blocks, account deletion.

use futures::StreamExt;
use hearth_proto::identity::{self as pb, get_profile_request::User};
use hearth_tests::{PASSWORD, TestApp, authed, username};
use prost::Message;

#[tokio::test]
async fn profiles_follow_and_block() {
    let app = TestApp::spawn().await;
    let mut identity = app.identity().await;
    let ann = app.register(&username("ann")).await;
    let bob = app.register(&username("bob")).await;
    let cid = app.register(&username("cid")).await;

    let updated = identity
        .update_profile(authed(
            pb::UpdateProfileRequest {
                display_name: Some("  Ann Example ".into()),
                bio: Some("Films and football".into()),
                avatar_url: Some("https://cdn.example/ann.png".into()),
                locale: Some("en-GB".into()),
            },
            &ann.access_token,
        ))
        .await
        .expect("update profile")
        .into_inner()
        .profile
        .expect("profile");
    assert_eq!(updated.display_name, "Ann Example");
    let bad = identity
        .update_profile(authed(
            pb::UpdateProfileRequest { avatar_url: Some("javascript:x".into()), ..Default::default() },
            &ann.access_token,
        ))
        .await
        .expect_err("bad avatar");
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);
    assert_eq!(bad.metadata().get("hearth-field").and_then(|v| v.to_str().ok()), Some("avatar_url"));

    for follower in [&bob, &cid] {
        identity
            .follow(authed(pb::FollowRequest { user_id: ann.user_id.clone() }, &follower.access_token))
            .await
            .expect("follow");
    }
    // Idempotent.
    identity
        .follow(authed(pb::FollowRequest { user_id: ann.user_id.clone() }, &bob.access_token))
        .await
        .expect("again");
    let selfie = identity.follow(authed(pb::FollowRequest { user_id: ann.user_id.clone() }, &ann.access_token)).await;
    assert_eq!(selfie.expect_err("self-follow").code(), tonic::Code::InvalidArgument);
    let ghost = identity
        .follow(authed(pb::FollowRequest { user_id: uuid::Uuid::now_v7().to_string() }, &bob.access_token))
        .await;
    assert_eq!(ghost.expect_err("unknown user").code(), tonic::Code::NotFound);

    // Paged followers, newest first.
    let page = identity
        .list_followers(pb::ListFollowersRequest {
            user_id: ann.user_id.clone(),
            page_size: 1,
            page_token: String::new(),
        })
        .await
        .expect("page 1")
        .into_inner();
    assert_eq!(page.followers.len(), 1);
    assert_eq!(page.followers[0].profile.as_ref().map(|p| p.user_id.clone()), Some(cid.user_id.clone()));
    let next = identity
        .list_followers(pb::ListFollowersRequest {
            user_id: ann.user_id.clone(),
            page_size: 1,
            page_token: page.next_page_token,
        })
        .await
        .expect("page 2")
        .into_inner();
    assert_eq!(next.followers[0].profile.as_ref().map(|p| p.user_id.clone()), Some(bob.user_id.clone()));
    let bad_token = identity
        .list_followers(pb::ListFollowersRequest {
            user_id: ann.user_id.clone(),
            page_size: 1,
            page_token: "garbage!".into(),
        })
        .await;
    assert_eq!(bad_token.expect_err("bad page token").code(), tonic::Code::InvalidArgument);

    let profile = identity
        .get_profile(pb::GetProfileRequest { user: Some(User::UserId(ann.user_id.clone())) })
        .await
        .expect("profile")
        .into_inner()
        .profile
        .expect("profile");
    assert_eq!(profile.follower_count, 2);

    // Ann blocks Bob: his follow disappears and he cannot follow again.
    identity.block(authed(pb::BlockRequest { user_id: bob.user_id.clone() }, &ann.access_token)).await.expect("block");
    let blocked = identity
        .list_blocks(authed(pb::ListBlocksRequest { page_size: 0, page_token: String::new() }, &ann.access_token))
        .await
        .expect("blocks")
        .into_inner();
    assert_eq!(blocked.blocked.len(), 1);
    let refollow = identity.follow(authed(pb::FollowRequest { user_id: ann.user_id.clone() }, &bob.access_token)).await;
    assert_eq!(refollow.expect_err("blocked").code(), tonic::Code::FailedPrecondition);
    let followers = identity
        .list_following(pb::ListFollowingRequest {
            user_id: bob.user_id.clone(),
            page_size: 10,
            page_token: String::new(),
        })
        .await
        .expect("following")
        .into_inner();
    assert!(followers.following.is_empty());
    identity
        .unblock(authed(pb::UnblockRequest { user_id: bob.user_id.clone() }, &ann.access_token))
        .await
        .expect("unblock");
    identity
        .follow(authed(pb::FollowRequest { user_id: ann.user_id.clone() }, &bob.access_token))
        .await
        .expect("follow again");
}

#[tokio::test]
async fn deleting_an_account_erases_it_and_publishes_the_event() {
    let app = TestApp::spawn().await;
    let nats = async_nats::connect(app.config.nats.url.expose()).await.expect("nats");
    let subject = format!("{}.identity.user.deleted", app.config.nats.subject_prefix);
    let mut deleted = nats.subscribe(subject).await.expect("subscribe");
    nats.flush().await.expect("flush");

    let name = username("gone");
    let user = app.register(&name).await;
    let mut identity = app.identity().await;
    let wrong = identity
        .delete_account(authed(pb::DeleteAccountRequest { password: "wrong password".into() }, &user.access_token))
        .await;
    assert_eq!(wrong.expect_err("wrong password").code(), tonic::Code::Unauthenticated);
    identity
        .delete_account(authed(pb::DeleteAccountRequest { password: PASSWORD.into() }, &user.access_token))
        .await
        .expect("delete");

    let message = tokio::time::timeout(std::time::Duration::from_secs(10), deleted.next())
        .await
        .expect("event within 10 s")
        .expect("a message");
    let event = pb::UserDeleted::decode(message.payload).expect("UserDeleted");
    assert_eq!(event.user_id, user.user_id);
    assert!(message.headers.as_ref().and_then(|h| h.get("Nats-Msg-Id")).is_some(), "deduplicated by id");

    let gone = identity.get_profile(pb::GetProfileRequest { user: Some(User::Username(name.clone())) }).await;
    assert_eq!(gone.expect_err("erased").code(), tonic::Code::NotFound);
    let (status, _) =
        app.post("/v1/auth/login", serde_json::json!({"username": name, "password": PASSWORD}), None).await;
    assert_eq!(status, 401);
}
