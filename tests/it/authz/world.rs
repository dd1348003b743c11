//! One room and one caller of every standing in it, built through the real
//! APIs (create, join, set roles, ban, time out), plus the objects acts
//! point at (messages, polls, quizzes, predictions, questions, invites,
//! terms, reports, held messages).

use std::collections::HashMap;

use hearth_tests::{TestApp, Ws};
use serde_json::{Value, json};

use super::{Caller, Fresh, Row, State, grpc, placeholders};

/// A caller: its user id, token and authenticated WebSocket (none for
/// anonymous).
pub struct Actor {
    pub id: String,
    pub token: Option<String>,
    pub ws: Ws,
}

pub struct World {
    pub room: String,
    pub state: State,
    pub actors: HashMap<Caller, Actor>,
    invite: String,
    /// Objects made before the room was archived (nothing can be made
    /// after); active rooms make a fresh one per act instead.
    frozen: HashMap<&'static str, String>,
    /// Archived rooms: target users and stand-ins made before archiving
    /// (nobody can join after), one per row that needs one.
    targets: HashMap<&'static str, Vec<String>>,
    stand_ins: HashMap<Caller, Vec<Actor>>,
    sealed: bool,
    /// The labelled callers' standing right after setup.
    baseline: Value,
}

/// Placeholders naming the target of an act that changes standing: each
/// resolves to a throwaway user made for that row, never a labelled caller.
const TARGETS: [&str; 4] = ["victim", "banned_fresh", "timed_out_fresh", "chat_banned_fresh"];

/// A fresh signed-in user with an open WebSocket.
async fn user(app: &TestApp, roles: &[&str]) -> Actor {
    let id = uuid::Uuid::now_v7().to_string();
    let token = app.token(&id, roles);
    let mut ws = app.ws().await;
    let connected = ws.auth(&token).await;
    assert!(connected.get("connected").is_some(), "auth failed: {connected}");
    Actor { id, token: Some(token), ws }
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        // Setup that did not work shows up as mismatches naming the act.
        other => format!("unmade-{other}"),
    }
}

impl World {
    /// A world for `rows` (archived rooms make, before archiving, what
    /// those rows will need).
    pub async fn build(app: &TestApp, state: State, rows: &[Row]) -> World {
        let mut owner = user(app, &[]).await;
        let visibility = if state == State::Private { "ROOM_VISIBILITY_PRIVATE" } else { "ROOM_VISIBILITY_PUBLIC" };
        let created = owner
            .ws
            .call(json!({"createRoom": {
                "kind": "ROOM_KIND_WATCH_PARTY", "visibility": visibility, "title": "Authz",
                "media": {"assetId": "movie-42"}, "settings": {"capacity": 1000},
            }}))
            .await;
        let room = text(&created["createRoom"]["room"]["roomId"]);
        owner.ws.call(json!({"enterRoom": {"roomId": room}})).await;
        let invite = owner.ws.call(json!({"createInvite": {"roomId": room, "maxUses": 1000}})).await;
        let invite = text(&invite["createInvite"]["invite"]["code"]);
        let mut world = World {
            room,
            state,
            actors: HashMap::new(),
            invite,
            frozen: HashMap::new(),
            targets: HashMap::new(),
            stand_ins: HashMap::new(),
            sealed: false,
            baseline: Value::Null,
        };
        world.actors.insert(Caller::Owner, owner);
        for caller in Caller::ALL.into_iter().filter(|c| *c != Caller::Owner) {
            let actor = world.stand_in(app, caller).await;
            world.actors.insert(caller, actor);
        }
        // Messages saying "heldword" wait for review (the `$held` objects).
        let room = world.room.clone();
        let hold = world
            .owner()
            .call(json!({"addBlockedTerm": {"roomId": room, "term": "heldword", "action": "TERM_ACTION_HOLD_FOR_REVIEW"}}))
            .await;
        assert!(hold.get("addBlockedTerm").is_some(), "hold term: {hold}");
        if state == State::Archived {
            for kind in OBJECTS {
                let made = world.make(app, kind).await;
                world.frozen.insert(kind, made);
            }
            for row in rows {
                for name in placeholders(&row.body) {
                    if let Some(kind) = TARGETS.iter().find(|k| **k == name) {
                        let made = world.target(app, kind).await;
                        world.targets.entry(kind).or_default().push(made);
                    }
                }
                if row.fresh == Fresh::StandIn {
                    let actor = world.stand_in(app, row.caller).await;
                    world.stand_ins.entry(row.caller).or_default().push(actor);
                }
            }
            archive(app, &world.room).await;
            world.sealed = true;
        }
        world.baseline = world.standing(app).await;
        world
    }

