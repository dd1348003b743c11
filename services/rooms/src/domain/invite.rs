//! Invite codes and whether an invite still admits someone.

use base64::Engine;
use time::OffsetDateTime;
use uuid::Uuid;

/// Length of a code: 128 random bits in unpadded base64url.
pub const CODE_LEN: usize = 22;

/// A new unguessable invite code (128 bits from the OS-seeded CSPRNG).
pub fn new_code() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>())
}

/// Whether `raw` has the shape of a code (checked before any lookup).
pub fn is_code(raw: &str) -> bool {
    raw.len() == CODE_LEN && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// An invite's standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Valid,
    Expired,
    Revoked,
    Exhausted,
}

impl Standing {
    /// The stable reason a join with this invite is refused.
    pub fn reason(self) -> &'static str {
        match self {
            Standing::Valid => "",
            Standing::Expired => "invite_expired",
            Standing::Revoked => "invite_revoked",
            Standing::Exhausted => "invite_exhausted",
        }
    }
}

/// What decides an invite's standing.
#[derive(Debug, Clone, Copy)]
pub struct InviteFacts {
    pub expires_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
    pub max_uses: i32,
    pub use_count: i32,
    pub invitee: Option<Uuid>,
}

/// The invite's standing at `now`; revocation wins over expiry.
pub fn standing(invite: &InviteFacts, now: OffsetDateTime) -> Standing {
    if invite.revoked_at.is_some() {
        Standing::Revoked
    } else if invite.expires_at.is_some_and(|at| at <= now) {
        Standing::Expired
    } else if invite.max_uses > 0 && invite.use_count >= invite.max_uses {
        Standing::Exhausted
    } else {
        Standing::Valid
    }
}

/// Whether `user` may use it: personal invites admit only their invitee.
pub fn admits(invite: &InviteFacts, user: Uuid) -> bool {
    invite.invitee.is_none_or(|invitee| invitee == user)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    fn facts() -> InviteFacts {
        InviteFacts { expires_at: None, revoked_at: None, max_uses: 0, use_count: 0, invitee: None }
    }

    #[test]
    fn codes_carry_128_bits_and_are_recognised() {
        let a = new_code();
        assert_eq!(a.len(), CODE_LEN);
        assert!(is_code(&a));
        assert_ne!(a, new_code());
        assert!(!is_code("short"));
        assert!(!is_code(&"a/".repeat(11)));
    }

    #[test]
    fn standing_orders_revoked_expired_exhausted() {
        let now = OffsetDateTime::now_utc();
        assert_eq!(standing(&facts(), now), Standing::Valid);
        let expired = InviteFacts { expires_at: Some(now - Duration::seconds(1)), ..facts() };
        assert_eq!(standing(&expired, now), Standing::Expired);
        let revoked = InviteFacts { revoked_at: Some(now), ..expired };
        assert_eq!(standing(&revoked, now), Standing::Revoked);
        let used = InviteFacts { max_uses: 2, use_count: 2, ..facts() };
        assert_eq!(standing(&used, now), Standing::Exhausted);
        let unlimited = InviteFacts { max_uses: 0, use_count: 99, ..facts() };
        assert_eq!(standing(&unlimited, now), Standing::Valid);
    }

    #[test]
    fn personal_invites_admit_their_invitee_only() {
        let invitee = Uuid::now_v7();
        let personal = InviteFacts { invitee: Some(invitee), ..facts() };
        assert!(admits(&personal, invitee));
        assert!(!admits(&personal, Uuid::now_v7()));
        assert!(admits(&facts(), Uuid::now_v7()));
    }
}
