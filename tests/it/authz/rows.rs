//! The matrix as data. An act is a WebSocket frame kind (and the gRPC
//! method of the same request, where one exists) with a body whose `"$x"`
//! strings the world fills in, and its expected outcome per caller and
//! state, written compactly: `("upr", "xmdhoAbt", "permission_denied/not_host")`
//! means in public (u), private (p) and archived (r) rooms, callers
//! outsider (x), member (m), moderator (d), host (h), owner (o), operator
//! admin (A), banned (b) and timed out (t) get that outcome; anonymous is
//! `a`. Callers no entry names are not run for that act.

use serde_json::{Value, json};

use super::{Caller, Outcome, State, grpc};

#[derive(Clone, Copy, Debug)]
pub enum Via {
    Ws(&'static str),
    Grpc(&'static str),
}

impl std::fmt::Display for Via {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Via::Ws(kind) => write!(f, "ws {kind}"),
            Via::Grpc(method) => write!(f, "grpc {method}"),
        }
    }
}

/// What a row expects. `KnownBug` is a cell where the documented rule and
/// the observed behaviour disagree: the row passes on the observed outcome
/// (and says so), and fails once the behaviour matches the documentation,
/// so the marker is removed when the bug is fixed.
#[derive(Clone, Debug)]
pub enum Expect {
    Is(&'static str),
    KnownBug { documented: &'static str, observed: &'static str },
}

fn parse(text: &str) -> Outcome {
    let (code, reason) = text.split_once('/').unwrap_or((text, ""));
    Outcome { code: code.to_owned(), reason: reason.to_owned() }
}

impl Expect {
    /// The outcome the row passes on.
    pub fn outcome(&self) -> Outcome {
        match self {
            Expect::Is(text) | Expect::KnownBug { observed: text, .. } => parse(text),
        }
    }

    /// The documented outcome of a known-bug cell.
    pub fn documented(&self) -> Option<Outcome> {
        match self {
            Expect::Is(_) => None,
            Expect::KnownBug { documented, .. } => Some(parse(documented)),
        }
    }
}

/// Who a row runs as. Acts that change the caller's own standing run as a
/// stand-in of the same standing made for the row (or, for the owner and
/// for acts that change the room itself, in a world of their own), so the
/// labelled callers keep their standing for every later row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fresh {
    Shared,
    StandIn,
    OwnWorld,
}

#[derive(Clone, Debug)]
pub struct Row {
    pub via: Via,
    pub body: Value,
    pub caller: Caller,
    pub expect: Expect,
    pub fresh: Fresh,
}

fn letter(caller: Caller) -> char {
    match caller {
        Caller::Anon => 'a',
        Caller::Outsider => 'x',
        Caller::Member => 'm',
        Caller::Moderator => 'd',
        Caller::Host => 'h',
        Caller::Owner => 'o',
        Caller::Admin => 'A',
        Caller::Banned => 'b',
        Caller::TimedOut => 't',
    }
}

fn state_letter(state: State) -> char {
    match state {
        State::Public => 'u',
        State::Private => 'p',
        State::Archived => 'r',
    }
}

/// One act and its expectations.
struct Act {
    ws: Option<&'static str>,
    grpc: Option<&'static str>,
    body: Value,
    expect: &'static [(&'static str, &'static str, &'static str)],
    /// Callers (letters) who run it as a fresh stand-in.
    stand_in: &'static str,
    /// Callers (letters) who run it in a world of their own.
    own_world: &'static str,
    bugs: Vec<KnownBug>,
}

/// A cell where the docs and the service disagree (see [`KNOWN_BUG`]).
struct KnownBug {
    states: &'static str,
    callers: &'static str,
    documented: &'static str,
    observed: &'static str,
}

/// Marks the cells (`states`, `callers`) of an act as a suspected product
/// bug: the docs say `documented`, the service answers `observed`. The row
/// stays green on `observed` only through this marker, and every run
/// prints it.
#[allow(non_snake_case)]
#[allow(dead_code)] // no suspected bug is open right now
fn KNOWN_BUG(
    states: &'static str,
    callers: &'static str,
    documented: &'static str,
    observed: &'static str,
) -> KnownBug {
    KnownBug { states, callers, documented, observed }
}

impl Act {
    /// These callers run the act as a fresh stand-in of their standing.
    fn stand_in(mut self, callers: &'static str) -> Act {
        self.stand_in = callers;
        self
    }

    /// These callers run the act in a fresh world (it changes the room or
    /// the owner).
    fn own_world(mut self, callers: &'static str) -> Act {
        self.own_world = callers;
        self
    }

    #[allow(dead_code)] // no suspected bug is open right now
    fn bug(mut self, bug: KnownBug) -> Act {
        self.bugs.push(bug);
        self
    }
}

/// The gRPC method a WebSocket frame kind forwards to (same name).
fn method_of(kind: &str) -> Option<&'static str> {
    let mut pascal = String::new();
    let mut chars = kind.chars();
    if let Some(first) = chars.next() {
        pascal.push(first.to_ascii_uppercase());
        pascal.extend(chars);
    }
    let suffix = format!("/{pascal}");
    let mut found = grpc::METHODS.iter().filter(|m| m.ends_with(&suffix) && !m.starts_with("RoomPresenceService/"));
    found.next().copied()
}