    /// A new caller of `caller`'s standing (the owner has no stand-in).
    pub async fn stand_in(&mut self, app: &TestApp, caller: Caller) -> Actor {
        if self.sealed
            && let Some(actor) = self.stand_ins.get_mut(&caller).and_then(Vec::pop)
        {
            return actor;
        }
        let role = match caller {
            Caller::Anon => return Actor { id: uuid::Uuid::nil().to_string(), token: None, ws: app.ws().await },
            Caller::Outsider => return user(app, &[]).await,
            Caller::Admin => return user(app, &["admin"]).await,
            Caller::Owner => panic!("the owner has no stand-in: run the act in a world of its own"),
            _ if self.sealed => panic!("no stand-in {caller:?} made before archiving"),
            Caller::Moderator => Some("ROOM_ROLE_MODERATOR"),
            Caller::Host => Some("ROOM_ROLE_HOST"),
            _ => None,
        };
        let mut actor = self.joined(app).await;
        let room = self.room.clone();
        if let Some(role) = role {
            let set =
                self.owner().call(json!({"setMemberRole": {"roomId": room, "userId": actor.id, "role": role}})).await;
            assert!(set.get("setMemberRole").is_some(), "set role: {set}");
        }
        if caller == Caller::TimedOut {
            let timeout = self
                .owner()
                .call(json!({"timeoutUser": {"roomId": room, "userId": actor.id, "duration": "3600s"}}))
                .await;
            assert!(timeout.get("timeoutUser").is_some(), "timeout: {timeout}");
        }
        if caller == Caller::Banned {
            let ban = self.owner().call(json!({"banMember": {"roomId": room, "userId": actor.id}})).await;
            assert!(ban.get("banMember").is_some(), "ban: {ban}");
            let _ = actor.ws.drain(std::time::Duration::from_millis(50)).await;
        }
        actor
    }

    /// Where the labelled callers stand and what the room is, as an
    /// operator admin sees it: every row must leave this unchanged.
    pub async fn standing(&self, app: &TestApp) -> Value {
        let ids: Vec<&str> = [Caller::Outsider, Caller::Member, Caller::Moderator, Caller::Host]
            .into_iter()
            .chain([Caller::Owner, Caller::Banned, Caller::TimedOut])
            .map(|c| self.actors[&c].id.as_str())
            .collect();
        let admin = self.actors[&Caller::Admin].token.clone();
        let channel = tonic::transport::Channel::from_shared(app.grpc_url.clone()).expect("url").connect_lazy();
        let body = json!({"roomId": self.room, "userIds": ids});
        let mut access = grpc::call(channel, "RoomAccessService/GetAccess", body, admin.as_deref())
            .await
            .unwrap_or_else(|status| panic!("GetAccess as admin: {status:?}"));
        for moving in ["onlineCount", "online_count", "title"] {
            if let Some(map) = access.as_object_mut() {
                map.remove(moving);
            }
        }
        access
    }

    /// Whether the labelled callers still stand where setup put them.
    pub async fn unchanged(&self, app: &TestApp) -> Result<(), String> {
        let now = self.standing(app).await;
        if now == self.baseline { Ok(()) } else { Err(format!("was {}\n now {now}", self.baseline)) }
    }

    /// A new user who joined the room (with the invite where private).
    pub async fn joined(&self, app: &TestApp) -> Actor {
        let mut actor = user(app, &[]).await;
        let entered =
            actor.ws.call(json!({"enterRoom": {"roomId": self.room, "join": true, "inviteCode": self.invite}})).await;
        assert_eq!(entered["enterRoom"]["joined"], true, "join: {entered}");
        actor
    }

