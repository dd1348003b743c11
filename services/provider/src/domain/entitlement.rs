//! Entitlement answers for Hearth users: Hearth asks the provider about
//! the provider accounts linked to its users (each account once) and maps
//! the answers back, in request order. Users without a linked account are
//! refused: the provider cannot vouch for them.

use std::{collections::HashMap, time::Duration};

use hearth_proto::hearth::provider::v1::{DenialReason, EntitlementDecision, UserEntitlement};

/// Longest cache life the contract lets a provider ask for.
pub const CACHE_TTL_MAX: Duration = Duration::from_secs(3600);

/// The message a user without a linked provider account sees.
pub const NOT_LINKED: &str = "sign in with your TV subscription to watch this";

/// How long answers may be cached: what the provider allows, within the
/// contract's hour and the operator's own limit.
pub fn cache_ttl(provider: Option<Duration>, operator_max: Duration) -> Duration {
    provider.unwrap_or_default().min(CACHE_TTL_MAX).min(operator_max)
}

/// The distinct provider accounts to ask about, in first-seen order.
pub fn accounts_to_ask<'a>(users: &[String], links: &'a HashMap<String, String>) -> Vec<&'a str> {
    let mut seen = std::collections::HashSet::new();
    users.iter().filter_map(|u| links.get(u)).map(String::as_str).filter(|p| seen.insert(*p)).collect()
}

/// One answer per user, in request order.
pub fn answers(
    users: &[String],
    links: &HashMap<String, String>,
    decisions: &HashMap<String, EntitlementDecision>,
) -> Vec<UserEntitlement> {
    users
        .iter()
        .map(|user| {
            let decision = links.get(user).and_then(|account| decisions.get(account));
            match decision {
                Some(d) => UserEntitlement {
                    user_id: user.clone(),
                    allowed: d.allowed,
                    reason: if d.allowed { DenialReason::Unspecified as i32 } else { d.reason },
                    message: d.message.chars().take(200).collect(),
                },
                None if links.contains_key(user) => UserEntitlement {
                    user_id: user.clone(),
                    allowed: false,
                    reason: DenialReason::UnknownUser as i32,
                    message: "your TV subscription could not be checked".into(),
                },
                None => UserEntitlement {
                    user_id: user.clone(),
                    allowed: false,
                    reason: DenialReason::UnknownUser as i32,
                    message: NOT_LINKED.into(),
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(account: &str, allowed: bool) -> EntitlementDecision {
        EntitlementDecision {
            provider_user_id: account.into(),
            allowed,
            reason: if allowed { 0 } else { DenialReason::NotSubscribed as i32 },
            message: if allowed { String::new() } else { "not in your package".into() },
        }
    }

    #[test]
    fn answers_follow_the_request_and_unlinked_users_are_refused() {
        let users: Vec<String> = ["a", "b", "c", "a"].map(String::from).into();
        let links: HashMap<_, _> = [("a", "p1"), ("b", "p2")].map(|(u, p)| (u.to_owned(), p.to_owned())).into();
        assert_eq!(accounts_to_ask(&users, &links), vec!["p1", "p2"]);
        let decisions: HashMap<_, _> = [decision("p1", true), decision("p2", false)]
            .into_iter()
            .map(|d| (d.provider_user_id.clone(), d))
            .collect();
        let got = answers(&users, &links, &decisions);
        assert_eq!(
            got.iter().map(|a| (a.user_id.as_str(), a.allowed)).collect::<Vec<_>>(),
            [("a", true), ("b", false), ("c", false), ("a", true)]
        );
        assert_eq!(got[1].reason, DenialReason::NotSubscribed as i32);
        assert_eq!(got[2].reason, DenialReason::UnknownUser as i32);
        assert_eq!(got[2].message, NOT_LINKED);
    }

    #[test]
    fn cache_life_is_bounded_by_contract_and_operator() {
        let max = Duration::from_secs(300);
        assert_eq!(cache_ttl(None, max), Duration::ZERO);
        assert_eq!(cache_ttl(Some(Duration::from_secs(60)), max), Duration::from_secs(60));
        assert_eq!(cache_ttl(Some(Duration::from_secs(7200)), Duration::from_secs(9000)), CACHE_TTL_MAX);
        assert_eq!(cache_ttl(Some(Duration::from_secs(600)), max), max);
    }
}
