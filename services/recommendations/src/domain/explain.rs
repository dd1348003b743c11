//! Every list explains itself briefly, in words a viewer reads at a
//! glance ("3 friends are watching", "Because you watched X").

/// Texts are at most this long (recommendations.proto).
const MAX: usize = 120;

fn fit(text: String) -> String {
    if text.chars().count() <= MAX {
        return text;
    }
    let mut cut: String = text.chars().take(MAX - 1).collect();
    cut.push('…');
    cut
}

/// Trending: global or per region.
pub fn trending(region: &str) -> String {
    if region.is_empty() { "Trending now".to_owned() } else { format!("Popular in {region} now") }
}

/// Friends watching: the first friend's name and how many in all.
pub fn friends_watching(first: &str, count: usize) -> String {
    fit(match count {
        0 | 1 => format!("{first} is watching"),
        2 => format!("{first} and 1 friend are watching"),
        n => format!("{n} friends are watching"),
    })
}

/// Because you watched `seed`.
pub fn because_you_watched(seed: &str) -> String {
    fit(format!("Because you watched {seed}"))
}

/// Starting soon, in `minutes`, on a channel the viewer (or their
/// friends) like.
pub fn starting_soon(minutes: i64, friends: bool) -> String {
    let when = match minutes {
        m if m <= 0 => "Starting now".to_owned(),
        m if m < 60 => format!("Starts in {m} min"),
        m => format!("Starts in {} h {} min", m / 60, m % 60),
    };
    let whose = if friends { "your friends watch" } else { "you watch" };
    fit(format!("{when} on a channel {whose}"))
}

/// Shared by someone.
pub fn shared(sharer: &str) -> String {
    fit(format!("{sharer} shared this"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_read_naturally_and_fit() {
        assert_eq!(friends_watching("Ann", 1), "Ann is watching");
        assert_eq!(friends_watching("Ann", 2), "Ann and 1 friend are watching");
        assert_eq!(friends_watching("Ann", 3), "3 friends are watching");
        assert_eq!(starting_soon(20, false), "Starts in 20 min on a channel you watch");
        assert_eq!(starting_soon(135, true), "Starts in 2 h 15 min on a channel your friends watch");
        assert_eq!(trending("DE"), "Popular in DE now");
        let long = because_you_watched(&"x".repeat(300));
        assert_eq!(long.chars().count(), 120);
        assert!(long.ends_with('…'));
    }
}