    fn owner(&mut self) -> &mut Ws {
        &mut self.actors.get_mut(&Caller::Owner).expect("an owner").ws
    }

    /// The value of a `$name` placeholder for one act.
    pub async fn resolve(&mut self, app: &TestApp, caller: Caller, name: &str) -> String {
        match name {
            "room" => self.room.clone(),
            "me" => self.actors[&caller].id.clone(),
            "owner" => self.actors[&Caller::Owner].id.clone(),
            "member" => self.actors[&Caller::Member].id.clone(),
            "moderator" => self.actors[&Caller::Moderator].id.clone(),
            "outsider" => self.actors[&Caller::Outsider].id.clone(),
            "banned" => self.actors[&Caller::Banned].id.clone(),
            "timed_out" => self.actors[&Caller::TimedOut].id.clone(),
            "invite" => self.invite.clone(),
            "stranger" => uuid::Uuid::now_v7().to_string(),
            kind if TARGETS.contains(&kind) && self.sealed => self
                .targets
                .get_mut(kind)
                .and_then(Vec::pop)
                .unwrap_or_else(|| panic!("no ${kind} made before archiving")),
            kind if TARGETS.contains(&kind) => self.target(app, kind).await,
            "unique" => uuid::Uuid::now_v7().simple().to_string(),
            kind if self.state == State::Archived && !self.frozen.contains_key(kind) => {
                // Nothing can be made in an archived room: a shared stand-in.
                self.actors[&Caller::Member].id.clone()
            }
            kind => match self.frozen.get(kind) {
                Some(made) => made.clone(),
                // Open polls, predictions and quizzes are capped per room:
                // one of each per world, made on first use.
                None if SHARED.contains(&kind) => {
                    let made = self.make(app, kind).await;
                    self.frozen.insert(SHARED.iter().find(|k| **k == kind).copied().unwrap_or("poll"), made.clone());
                    made
                }
                None => self.make(app, kind).await,
            },
        }
    }