fn ws(kind: &'static str, body: Value, expect: &'static [(&'static str, &'static str, &'static str)]) -> Act {
    Act { ws: Some(kind), grpc: method_of(kind), body, expect, stand_in: "", own_world: "", bugs: Vec::new() }
}

fn grpc_only(method: &'static str, body: Value, expect: &'static [(&'static str, &'static str, &'static str)]) -> Act {
    Act { ws: None, grpc: Some(method), body, expect, stand_in: "", own_world: "", bugs: Vec::new() }
}

fn expand(acts: Vec<Act>, state: State, out: &mut Vec<Row>) {
    let s = state_letter(state);
    for act in acts {
        for caller in Caller::ALL {
            let c = letter(caller);
            let Some((_, _, outcome)) =
                act.expect.iter().find(|(states, callers, _)| states.contains(s) && callers.contains(c))
            else {
                continue;
            };
            let bug = act.bugs.iter().find(|b| b.states.contains(s) && b.callers.contains(c));
            // The owner cannot be stood in for: a world of its own.
            let fresh = if act.own_world.contains(c) || (act.stand_in.contains(c) && caller == Caller::Owner) {
                Fresh::OwnWorld
            } else if act.stand_in.contains(c) {
                Fresh::StandIn
            } else {
                Fresh::Shared
            };
            for via in act.ws.map(Via::Ws).into_iter().chain(act.grpc.map(Via::Grpc)) {
                // Anonymous WebSocket frames never reach a service.
                // "ws|grpc": the two transports answer differently.
                let pick = |text: &'static str| {
                    let (over_ws, over_grpc) = text.split_once('|').unwrap_or((text, text));
                    if matches!(via, Via::Ws(_)) { over_ws } else { over_grpc }
                };
                let expect = match (via, caller, bug) {
                    (Via::Ws(_), Caller::Anon, _) => Expect::Is("unauthenticated"),
                    (_, _, Some(bug)) => {
                        Expect::KnownBug { documented: pick(bug.documented), observed: pick(bug.observed) }
                    }
                    _ => Expect::Is(pick(outcome)),
                };
                out.push(Row { via, body: act.body.clone(), caller, expect, fresh });
            }
        }
    }
}

/// Rows of room-scoped acts for rooms in `state`.
pub fn room_rows(state: State) -> Vec<Row> {
    let mut rows = Vec::new();
    expand(room_acts(), state, &mut rows);
    rows
}

/// Everything run with no room standing: anonymous gRPC calls to every
/// method, service-only methods with user and admin tokens.
pub fn credential_rows() -> Vec<Row> {
    let mut rows = Vec::new();
    expand(credential_acts(), State::Public, &mut rows);
    rows
}

fn room_acts() -> Vec<Act> {
    let r = "$room";
    vec![
        // A private room exists only for its members (and those banned from
        // it); other users' standings only for its moderators. First, while
        // the outsider holds no invite yet (inviteUsers invites them).
        grpc_only(
            "RoomAccessService/GetAccess",
            json!({"roomId": r}),
            &[
                ("ur", "xmdhoAbt", "ok"),
                ("p", "mdhoAbt", "ok"),
                ("p", "x", "not_found/room_not_found"),
                ("upr", "a", "unauthenticated"),
            ],
        ),
        grpc_only(
            "RoomAccessService/GetAccess",
            json!({"roomId": r, "userIds": ["$owner"]}),
            &[
                ("upr", "dhoA", "ok"),
                ("ur", "xmt", "permission_denied/not_moderator"),
                ("p", "mt", "permission_denied/not_moderator"),
                ("p", "x", "not_found/room_not_found"),
                ("upr", "b", "permission_denied/banned"),
                ("upr", "a", "unauthenticated"),
            ],
        ),
        ws(
            "getRoom",
            json!({"roomId": r}),
            &[("p", "mdhoAt", "ok"), ("ur", "xmdhoAt", "ok"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "getRoomSnapshot",
            json!({"roomId": r}),
            &[("p", "mdhoAt", "ok"), ("ur", "xmdhoAt", "ok"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "listMembers",
            json!({"roomId": r}),
            &[
                ("upr", "mdhoAt", "ok"),
                ("upr", "a", "unauthenticated"),
                ("ur", "x", "permission_denied/not_member"),
                ("upr", "b", "permission_denied/banned"),
                ("p", "x", "not_found/room_not_found"),
            ],
        ),
        ws(
            "listBans",
            json!({"roomId": r}),
            &[
                ("upr", "dhoA", "ok"),
                ("upr", "mt", "permission_denied/insufficient_role"),
                ("upr", "a", "unauthenticated"),
                ("ur", "x", "permission_denied/not_member"),
                ("upr", "b", "permission_denied/banned"),
                ("p", "x", "not_found/room_not_found"),
            ],
        ),
        ws(
            "listInvites",
            json!({"roomId": r}),
            &[
                ("upr", "mdhoAt", "ok"),
                ("upr", "a", "unauthenticated"),
                ("ur", "x", "permission_denied/not_member"),
                ("upr", "b", "permission_denied/banned"),
                ("p", "x", "not_found/room_not_found"),
            ],
        ),
        ws(
            "createInvite",
            json!({"roomId": r, "maxUses": 1}),
            &[
                ("up", "dhoA", "ok"),
                ("up", "mt", "permission_denied/insufficient_role"),
                ("upr", "a", "unauthenticated"),
                ("u", "x", "permission_denied/not_member"),
                ("upr", "b", "permission_denied/banned"),
                ("p", "x", "not_found/room_not_found"),
                ("r", "xmdhoAt", "failed_precondition/room_archived"),
            ],
        ),
        ws(
            "revokeInvite",
            json!({"code": "$invite_fresh"}),
            &[("up", "dhoA", "ok"), ("p", "mt", "permission_denied/insufficient_role"), ("p", "xb", "not_found/invite_not_found"), ("r", "xmdhoAbt", "invalid_argument"), ("u", "b", "not_found/invite_not_found"), ("u", "xmt", "permission_denied/insufficient_role"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "inviteUsers",
            json!({"roomId": r, "userIds": ["$stranger"]}),
            &[("up", "dhoA", "ok"), ("p", "x", "not_found/room_not_found"), ("r", "xmdhoAt", "failed_precondition/room_archived"), ("u", "x", "permission_denied/not_member"), ("up", "mt", "permission_denied/insufficient_role"), ("upr", "b", "permission_denied/banned"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "updateRoom",
            json!({"room": {"roomId": r, "title": "Renamed"}, "updateMask": {"paths": ["title"]}}),
            &[
                ("up", "mdt", "permission_denied/not_host"),
                ("up", "hoA", "ok"),
                ("upr", "a", "unauthenticated"),
                ("u", "x", "permission_denied/not_member"),
                ("upr", "b", "permission_denied/banned"),
                ("p", "x", "not_found/room_not_found"),
                ("r", "xmdhoAt", "failed_precondition/room_archived"),
            ],
        ),
        ws(
            "updateRoom",
            json!({"room": {"roomId": r, "visibility": "ROOM_VISIBILITY_UNLISTED"}, "updateMask": {"paths": ["visibility"]}}),
            &[
                ("up", "mdht", "permission_denied/not_owner"),
                ("up", "oA", "ok"),
                ("upr", "a", "unauthenticated"),
                ("u", "x", "permission_denied/not_member"),
                ("upr", "b", "permission_denied/banned"),
                ("p", "x", "not_found/room_not_found"),
                ("r", "xmdhoAt", "failed_precondition/room_archived"),
            ],
        )
        // A visibility change would turn the private room unlisted.
        .own_world("oA"),
        ws(
            "play",
            json!({"roomId": r}),
            &[("up", "hoA", "ok"), ("p", "x", "not_found/room_not_found"), ("r", "xmdhoAt", "failed_precondition/room_archived"), ("u", "x", "permission_denied/not_member"), ("up", "mdt", "permission_denied/not_host"), ("upr", "b", "permission_denied/banned"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "pause",
            json!({"roomId": r}),
            &[("up", "hoA", "ok"), ("p", "x", "not_found/room_not_found"), ("r", "xmdhoAt", "failed_precondition/room_archived"), ("u", "x", "permission_denied/not_member"), ("up", "mdt", "permission_denied/not_host"), ("upr", "b", "permission_denied/banned"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "seek",
            json!({"roomId": r, "position": "10s"}),
            &[("up", "hoA", "ok"), ("p", "x", "not_found/room_not_found"), ("r", "xmdhoAt", "failed_precondition/room_archived"), ("u", "x", "permission_denied/not_member"), ("up", "mdt", "permission_denied/not_host"), ("upr", "b", "permission_denied/banned"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "setRate",
            json!({"roomId": r, "rate": 1.0}),
            &[("up", "hoA", "ok"), ("p", "x", "not_found/room_not_found"), ("r", "xmdhoAt", "failed_precondition/room_archived"), ("u", "x", "permission_denied/not_member"), ("up", "mdt", "permission_denied/not_host"), ("upr", "b", "permission_denied/banned"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "changeMedia",
            json!({"roomId": r, "media": {"assetId": "movie-43"}}),
            &[("up", "hoA", "ok"), ("p", "x", "not_found/room_not_found"), ("r", "xmdhoAt", "failed_precondition/room_archived"), ("u", "x", "permission_denied/not_member"), ("up", "mdt", "permission_denied/not_host"), ("upr", "b", "permission_denied/banned"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "updateQueue",
            json!({"roomId": r, "add": {"media": {"assetId": "movie-44"}}}),
            &[("up", "hoA", "ok"), ("p", "x", "not_found/room_not_found"), ("r", "xmdhoAt", "failed_precondition/room_archived"), ("u", "x", "permission_denied/not_member"), ("up", "mdt", "permission_denied/not_host"), ("upr", "b", "permission_denied/banned"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "playNext",
            json!({"roomId": r}),
            &[("up", "hoA", "ok"), ("p", "x", "not_found/room_not_found"), ("r", "xmdhoAt", "failed_precondition/room_archived"), ("u", "x", "permission_denied/not_member"), ("up", "mdt", "permission_denied/not_host"), ("upr", "b", "permission_denied/banned"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "reportReadiness",
            json!({"roomId": r, "readiness": "READINESS_READY"}),
            &[("upr", "xmdhoAbt", "invalid_argument"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "setHoldGroup",
            json!({"roomId": r, "holdGroup": false}),
            &[("upr", "mdhot", "ok"), ("p", "A", "permission_denied/not_member"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("ur", "xA", "permission_denied/not_member"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "kickMember",
            json!({"roomId": r, "userId": "$victim"}),
            &[("upr", "dhoA", "ok"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("upr", "mt", "permission_denied/insufficient_role"), ("ur", "x", "permission_denied/not_member"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "banMember",
            json!({"roomId": r, "userId": "$victim"}),
            &[("upr", "dhoA", "ok"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("upr", "mt", "permission_denied/insufficient_role"), ("ur", "x", "permission_denied/not_member"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "unbanMember",
            json!({"roomId": r, "userId": "$banned_fresh"}),
            &[("upr", "dhoA", "ok"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("upr", "mt", "permission_denied/insufficient_role"), ("ur", "x", "permission_denied/not_member"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "setMemberRole",
            json!({"roomId": r, "userId": "$victim", "role": "ROOM_ROLE_MODERATOR"}),
            &[("upr", "hoA", "ok"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("upr", "mdt", "permission_denied/insufficient_role"), ("ur", "x", "permission_denied/not_member"), ("upr", "a", "unauthenticated")],
        ),
        // Entering makes an outsider or admin a present guest; joining makes
        // them members: stand-ins, so the labelled ones stay what they are.
        ws(
            "enterRoom",
            json!({"roomId": r}),
            &[("p", "mdhoAt", "ok"), ("ur", "xmdhoAt", "ok"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("upr", "a", "unauthenticated")],
        )
        .stand_in("xA"),
        grpc_only(
            "RoomsService/JoinRoom",
            json!({"roomId": r}),
            &[("p", "mdhoAt", "ok"), ("r", "mdhot", "ok"), ("u", "xmdhoAt", "ok"), ("p", "x", "not_found/room_not_found"), ("r", "xA", "failed_precondition/room_archived"), ("upr", "b", "permission_denied/banned"), ("upr", "a", "unauthenticated")],
        )
        .stand_in("xmdhAbt"),
        // chat
        ws(
            "sendMessage",
            json!({"roomId": r, "clientMsgId": "$unique", "text": "hi"}),
            &[("p", "mdhoA", "ok"), ("u", "xmdhoA", "ok"), ("p", "x", "not_found/room_not_found"), ("r", "xmdhoAt", "failed_precondition/room_archived"), ("up", "t", "permission_denied/timed_out"), ("upr", "b", "permission_denied/banned"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "listMessages",
            json!({"roomId": r}),
            &[("p", "mdhoAt", "ok"), ("ur", "xmdhoAt", "ok"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "getThread",
            json!({"roomId": r, "rootSequence": "$seq"}),
            &[("p", "mdhoAt", "ok"), ("ur", "xmdhoAt", "ok"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "deleteMessage",
            json!({"roomId": r, "sequence": "$seq"}),
            &[("up", "dhoA", "ok"), ("p", "mt", "permission_denied/not_author"), ("p", "x", "not_found/room_not_found"), ("r", "xmdhoAt", "failed_precondition/room_archived"), ("u", "xmt", "permission_denied/not_author"), ("upr", "b", "permission_denied/banned"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "addReaction",
            json!({"roomId": r, "sequence": "$seq", "emoji": "🔥"}),
            &[("p", "mdhoA", "ok"), ("u", "xmdhoA", "ok"), ("p", "x", "not_found/room_not_found"), ("r", "xmdhoAt", "failed_precondition/room_archived"), ("up", "t", "permission_denied/timed_out"), ("upr", "b", "permission_denied/banned"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "removeReaction",
            json!({"roomId": r, "sequence": "$seq", "emoji": "🔥"}),
            &[("p", "mdhoAt", "ok"), ("ur", "xmdhoAt", "ok"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "listReactionUsers",
            json!({"roomId": r, "sequence": "$seq", "emoji": "🔥"}),
            &[("p", "mdhoAt", "ok"), ("ur", "xmdhoAt", "ok"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "sendLiveReaction",
            json!({"roomId": r, "emoji": "🔥"}),
            &[("p", "mdhoA", "ok"), ("u", "xmdhoA", "ok"), ("p", "x", "not_found/room_not_found"), ("r", "xmdhoAt", "failed_precondition/room_archived"), ("up", "t", "permission_denied/timed_out"), ("upr", "b", "permission_denied/banned"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "setTyping",
            json!({"roomId": r, "typing": true}),
            &[("p", "mdhoA", "ok"), ("u", "xmdhoA", "ok"), ("p", "x", "not_found/room_not_found"), ("r", "xmdhoAt", "failed_precondition/room_archived"), ("up", "t", "permission_denied/timed_out"), ("upr", "b", "permission_denied/banned"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "resumeChat",
            json!({"roomId": r}),
            &[("p", "mdhoAt", "ok"), ("ur", "xmdhoAt", "ok"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "getChatSettings",
            json!({"roomId": r}),
            &[("p", "mdhoAt", "ok"), ("ur", "xmdhoAt", "ok"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "updateChatSettings",
            json!({"roomId": r, "settings": {"emoteOnly": false}, "updateMask": {"paths": ["emote_only"]}}),
            &[("upr", "dhoA", "ok"), ("p", "mt", "permission_denied/not_moderator"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("ur", "xmt", "permission_denied/not_moderator"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "setShieldMode",
            json!({"roomId": r, "enabled": false}),
            &[("upr", "dhoA", "ok"), ("p", "mt", "permission_denied/not_moderator"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("ur", "xmt", "permission_denied/not_moderator"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "timeoutUser",
            json!({"roomId": r, "userId": "$victim", "duration": "60s"}),
            &[("upr", "dhoA", "ok"), ("p", "mt", "permission_denied/not_moderator"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("ur", "xmt", "permission_denied/not_moderator"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "removeTimeout",
            json!({"roomId": r, "userId": "$timed_out_fresh"}),
            &[("upr", "dhoA", "ok"), ("p", "mt", "permission_denied/not_moderator"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("ur", "xmt", "permission_denied/not_moderator"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "banFromChat",
            json!({"roomId": r, "userId": "$victim"}),
            &[("upr", "dhoA", "ok"), ("p", "mt", "permission_denied/not_moderator"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("ur", "xmt", "permission_denied/not_moderator"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "unbanFromChat",
            json!({"roomId": r, "userId": "$chat_banned_fresh"}),
            &[("upr", "dhoA", "ok"), ("p", "mt", "permission_denied/not_moderator"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("ur", "xmt", "permission_denied/not_moderator"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "listChatRestrictions",
            json!({"roomId": r}),
            &[("upr", "dhoA", "ok"), ("p", "mt", "permission_denied/not_moderator"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("ur", "xmt", "permission_denied/not_moderator"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "addBlockedTerm",
            json!({"roomId": r, "term": "$unique", "action": "TERM_ACTION_BLOCK"}),
            &[("upr", "dhoA", "ok"), ("p", "mt", "permission_denied/not_moderator"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("ur", "xmt", "permission_denied/not_moderator"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "removeBlockedTerm",
            json!({"termId": "$term"}),
            &[("up", "dhoA", "ok"), ("p", "mt", "permission_denied/not_moderator"), ("p", "x", "not_found/room_not_found"), ("r", "d", "ok|not_found/term_not_found"), ("r", "hoAbt", "not_found/term_not_found"), ("r", "xm", "permission_denied/not_moderator"), ("u", "xmt", "permission_denied/not_moderator"), ("up", "b", "permission_denied/banned"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "listBlockedTerms",
            json!({"roomId": r}),
            &[("upr", "dhoA", "ok"), ("p", "mt", "permission_denied/not_moderator"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("ur", "xmt", "permission_denied/not_moderator"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "listHeldMessages",
            json!({"roomId": r}),
            &[("upr", "dhoA", "ok"), ("p", "mt", "permission_denied/not_moderator"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("ur", "xmt", "permission_denied/not_moderator"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "approveHeldMessage",
            json!({"heldMessageId": "$held"}),
            &[("up", "dhoA", "ok"), ("p", "mt", "permission_denied/not_moderator"), ("p", "x", "not_found/room_not_found"), ("r", "d", "ok|not_found/held_message_not_found"), ("r", "hoAbt", "not_found/held_message_not_found"), ("r", "xm", "permission_denied/not_moderator"), ("u", "xmt", "permission_denied/not_moderator"), ("up", "b", "permission_denied/banned"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "denyHeldMessage",
            json!({"heldMessageId": "$held"}),
            &[("up", "dhoA", "ok"), ("p", "mt", "permission_denied/not_moderator"), ("p", "x", "not_found/room_not_found"), ("r", "xmdhoAbt", "not_found/held_message_not_found"), ("u", "xmt", "permission_denied/not_moderator"), ("up", "b", "permission_denied/banned"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "createReport",
            json!({"roomId": r, "sequence": "$seq", "reason": "REPORT_REASON_SPAM"}),
            &[("p", "mdhAt", "ok"), ("ur", "xmdhAt", "ok"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("upr", "o", "invalid_argument"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "listReports",
            json!({"roomId": r}),
            &[("upr", "dhoA", "ok"), ("p", "mt", "permission_denied/not_moderator"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("ur", "xmt", "permission_denied/not_moderator"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "resolveReport",
            json!({"reportId": "$report", "resolution": "REPORT_RESOLUTION_DISMISSED"}),
            &[("up", "dhoA", "ok"), ("p", "mbt", "not_found/report_not_found"), ("p", "x", "not_found/room_not_found"), ("r", "d", "ok|failed_precondition/report_resolved"), ("r", "hoA", "failed_precondition/report_resolved"), ("ur", "xmbt", "not_found/report_not_found"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "listAuditLog",
            json!({"roomId": r}),
            &[("upr", "dhoA", "ok"), ("p", "mt", "permission_denied/not_moderator"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("ur", "xmt", "permission_denied/not_moderator"), ("upr", "a", "unauthenticated")],
        ),
        // polls
        ws(
            "createPoll",
            json!({"roomId": r, "poll": {"question": "Q?", "options": ["A", "B"]}}),
            &[("up", "dhoA", "ok"), ("p", "mt", "permission_denied/not_manager"), ("p", "x", "not_found/room_not_found"), ("r", "dhoA", "failed_precondition/room_archived"), ("upr", "b", "permission_denied/banned"), ("ur", "xmt", "permission_denied/not_manager"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "updatePoll",
            json!({"pollId": "$draft", "poll": {"question": "Q2?", "options": ["A", "B"]}}),
            &[("up", "dhoA", "ok"), ("p", "mt", "permission_denied/not_manager"), ("p", "x", "not_found/room_not_found"), ("r", "dhoA", "failed_precondition/room_archived"), ("upr", "b", "permission_denied/banned"), ("ur", "xmt", "permission_denied/not_manager"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "openPoll",
            json!({"pollId": "$draft"}),
            &[("up", "dhoA", "ok"), ("p", "mt", "permission_denied/not_manager"), ("p", "x", "not_found/room_not_found"), ("r", "dhoA", "failed_precondition/room_archived"), ("upr", "b", "permission_denied/banned"), ("ur", "xmt", "permission_denied/not_manager"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "closePoll",
            json!({"pollId": "$poll"}),
            &[("up", "dhoA", "ok"), ("p", "mt", "permission_denied/not_manager"), ("p", "x", "not_found/room_not_found"), ("r", "dhoA", "failed_precondition/room_archived"), ("upr", "b", "permission_denied/banned"), ("ur", "xmt", "permission_denied/not_manager"), ("upr", "a", "unauthenticated")],
        ),
        grpc_only(
            "PollsService/ArchivePoll",
            json!({"pollId": "$poll"}),
            &[("up", "dhoA", "ok"), ("p", "mt", "permission_denied/not_manager"), ("p", "x", "not_found/room_not_found"), ("r", "dhoA", "failed_precondition/room_archived"), ("upr", "b", "permission_denied/banned"), ("ur", "xmt", "permission_denied/not_manager"), ("upr", "a", "unauthenticated")],
        ),
        grpc_only(
            "PollsService/DeletePoll",
            json!({"pollId": "$poll"}),
            &[("p", "mt", "permission_denied/not_manager"), ("p", "x", "not_found/room_not_found"), ("r", "dhoA", "failed_precondition/room_archived"), ("up", "dhoA", "failed_precondition/poll_not_editable"), ("upr", "b", "permission_denied/banned"), ("ur", "xmt", "permission_denied/not_manager"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "getPoll",
            json!({"pollId": "$poll"}),
            &[("p", "mdhoAt", "ok"), ("ur", "xmdhoAt", "ok"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "listPolls",
            json!({"roomId": r}),
            &[("p", "mdhoAt", "ok"), ("ur", "xmdhoAt", "ok"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("upr", "a", "unauthenticated")],
        ),
        // The poll is closed: members learn that; a private room's poll does
        // not exist for non-members (polls.md), whoever asks.
        ws(
            "castVote",
            json!({"pollId": "$poll", "optionIds": ["o1"]}),
            &[
                ("up", "mdhot", "failed_precondition/poll_closed"),
                ("u", "xA", "permission_denied/not_member"),
                ("p", "xA", "not_found/room_not_found"),
                ("up", "b", "permission_denied/banned"),
                ("upr", "a", "unauthenticated"),
                ("r", "xmdhoAbt", "failed_precondition/room_archived"),
            ],
        ),
        ws(
            "listPollVoters",
            json!({"pollId": "$poll", "optionId": "o1"}),
            &[("p", "mdhoAt", "failed_precondition/poll_anonymous"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("ur", "xmdhoAt", "failed_precondition/poll_anonymous"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "getRoomInteractions",
            json!({"roomId": r}),
            &[("p", "mdhoAt", "ok"), ("ur", "xmdhoAt", "ok"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "createQuiz",
            json!({"roomId": r, "title": "Q", "questions": [{"text": "1?", "kind": "QUESTION_KIND_SINGLE_CHOICE", "options": ["a", "b"], "correctOptionIndexes": [0]}]}),
            &[("up", "dhoA", "ok"), ("p", "mt", "permission_denied/not_manager"), ("p", "x", "not_found/room_not_found"), ("r", "dhoA", "failed_precondition/room_archived"), ("upr", "b", "permission_denied/banned"), ("ur", "xmt", "permission_denied/not_manager"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "getQuiz",
            json!({"quizId": "$quiz"}),
            &[("upr", "dhoA", "ok"), ("p", "mt", "not_found/quiz_not_found"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("ur", "xmt", "not_found/quiz_not_found"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "listQuizzes",
            json!({"roomId": r}),
            &[("p", "mdhoAt", "ok"), ("ur", "xmdhoAt", "ok"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("upr", "a", "unauthenticated")],
        ),
        grpc_only(
            "QuizService/UpdateQuiz",
            json!({"quizId": "$quiz", "title": "Q2", "questions": [{"text": "1?", "kind": "QUESTION_KIND_SINGLE_CHOICE", "options": ["a", "b"], "correctOptionIndexes": [0]}]}),
            &[("up", "dhoA", "ok"), ("p", "mt", "permission_denied/not_manager"), ("p", "x", "not_found/room_not_found"), ("r", "dhoA", "failed_precondition/room_archived"), ("upr", "b", "permission_denied/banned"), ("ur", "xmt", "permission_denied/not_manager"), ("upr", "a", "unauthenticated")],
        ),
        grpc_only(
            "QuizService/DeleteQuiz",
            json!({"quizId": "$quiz"}),
            &[("up", "d", "ok"), ("p", "m", "permission_denied/not_manager"), ("p", "x", "not_found/room_not_found"), ("r", "b", "permission_denied/banned"), ("r", "dhoA", "failed_precondition/room_archived"), ("r", "xmt", "permission_denied/not_manager"), ("u", "xm", "permission_denied/not_manager"), ("up", "hoAbt", "not_found/quiz_not_found"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "revealNextQuestion",
            json!({"quizId": "$quiz"}),
            &[
                ("up", "xmdhoAbt", "not_found/quiz_not_found"),
                ("upr", "a", "unauthenticated"),
                ("r", "dhoA", "failed_precondition/room_archived"),
                ("r", "xmt", "permission_denied/not_manager"),
                ("r", "b", "permission_denied/banned"),
            ],
        ),
        ws(
            "submitQuizAnswer",
            json!({"quizId": "$quiz", "questionId": "q1", "optionIds": ["o1"]}),
            &[("upr", "xmdhoAbt", "invalid_argument"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "getLeaderboard",
            json!({"roomId": r}),
            &[("p", "mdhoAt", "ok"), ("ur", "xmdhoAt", "ok"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "endQuiz",
            json!({"quizId": "$quiz"}),
            &[
                ("up", "xmdhoAbt", "not_found/quiz_not_found"),
                ("upr", "a", "unauthenticated"),
                ("r", "dhoA", "failed_precondition/room_archived"),
                ("r", "xmt", "permission_denied/not_manager"),
                ("r", "b", "permission_denied/banned"),
            ],
        ),
        ws(
            "getPrediction",
            json!({"predictionId": "$prediction"}),
            &[("p", "mdhoAt", "ok"), ("ur", "xmdhoAt", "ok"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "listPredictions",
            json!({"roomId": r}),
            &[("p", "mdhoAt", "ok"), ("ur", "xmdhoAt", "ok"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "lockPrediction",
            json!({"predictionId": "$prediction"}),
            &[("up", "dhoA", "ok"), ("p", "mt", "permission_denied/not_manager"), ("p", "x", "not_found/room_not_found"), ("r", "dhoA", "failed_precondition/room_archived"), ("upr", "b", "permission_denied/banned"), ("ur", "xmt", "permission_denied/not_manager"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "resolvePrediction",
            json!({"predictionId": "$prediction", "winningOutcomeId": "$outcome"}),
            &[("up", "dhoA", "ok"), ("p", "mt", "permission_denied/not_manager"), ("p", "x", "not_found/room_not_found"), ("r", "dhoA", "failed_precondition/room_archived"), ("upr", "b", "permission_denied/banned"), ("ur", "xmt", "permission_denied/not_manager"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "cancelPrediction",
            json!({"predictionId": "$prediction"}),
            &[("p", "mt", "permission_denied/not_manager"), ("p", "x", "not_found/room_not_found"), ("r", "dhoA", "failed_precondition/room_archived"), ("up", "dhoA", "failed_precondition/already_resolved"), ("upr", "b", "permission_denied/banned"), ("ur", "xmt", "permission_denied/not_manager"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "placePrediction",
            json!({"predictionId": "$prediction", "outcomeId": "$outcome", "points": "10"}),
            &[("upr", "xmdhoAbt", "invalid_argument"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "getPointsBalance",
            json!({"roomId": r}),
            &[("p", "mdhoAt", "ok"), ("ur", "xmdhoAt", "ok"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "createPrediction",
            json!({"roomId": r, "title": "P", "outcomes": ["A", "B"], "predictionWindow": "600s"}),
            &[("up", "d", "ok"), ("p", "mt", "permission_denied/not_manager"), ("p", "x", "not_found/room_not_found"), ("r", "dhoA", "failed_precondition/room_archived"), ("up", "h", "ok|rate_limited/too_many_predictions"), ("up", "oA", "rate_limited/too_many_predictions"), ("upr", "b", "permission_denied/banned"), ("ur", "xmt", "permission_denied/not_manager"), ("upr", "a", "unauthenticated")],
        ),
        grpc_only(
            "PredictionsService/ListPointsTransactions",
            json!({"roomId": r}),
            &[("p", "mdhoAt", "ok"), ("ur", "xmdhoAt", "ok"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "askQuestion",
            json!({"roomId": r, "text": "Why?"}),
            &[("up", "mdho", "ok"), ("p", "A", "permission_denied/not_member"), ("p", "x", "not_found/room_not_found"), ("r", "xmdhoAt", "failed_precondition/room_archived"), ("u", "xA", "permission_denied/not_member"), ("up", "t", "permission_denied/timed_out"), ("upr", "b", "permission_denied/banned"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "listQuestions",
            json!({"roomId": r}),
            &[("p", "mdhoAt", "ok"), ("ur", "xmdhoAt", "ok"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "upvoteQuestion",
            json!({"questionId": "$question", "upvote": true}),
            // The member asked it; upvotes are not speech, so a timeout
            // does not stop them (polls.md "Q&A").
            &[
                ("up", "dhot", "ok"),
                ("up", "m", "failed_precondition/own_question"),
                ("up", "A", "permission_denied/not_member"),
                ("u", "x", "permission_denied/not_member"),
                ("p", "x", "not_found/room_not_found"),
                ("upr", "b", "permission_denied/banned"),
                ("r", "xmdhoAt", "failed_precondition/room_archived"),
                ("upr", "a", "unauthenticated"),
            ],
        ),
        ws(
            "moderateQuestion",
            json!({"questionId": "$question", "action": "MODERATION_ACTION_HIGHLIGHT"}),
            &[
                ("up", "dhoA", "ok"),
                ("upr", "mt", "permission_denied/not_manager"),
                ("ur", "x", "permission_denied/not_manager"),
                ("p", "x", "not_found/room_not_found"),
                ("upr", "b", "permission_denied/banned"),
                ("r", "dhoA", "failed_precondition/room_archived"),
                ("upr", "a", "unauthenticated"),
            ],
        ),
        // Each row deletes a question of its own, asked by the member.
        ws(
            "deleteQuestion",
            json!({"questionId": "$question"}),
            &[
                ("up", "mdhoA", "ok"),
                ("ur", "xt", "permission_denied/not_author"),
                ("p", "t", "permission_denied/not_author"),
                ("p", "x", "not_found/room_not_found"),
                ("upr", "b", "permission_denied/banned"),
                ("r", "mdhoA", "failed_precondition/room_archived"),
                ("upr", "a", "unauthenticated"),
            ],
        ),
        grpc_only(
            "QnaService/GetQnaSettings",
            json!({"roomId": r}),
            &[("p", "mdhoAt", "ok"), ("ur", "xmdhoAt", "ok"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "updateQnaSettings",
            json!({"roomId": r, "settings": {}}),
            &[("up", "dhoA", "ok"), ("p", "mt", "permission_denied/not_manager"), ("p", "x", "not_found/room_not_found"), ("r", "dhoA", "failed_precondition/room_archived"), ("upr", "b", "permission_denied/banned"), ("ur", "xmt", "permission_denied/not_manager"), ("upr", "a", "unauthenticated")],
        ),
        // Acts that change the caller's own standing come last.
        ws("exitRoom", json!({"roomId": r}), &[("upr", "xmdhoAbt", "ok"), ("upr", "a", "unauthenticated")])
            .stand_in("xmdhoAbt"),
        ws(
            "leaveRoom",
            json!({"roomId": r}),
            &[("upr", "mdht", "ok"), ("p", "A", "not_found/not_member"), ("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("upr", "o", "failed_precondition/owner_must_transfer"), ("ur", "xA", "not_found/not_member"), ("upr", "a", "unauthenticated")],
        )
        .stand_in("xmdhoAbt"),
        ws(
            "transferOwnership",
            json!({"roomId": r, "newOwnerId": "$victim"}),
            &[("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("upr", "mdht", "permission_denied/not_owner"), ("ur", "x", "permission_denied/not_member"), ("upr", "a", "unauthenticated")],
        ),
        ws(
            "deleteRoom",
            json!({"roomId": r}),
            &[("p", "x", "not_found/room_not_found"), ("upr", "b", "permission_denied/banned"), ("upr", "mdht", "permission_denied/not_owner"), ("ur", "x", "permission_denied/not_member"), ("upr", "a", "unauthenticated")],
        ),
        ws("deleteRoom", json!({"roomId": "$own_room"}), &[("up", "o", "ok"), ("r", "o", "not_found/room_not_found")]),
        // Handing the room over or deleting it changes the owner's standing
        // (or the room): each in a world of its own.
        ws(
            "transferOwnership",
            json!({"roomId": r, "newOwnerId": "$victim"}),
            &[("upr", "oA", "ok")],
        )
        .own_world("oA"),
        ws("deleteRoom", json!({"roomId": r}), &[("upr", "oA", "ok")]).own_world("oA"),
    ]
}

fn credential_acts() -> Vec<Act> {
    // Without a token every method but these is UNAUTHENTICATED; these
    // answer anonymous callers (sign-up and sign-in, the invite preview,
    // public profile reads) and refuse the empty request. The presence
    // heartbeat demands the gateway's service token.
    let open: &[&str] = &[
        "IdentityService/Register",
        "IdentityService/Login",
        "IdentityService/Refresh",
        "IdentityService/ExchangeProviderToken",
        "IdentityService/GetProfile",
        "IdentityService/GetProfiles",
        "IdentityService/ListFollowers",
        "IdentityService/ListFollowing",
        "RoomsService/GetInvitePreview",
    ];
    let mut acts: Vec<Act> = grpc::METHODS
        .iter()
        .map(|m| {
            let expect: &'static [(&str, &str, &str)] =
                if open.contains(m) { &[("u", "a", "invalid_argument")] } else { &[("u", "a", "unauthenticated")] };
            grpc_only(m, json!({}), expect)
        })
        .collect();
    // Service-only methods refuse user and operator-admin tokens.
    for (method, refusal) in [
        ("ChatAccessService/GetChatRestriction", &[("u", "xA", "permission_denied/not_service")] as &[_]),
        ("IdentityService/BatchGetProviderLinks", &[("u", "xA", "permission_denied")] as &[_]),
        ("IdentityService/BatchCheckBlocks", &[("u", "xA", "permission_denied")] as &[_]),
        ("PollsGatewayService/CastVotes", &[("u", "xA", "permission_denied/not_gateway")] as &[_]),
        ("CatalogService/BatchCheckEntitlement", &[("u", "xA", "permission_denied")] as &[_]),
        ("RoomAccessService/GetStandings", &[("u", "xA", "permission_denied/not_service")] as &[_]),
        ("RoomAccessService/GetAccess", &[("u", "xA", "invalid_argument")] as &[_]),
        ("RoomPresenceService/Heartbeat", &[("u", "xA", "permission_denied/not_gateway")] as &[_]),
        ("RoomPresenceService/EnterRoom", &[("u", "xA", "invalid_argument")] as &[_]),
        ("ProviderIngest/PushCatalog", &[("u", "xA", "unauthenticated")] as &[_]),
        ("ProviderIngest/PushGuide", &[("u", "xA", "unauthenticated")] as &[_]),
    ] {
        acts.push(grpc_only(method, json!({}), refusal));
    }
    acts.extend(account_acts());
    acts
}

/// Acts of a signed-in user outside any room (creating rooms, lists,
/// recommendations, sharing settings): any user may, anonymous callers may
/// not, and only operator admins create catalog rooms (rooms.md "Kinds").
fn account_acts() -> Vec<Act> {
    vec![
        ws(
            "createRoom",
            json!({"kind": "ROOM_KIND_WATCH_PARTY", "title": "Film night", "media": {"assetId": "film-1"}}),
            &[("u", "xA", "ok"), ("u", "a", "unauthenticated")],
        ),
        ws(
            "createRoom",
            json!({"kind": "ROOM_KIND_COMMUNITY", "visibility": "ROOM_VISIBILITY_PUBLIC", "title": "Fans"}),
            &[("u", "xA", "ok"), ("u", "a", "unauthenticated")],
        ),
        ws(
            "createRoom",
            json!({"kind": "ROOM_KIND_CHANNEL", "visibility": "ROOM_VISIBILITY_PUBLIC", "title": "News",
                   "media": {"channelId": "$unique"}}),
            &[("u", "x", "permission_denied/operator_only"), ("u", "A", "ok"), ("u", "a", "unauthenticated")],
        ),
        ws("listMyRooms", json!({}), &[("u", "xA", "ok"), ("u", "a", "unauthenticated")]),
        ws("listPublicRooms", json!({}), &[("u", "xA", "ok"), ("u", "a", "unauthenticated")]),
        ws("listTrending", json!({}), &[("u", "xA", "ok"), ("u", "a", "unauthenticated")]),
        ws("listFriendsWatching", json!({}), &[("u", "xA", "ok"), ("u", "a", "unauthenticated")]),
        ws("listBecauseYouWatched", json!({}), &[("u", "xA", "ok"), ("u", "a", "unauthenticated")]),
        ws("listStartingSoon", json!({}), &[("u", "xA", "ok"), ("u", "a", "unauthenticated")]),
        ws("listShares", json!({}), &[("u", "xA", "ok"), ("u", "a", "unauthenticated")]),
        ws("getSharingSettings", json!({}), &[("u", "xA", "ok"), ("u", "a", "unauthenticated")]),
        ws(
            "updateSharingSettings",
            json!({"settings": {"shareActivity": true, "audience": "SHARING_AUDIENCE_FOLLOWERS"}}),
            &[("u", "xA", "ok"), ("u", "a", "unauthenticated")],
        ),
        // Only one's own viewing sessions can be hidden: a room never
        // watched has none.
        ws(
            "hideSession",
            json!({"roomId": "$room"}),
            &[("u", "xA", "not_found/session_not_found"), ("u", "a", "unauthenticated")],
        ),
        ws(
            "dismissShare",
            json!({"shareId": "$stranger"}),
            &[("u", "xA", "not_found/share_not_found"), ("u", "a", "unauthenticated")],
        ),
    ]
}
