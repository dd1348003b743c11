//! Regions and languages, as trending scopes use them.

/// An ISO 3166-1 alpha-2 region, upper-cased; None when `raw` is not one.
pub fn region(raw: &str) -> Option<String> {
    let raw = raw.trim();
    (raw.len() == 2 && raw.chars().all(|c| c.is_ascii_alphabetic())).then(|| raw.to_ascii_uppercase())
}

/// The primary language subtag of a BCP 47 tag (`pt-BR` → `pt`),
/// lower-cased; None when `raw` does not start with one.
pub fn language(raw: &str) -> Option<String> {
    let primary = raw.trim().split(['-', '_']).next().unwrap_or_default();
    ((2..=3).contains(&primary.len()) && primary.chars().all(|c| c.is_ascii_alphabetic()))
        .then(|| primary.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_and_languages_are_normalised() {
        assert_eq!(region("de"), Some("DE".into()));
        assert_eq!(region("DEU"), None);
        assert_eq!(language("pt-BR"), Some("pt".into()));
        assert_eq!(language("en_NZ"), Some("en".into()));
        assert_eq!(language("english"), None);
        assert_eq!(language(""), None);
    }
}