    /// Makes one object of `kind` in the room, as its owner (or a member
    /// where the object is a member's).
    async fn make(&mut self, app: &TestApp, kind: &str) -> String {
        let room = self.room.clone();
        let unique = uuid::Uuid::now_v7().simple().to_string();
        match kind {
            "seq" => {
                let sent = self
                    .owner()
                    .call(json!({"sendMessage": {"roomId": room, "clientMsgId": unique, "text": "hello"}}))
                    .await;
                text(&sent["sendMessage"]["message"]["sequence"])
            }
            "poll" | "draft" => {
                let poll = json!({"question": "Which?", "options": ["Red", "Blue"]});
                let made = self
                    .owner()
                    .call(json!({"createPoll": {"roomId": room, "poll": poll, "openNow": kind == "poll"}}))
                    .await;
                if made.get("error").is_some() {
                    println!("SETUP poll: {made}");
                }
                text(&made["createPoll"]["poll"]["pollId"])
            }
            "quiz" => {
                let question = json!({"text": "2+2?", "kind": "QUESTION_KIND_SINGLE_CHOICE", "options": ["3", "4"], "correctOptionIndexes": [1]});
                let made = self
                    .owner()
                    .call(json!({"createQuiz": {"roomId": room, "title": "Q", "questions": [question]}}))
                    .await;
                if made.get("error").is_some() {
                    println!("SETUP quiz: {made}");
                }
                text(&made["createQuiz"]["quiz"]["quizId"])
            }
            "prediction" => {
                let made = self
                    .owner()
                    .call(json!({"createPrediction": {"roomId": room, "title": "Who?", "outcomes": ["A", "B"], "predictionWindow": "600s"}}))
                    .await;
                let prediction = &made["createPrediction"]["prediction"];
                if prediction.is_null() {
                    println!("SETUP prediction: {made}");
                }
                let id = text(&prediction["predictionId"]);
                self.frozen_outcome(&prediction["outcomes"][0]["outcomeId"]);
                id
            }
            "outcome" => self.frozen.get("outcome").cloned().unwrap_or_default(),
            "question" => {
                let ws = &mut self.actors.get_mut(&Caller::Member).expect("a member").ws;
                let asked = ws.call(json!({"askQuestion": {"roomId": room, "text": format!("Why {unique}?")}})).await;
                if asked.get("error").is_some() {
                    println!("SETUP question: {asked}");
                }
                text(&asked["askQuestion"]["question"]["questionId"])
            }
            "term" => {
                let added = self
                    .owner()
                    .call(json!({"addBlockedTerm": {"roomId": room, "term": format!("w{unique}"), "action": "TERM_ACTION_BLOCK"}}))
                    .await;
                text(&added["addBlockedTerm"]["term"]["termId"])
            }
            "held" => {
                let term = "heldword";
                let mut sender = self.joined(app).await;
                let held = sender
                    .ws
                    .call(
                        json!({"sendMessage": {"roomId": room, "clientMsgId": unique, "text": format!("say {term}")}}),
                    )
                    .await;
                assert!(held["sendMessage"]["heldMessageId"].is_string(), "a held message: {held}");
                text(&held["sendMessage"]["heldMessageId"])
            }
            "report" => {
                let seq = Box::pin(self.make(app, "seq")).await;
                // A fresh reporter each time: reports are rate limited per user.
                let mut reporter = self.joined(app).await;
                let made = reporter
                    .ws
                    .call(json!({"createReport": {"roomId": room, "sequence": seq, "reason": "REPORT_REASON_SPAM"}}))
                    .await;
                text(&made["createReport"]["reportId"])
            }
            "invite_fresh" => {
                let made = self.owner().call(json!({"createInvite": {"roomId": room, "maxUses": 1}})).await;
                text(&made["createInvite"]["invite"]["code"])
            }
            "own_room" => {
                let made = self
                    .owner()
                    .call(json!({"createRoom": {"kind": "ROOM_KIND_WATCH_PARTY", "title": "Mine", "media": {"assetId": "movie-42"}}}))
                    .await;
                text(&made["createRoom"]["room"]["roomId"])
            }
            other => panic!("no placeholder ${other}"),
        }
    }

    /// A throwaway member for one act, restricted as `kind` says.
    async fn target(&mut self, app: &TestApp, kind: &str) -> String {
        let room = self.room.clone();
        match kind {
            "victim" => self.joined(app).await.id,
            _ => {
                let victim = self.joined(app).await.id;
                let frame = match kind {
                    "banned_fresh" => json!({"banMember": {"roomId": room, "userId": victim}}),
                    "timed_out_fresh" => json!({"timeoutUser": {"roomId": room, "userId": victim, "duration": "600s"}}),
                    _ => json!({"banFromChat": {"roomId": room, "userId": victim}}),
                };
                let done = self.owner().call(frame).await;
                assert!(done.get("error").is_none(), "restrict a victim: {done}");
                victim
            }
        }
    }

    fn frozen_outcome(&mut self, outcome: &Value) {
        self.frozen.insert("outcome", text(outcome));
    }
}

/// Objects one world shares between acts.
const SHARED: [&str; 4] = ["poll", "draft", "quiz", "prediction"];

/// Objects an archived room keeps from before it was archived.
const OBJECTS: [&str; 9] = ["seq", "poll", "draft", "quiz", "prediction", "question", "term", "held", "report"];

/// Archives a room as the catalog sweeper does for a channel that left the
/// line-up: straight in the database (no API archives a watch party).
async fn archive(app: &TestApp, room: &str) {
    use sqlx::ConnectOptions;
    let options: sqlx::postgres::PgConnectOptions = app.config.database.url.expose().parse().expect("database url");
    let mut conn = options.connect().await.expect("connect to the test database");
    let id: uuid::Uuid = room.parse().expect("room id");
    sqlx::query("UPDATE rooms.rooms SET state = 'archived' WHERE id = $1")
        .bind(id)
        .execute(&mut conn)
        .await
        .expect("archive the room");
}
