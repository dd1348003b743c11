//! `GET /i/{code}`: the invite link page. Chat apps and social sites unfurl
//! invite links by fetching them, so the link itself must answer with an
//! HTML page carrying OpenGraph and Twitter card tags; Hearth's own clients
//! ask for the same resource as JSON (`Accept: application/json`). The page
//! is public (no token): it shows only what the rooms service's
//! `GetInvitePreview` chooses to reveal.

use axum::{
    Json,
    extract::{Path, State, rejection::PathRejection},
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use hearth_proto::hearth::rooms::v1::{GetInvitePreviewRequest, InvitePreview, InviteStatus, PreviewType};

use crate::{GatewayState, error::ApiError};

/// Invite codes are 16 random bytes in unpadded base64url.
const CODE_LEN: usize = 22;

/// Longest language tag passed on; BCP 47 tags in practice stay well below
/// this, and the bound keeps arbitrary header text out of the service call.
const MAX_LANGUAGE_LEN: usize = 35;

/// The page has no scripts, fonts, frames or forms: only inline styles and
/// https images. `frame-ancestors`, `base-uri` and `form-action` do not fall
/// back to `default-src`, hence their own entries.
const CSP: &str = concat!(
    "default-src 'none'; img-src https:; style-src 'unsafe-inline'; ",
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
);

/// Shared caches may keep a valid preview briefly (link unfurlers fetch the
/// same link many times at once); anything else may change at any moment.
const CACHE_VALID: &str = "public, max-age=60";
const CACHE_NONE: &str = "no-store";

/// Styles of every page, inline because the CSP allows nothing else.
const STYLE: &str = "body{margin:0;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;\
background:#17120f;color:#f4ede6;display:flex;min-height:100vh;align-items:center;justify-content:center}\
main{max-width:32rem;margin:1.5rem;padding:1.5rem;background:#241c17;border-radius:1rem;text-align:center}\
img{max-width:100%;border-radius:.75rem}h1{font-size:1.5rem;margin:.75rem 0}p{line-height:1.5}\
.meta{color:#c9b8a8;font-size:.9rem}.actions{margin-top:1.5rem}\
a{color:#ffb27a}a.join{display:inline-block;padding:.75rem 1.5rem;margin:.25rem;border-radius:.5rem;\
background:#ff7a2f;color:#17120f;font-weight:600;text-decoration:none}";

/// Which representation the client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Html,
    Json,
}

/// The invite preview as HTML or JSON, per the `Accept` header.
pub async fn preview(
    State(state): State<GatewayState>,
    code: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    let format = negotiate(header_str(&headers, &header::ACCEPT));
    // A code that cannot exist is answered here: no service call for junk.
    let Some(code) = code.ok().map(|Path(code)| code).filter(|code| valid_code(code)) else {
        return error_response(format, ApiError::new(404, "not_found", "invite not found"));
    };
    let request = GetInvitePreviewRequest {
        code: code.clone(),
        language: language(header_str(&headers, &header::ACCEPT_LANGUAGE)),
    };
    let reply = match state.clients.rooms.clone().get_invite_preview(request).await {
        Ok(reply) => reply.into_inner(),
        Err(status) => return error_response(format, ApiError::from(status)),
    };
    let Some(invite_status) = reply.preview.as_ref().map(InvitePreview::status) else {
        tracing::warn!("rooms answered GetInvitePreview without a preview");
        return error_response(format, ApiError::new(500, "internal", "internal error"));
    };
    let Some(status) = page_status(invite_status) else {
        tracing::warn!(?invite_status, "rooms answered GetInvitePreview with an unspecified status");
        return error_response(format, ApiError::new(500, "internal", "internal error"));
    };
    // Same status for both representations: it describes the invite, not
    // the format. JSON clients still get the body and its `status`.
    let response = match format {
        Format::Json => (status, Json(reply)).into_response(),
        Format::Html => {
            let page = reply
                .preview
                .as_ref()
                .map(|preview| render_page(preview, &code, !state.config.gateway.web_root.is_empty()))
                .unwrap_or_default();
            html_response(status, page)
        }
    };
    finish(response, status == StatusCode::OK)
}

/// The HTTP status of a preview, or `None` when the service did not say
/// whether the invite is valid (a service bug, answered as 500).
fn page_status(status: InviteStatus) -> Option<StatusCode> {
    match status {
        InviteStatus::Valid => Some(StatusCode::OK),
        InviteStatus::Expired | InviteStatus::Revoked | InviteStatus::Exhausted => Some(StatusCode::GONE),
        InviteStatus::Unspecified => None,
    }
}

/// An error as JSON (the API's usual body) or as a human page.
fn error_response(format: Format, error: ApiError) -> Response {
    match format {
        Format::Json => finish(error.into_response(), false),
        Format::Html => {
            let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = html_response(status, render_error_page(status));
            if let Some(ms) = error.retry_after_ms
                && let Ok(value) = HeaderValue::from_str(&ms.div_ceil(1000).to_string())
            {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            finish(response, false)
        }
    }
}

fn html_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    response
}

/// Headers of every answer of this route. `Vary` because the body depends on
/// both negotiation headers while shared caches may keep it; no referrer so
/// the invite code does not leak to image hosts or linked sites.
fn finish(mut response: Response, cacheable: bool) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(if cacheable { CACHE_VALID } else { CACHE_NONE }));
    headers.insert(header::VARY, HeaderValue::from_static("accept, accept-language"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(HeaderName::from_static("x-robots-tag"), HeaderValue::from_static("noindex"));
    response
}

fn header_str<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// Whether `code` has the shape of an invite code: 22 base64url characters.
fn valid_code(code: &str) -> bool {
    code.len() == CODE_LEN && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The first tag of `Accept-Language`, or empty when it is absent, `*` or not
/// tag-shaped: the service falls back to its default language then.
fn language(accept_language: Option<&str>) -> String {
    let first = accept_language
        .and_then(|value| value.split(',').next())
        .and_then(|range| range.split(';').next())
        .map(str::trim)
        .unwrap_or_default();
    let valid = !first.is_empty()
        && first.len() <= MAX_LANGUAGE_LEN
        && first.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if valid { first.to_owned() } else { String::new() }
}

/// JSON only when the client ranks `application/json` strictly above
/// `text/html`: browsers and link unfurlers send `*/*` or nothing, and must
/// get the page.
fn negotiate(accept: Option<&str>) -> Format {
    let Some(accept) = accept else { return Format::Html };
    if quality(accept, "application", "json") > quality(accept, "text", "html") { Format::Json } else { Format::Html }
}

/// The q-value `accept` gives `kind/subtype`: that of the most specific
/// matching media range (exact, then `kind/*`, then `*/*`), 0 when none
/// matches. Ranges with a malformed q-value are ignored.
fn quality(accept: &str, kind: &str, subtype: &str) -> f32 {
    let mut best: Option<(u8, f32)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let Some((range_kind, range_subtype)) = parts.next().and_then(|media| media.trim().split_once('/')) else {
            continue;
        };
        let (range_kind, range_subtype) = (range_kind.trim(), range_subtype.trim());
        let specificity = if range_kind.eq_ignore_ascii_case(kind) && range_subtype.eq_ignore_ascii_case(subtype) {
            2
        } else if range_kind.eq_ignore_ascii_case(kind) && range_subtype == "*" {
            1
        } else if range_kind == "*" && range_subtype == "*" {
            0
        } else {
            continue;
        };
        let q_param =
            parts.filter_map(|param| param.split_once('=')).find(|(key, _)| key.trim().eq_ignore_ascii_case("q"));
        let q = match q_param {
            None => 1.0,
            Some((_, value)) => match value.trim().parse::<f32>() {
                Ok(q) if (0.0..=1.0).contains(&q) => q,
                _ => continue,
            },
        };
        if best.is_none_or(|(best_specificity, _)| specificity > best_specificity) {
            best = Some((specificity, q));
        }
    }
    best.map_or(0.0, |(_, q)| q)
}

/// The `og:type` of a preview; rooms without a more precise type are
/// `video.other`.
fn og_type(preview_type: PreviewType) -> &'static str {
    match preview_type {
        PreviewType::VideoMovie => "video.movie",
        PreviewType::VideoEpisode => "video.episode",
        PreviewType::VideoTvShow => "video.tv_show",
        PreviewType::VideoOther | PreviewType::Unspecified => "video.other",
    }
}

/// Appends `text` escaped for HTML element content and quoted attribute
/// values alike, so one function serves every interpolation in the page.
fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
}

fn non_empty(text: &str) -> Option<&str> {
    let text = text.trim();
    (!text.is_empty()).then_some(text)
}

/// `url` when it is an absolute http(s) URL. Escaping keeps values inside
/// their attribute, but only a scheme check keeps `javascript:` out of an
/// `href`.
fn web_url(url: &str) -> Option<&str> {
    let url = url.trim();
    let scheme_ok = ["https://", "http://"]
        .iter()
        .any(|scheme| url.get(..scheme.len()).is_some_and(|prefix| prefix.eq_ignore_ascii_case(scheme)));
    (scheme_ok && !url.chars().any(|c| c.is_whitespace() || c.is_control())).then_some(url)
}

/// `url` when it is an https URL, the only images the CSP lets the page load.
fn https_url(url: &str) -> Option<&str> {
    web_url(url).filter(|url| url.get(..8).is_some_and(|prefix| prefix.eq_ignore_ascii_case("https://")))
}

fn count(n: u64, one: &str, many: &str) -> String {
    if n == 1 { format!("1 {one}") } else { format!("{n} {many}") }
}

/// What the page skeleton needs; every text field is raw and escaped by
/// `render`, `body` is HTML already escaped by its builder.
struct Page<'a> {
    title: String,
    description: String,
    og_type: &'static str,
    url: Option<&'a str>,
    image: Option<&'a str>,
    body: String,
}

/// The whole document: head with the unfurling tags, then `body`.
fn render(page: &Page<'_>) -> String {
    let mut out = String::with_capacity(4096);
    out.push_str("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<meta name=\"robots\" content=\"noindex\">\n<title>");
    push_escaped(&mut out, &page.title);
    out.push_str(" · Hearth</title>\n");
    if let Some(url) = page.url {
        out.push_str("<link rel=\"canonical\" href=\"");
        push_escaped(&mut out, url);
        out.push_str("\">\n");
    }
    meta(&mut out, "property", "og:site_name", "Hearth");
    meta(&mut out, "property", "og:type", page.og_type);
    meta(&mut out, "property", "og:title", &page.title);
    meta(&mut out, "property", "og:description", &page.description);
    if let Some(url) = page.url {
        meta(&mut out, "property", "og:url", url);
    }
    if let Some(image) = page.image {
        meta(&mut out, "property", "og:image", image);
    }
    meta(&mut out, "name", "twitter:card", if page.image.is_some() { "summary_large_image" } else { "summary" });
    meta(&mut out, "name", "twitter:title", &page.title);
    meta(&mut out, "name", "twitter:description", &page.description);
    if let Some(image) = page.image {
        meta(&mut out, "name", "twitter:image", image);
    }
    out.push_str("<style>");
    out.push_str(STYLE);
    out.push_str("</style>\n</head>\n<body>\n<main>\n");
    out.push_str(&page.body);
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

fn meta(out: &mut String, attribute: &str, key: &str, content: &str) {
    out.push_str("<meta ");
    out.push_str(attribute);
    out.push_str("=\"");
    push_escaped(out, key);
    out.push_str("\" content=\"");
    push_escaped(out, content);
    out.push_str("\">\n");
}

/// `<tag class="class">text</tag>` with `text` escaped.
fn element(out: &mut String, tag: &str, class: Option<&str>, text: &str) {
    out.push('<');
    out.push_str(tag);
    if let Some(class) = class {
        out.push_str(" class=\"");
        push_escaped(out, class);
        out.push('"');
    }
    out.push('>');
    push_escaped(out, text);
    out.push_str("</");
    out.push_str(tag);
    out.push_str(">\n");
}

/// `<a class="class" href="href">text</a>` with everything escaped.
fn link(out: &mut String, class: Option<&str>, href: &str, text: &str) {
    out.push_str("<a");
    if let Some(class) = class {
        out.push_str(" class=\"");
        push_escaped(out, class);
        out.push('"');
    }
    out.push_str(" href=\"");
    push_escaped(out, href);
    out.push_str("\">");
    push_escaped(out, text);
    out.push_str("</a>\n");
}

/// The HTML page of a preview as the rooms service returned it: the room
/// card for a valid invite, a short explanation otherwise. Pure, so every
/// escaping and tag rule is unit-tested without a server.
pub fn render_page(preview: &InvitePreview, code: &str, web_app: bool) -> String {
    match preview.status() {
        InviteStatus::Valid => render_valid(preview, code, web_app),
        status @ (InviteStatus::Expired | InviteStatus::Revoked | InviteStatus::Exhausted) => {
            render_gone(status, web_url(&preview.url))
        }
        InviteStatus::Unspecified => render_error_page(StatusCode::INTERNAL_SERVER_ERROR),
    }
}

/// `web_app`: this gateway serves the reference web app, whose
/// `/join/<code>` route redeems the invite in the browser.
fn render_valid(preview: &InvitePreview, code: &str, web_app: bool) -> String {
    let title = non_empty(&preview.title).unwrap_or("A room on Hearth").to_owned();
    let inviter =
        preview.inviter.as_ref().and_then(|user| non_empty(&user.display_name).or_else(|| non_empty(&user.username)));
    let description = match (non_empty(&preview.description), inviter) {
        (Some(description), _) => description.to_owned(),
        (None, Some(inviter)) => format!("{inviter} invited you to watch together on Hearth."),
        (None, None) => "You are invited to watch together on Hearth.".to_owned(),
    };
    let url = web_url(&preview.url);
    let image = web_url(&preview.image_url);

    let mut body = String::with_capacity(1024);
    if let Some(image) = image.and_then(https_url) {
        body.push_str("<img src=\"");
        push_escaped(&mut body, image);
        body.push_str("\" alt=\"\">\n");
    }
    element(&mut body, "h1", None, &title);
    if let Some(media) = preview.media_summary.as_ref()
        && let Some(media_title) = non_empty(&media.title)
        && media_title != title
    {
        let line = match non_empty(&media.subtitle) {
            Some(subtitle) => format!("{media_title} · {subtitle}"),
            None => media_title.to_owned(),
        };
        element(&mut body, "p", Some("meta"), &line);
    }
    element(&mut body, "p", None, &description);
    if let Some(inviter) = inviter {
        element(&mut body, "p", Some("meta"), &format!("Invited by {inviter}"));
    }
    let counts = format!(
        "{} · {}",
        count(preview.member_count, "member", "members"),
        count(preview.online_count, "online", "online")
    );
    element(&mut body, "p", Some("meta"), &counts);
    body.push_str("<p class=\"actions\">\n");
    if web_app {
        link(&mut body, Some("join"), &format!("/join/{code}"), "Join in your browser");
    }
    link(&mut body, Some("join"), &format!("hearth://join/{code}"), "Join in the Hearth app");
    if let Some(url) = url {
        link(&mut body, None, url, "Open in browser");
    }
    body.push_str("</p>\n");

    render(&Page { title, description, og_type: og_type(preview.preview_type()), url, image, body })
}

/// The page of an invite that existed but can no longer be used: generic
/// tags only, since the service reveals no room details for it.
fn render_gone(status: InviteStatus, url: Option<&str>) -> String {
    let (title, message) = match status {
        InviteStatus::Expired => ("This invite has expired", "Ask the person who invited you for a new link."),
        InviteStatus::Revoked => ("This invite was revoked", "Ask the person who invited you for a new link."),
        _ => ("This invite is used up", "It has been used as often as allowed. Ask for a new link."),
    };
    render_notice(title, message, url)
}

/// A page for an error `status`, worded for people, not for developers.
fn render_error_page(status: StatusCode) -> String {
    let (title, message) = match status {
        StatusCode::NOT_FOUND => {
            ("Invite not found", "This invite link does not exist. Check the link or ask for a new one.")
        }
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT => {
            ("Hearth is unavailable", "We could not load this invite right now. Please try again in a moment.")
        }
        StatusCode::TOO_MANY_REQUESTS => ("Too many requests", "Please wait a moment and try again."),
        _ => ("Something went wrong", "We could not load this invite. Please try again later."),
    };
    render_notice(title, message, None)
}

/// A page with just a headline and a line of text (no room details).
fn render_notice(title: &str, message: &str, url: Option<&str>) -> String {
    let mut body = String::new();
    element(&mut body, "h1", None, title);
    element(&mut body, "p", None, message);
    render(&Page {
        title: title.to_owned(),
        description: message.to_owned(),
        og_type: "website",
        url,
        image: None,
        body,
    })
}

#[cfg(test)]
mod tests {
    use hearth_proto::hearth::{common::v1::UserRef, rooms::v1::MediaSummary};

    use super::*;

    const CODE: &str = "AbCdEfGhIjKlMnOpQrSt_-";

    fn escape(text: &str) -> String {
        let mut out = String::new();
        push_escaped(&mut out, text);
        out
    }

    fn valid(title: &str, image_url: &str) -> InvitePreview {
        InvitePreview {
            status: InviteStatus::Valid as i32,
            room_id: "0b6c4b4e-5a8e-4a43-9d0c-2f1f4b1a9e11".into(),
            title: title.into(),
            description: "Movie night".into(),
            image_url: image_url.into(),
            url: format!("https://hearth.example/i/{CODE}"),
            preview_type: PreviewType::VideoMovie as i32,
            media_summary: Some(MediaSummary { title: "Heat".into(), subtitle: String::new(), ..Default::default() }),
            inviter: Some(UserRef { display_name: "Ana".into(), username: "ana".into(), ..Default::default() }),
            member_count: 3,
            online_count: 1,
            ..Default::default()
        }
    }

    #[test]
    fn escape_covers_the_five_characters() {
        assert_eq!(
            escape(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#x27;Jerry&#x27;&lt;/a&gt;"
        );
        assert_eq!(escape("plain · text"), "plain · text");
    }

    #[test]
    fn hostile_title_is_escaped_in_attributes_and_text() {
        let html = render_page(&valid(r#"<script>alert("x")</script>'"#, ""), CODE, false);
        let escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#x27;";
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains(&format!("<meta property=\"og:title\" content=\"{escaped}\">")), "{html}");
        assert!(html.contains(&format!("<meta name=\"twitter:title\" content=\"{escaped}\">")), "{html}");
        assert!(html.contains(&format!("<h1>{escaped}</h1>")), "{html}");
        assert!(html.contains(&format!("<title>{escaped} · Hearth</title>")), "{html}");
    }

    #[test]
    fn hostile_urls_and_inviter_are_neutralised() {
        let mut preview = valid("Room", "https://img.example/a.jpg?x=\"><b>");
        preview.url = "javascript:alert(1)".into();
        preview.inviter = Some(UserRef { display_name: "<b>Eve</b>".into(), ..Default::default() });
        let html = render_page(&preview, CODE, false);
        assert!(!html.contains("javascript:"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
        assert!(html.contains("Invited by &lt;b&gt;Eve&lt;/b&gt;"), "{html}");
        assert!(html.contains("content=\"https://img.example/a.jpg?x=&quot;&gt;&lt;b&gt;\""), "{html}");
        assert!(!html.contains("Open in browser"), "{html}");
    }

    #[test]
    fn valid_preview_with_image_has_all_tags() {
        let html = render_page(&valid("Friday films", "https://img.example/heat.jpg"), CODE, false);
        let url = format!("https://hearth.example/i/{CODE}");
        for expected in [
            "<meta property=\"og:title\" content=\"Friday films\">".to_owned(),
            "<meta property=\"og:type\" content=\"video.movie\">".to_owned(),
            "<meta property=\"og:image\" content=\"https://img.example/heat.jpg\">".to_owned(),
            format!("<meta property=\"og:url\" content=\"{url}\">"),
            "<meta property=\"og:description\" content=\"Movie night\">".to_owned(),
            "<meta property=\"og:site_name\" content=\"Hearth\">".to_owned(),
            "<meta name=\"twitter:card\" content=\"summary_large_image\">".to_owned(),
            "<meta name=\"twitter:title\" content=\"Friday films\">".to_owned(),
            "<meta name=\"twitter:description\" content=\"Movie night\">".to_owned(),
            "<meta name=\"twitter:image\" content=\"https://img.example/heat.jpg\">".to_owned(),
            "<title>Friday films · Hearth</title>".to_owned(),
            format!("<link rel=\"canonical\" href=\"{url}\">"),
            "<meta name=\"robots\" content=\"noindex\">".to_owned(),
            "<img src=\"https://img.example/heat.jpg\" alt=\"\">".to_owned(),
            format!("href=\"hearth://join/{CODE}\""),
            format!("<a href=\"{url}\">Open in browser</a>"),
            "Invited by Ana".to_owned(),
            "3 members · 1 online".to_owned(),
            "<p class=\"meta\">Heat</p>".to_owned(),
        ] {
            assert!(html.contains(&expected), "missing {expected} in {html}");
        }
    }

    #[test]
    fn a_gateway_serving_the_web_app_links_its_join_route() {
        let with_app = render_page(&valid("Friday films", ""), CODE, true);
        assert!(with_app.contains(&format!("href=\"/join/{CODE}\"")), "{with_app}");
        assert!(with_app.contains(&format!("href=\"hearth://join/{CODE}\"")), "{with_app}");
        let without = render_page(&valid("Friday films", ""), CODE, false);
        assert!(!without.contains("href=\"/join/"), "{without}");
    }

    #[test]
    fn preview_without_image_is_a_summary_card() {
        let html = render_page(&valid("Friday films", ""), CODE, false);
        assert!(html.contains("<meta name=\"twitter:card\" content=\"summary\">"), "{html}");
        assert!(!html.contains("og:image"), "{html}");
        assert!(!html.contains("twitter:image"), "{html}");
        assert!(!html.contains("<img"), "{html}");
    }

    #[test]
    fn og_type_follows_preview_type() {
        assert_eq!(og_type(PreviewType::VideoMovie), "video.movie");
        assert_eq!(og_type(PreviewType::VideoEpisode), "video.episode");
        assert_eq!(og_type(PreviewType::VideoTvShow), "video.tv_show");
        assert_eq!(og_type(PreviewType::VideoOther), "video.other");
        assert_eq!(og_type(PreviewType::Unspecified), "video.other");
        let mut preview = valid("Show", "");
        preview.preview_type = PreviewType::VideoEpisode as i32;
        assert!(render_page(&preview, CODE, false).contains("<meta property=\"og:type\" content=\"video.episode\">"));
    }

    #[test]
    fn invalid_invites_are_gone_without_room_details() {
        for status in [InviteStatus::Expired, InviteStatus::Revoked, InviteStatus::Exhausted] {
            assert_eq!(page_status(status), Some(StatusCode::GONE));
            let preview = InvitePreview {
                status: status as i32,
                url: format!("https://hearth.example/i/{CODE}"),
                ..Default::default()
            };
            let html = render_page(&preview, CODE, false);
            assert!(html.contains("<meta name=\"robots\" content=\"noindex\">"), "{html}");
            assert!(html.contains("<meta name=\"twitter:card\" content=\"summary\">"), "{html}");
            assert!(html.contains("og:site_name"), "{html}");
            assert!(!html.contains("hearth://join"), "{html}");
        }
        assert_eq!(page_status(InviteStatus::Valid), Some(StatusCode::OK));
        assert_eq!(page_status(InviteStatus::Unspecified), None);
    }

    #[test]
    fn accept_negotiation() {
        assert_eq!(negotiate(Some("application/json")), Format::Json);
        assert_eq!(negotiate(Some("text/html,application/json;q=0.9")), Format::Html);
        assert_eq!(negotiate(Some("application/json, text/html;q=0.5")), Format::Json);
        assert_eq!(negotiate(Some("text/html;q=0.1, application/json")), Format::Json);
        assert_eq!(negotiate(Some("*/*")), Format::Html);
        assert_eq!(negotiate(Some("application/json, */*")), Format::Html);
        assert_eq!(negotiate(Some("application/json, */*;q=0.8")), Format::Json);
        assert_eq!(negotiate(Some("text/*;q=0.3, application/*")), Format::Json);
        assert_eq!(negotiate(Some("application/json;q=0")), Format::Html);
        assert_eq!(negotiate(Some("application/json;q=oops")), Format::Html);
        assert_eq!(negotiate(Some("")), Format::Html);
        assert_eq!(negotiate(None), Format::Html);
        // What browsers send.
        let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8";
        assert_eq!(negotiate(Some(browser)), Format::Html);
    }

    #[test]
    fn code_validation() {
        assert!(valid_code(CODE));
        assert!(valid_code("0123456789abcdefghijkl"));
        assert!(!valid_code(""));
        assert!(!valid_code("AbCdEfGhIjKlMnOpQrSt_"));
        assert!(!valid_code("AbCdEfGhIjKlMnOpQrSt_-x"));
        assert!(!valid_code("AbCdEfGhIjKlMnOpQrSt+/"));
        assert!(!valid_code("AbCdEfGhIjKlMnOpQrSt=="));
        assert!(!valid_code("<script>alert(1)</scr>"));
        assert!(!valid_code("AbCdEfGhIjKlMnOpQrSté"));
    }

    #[test]
    fn accept_language_is_sanitised() {
        assert_eq!(language(Some("de-DE,de;q=0.9,en;q=0.8")), "de-DE");
        assert_eq!(language(Some(" fr-CH ; q=0.9, fr")), "fr-CH");
        assert_eq!(language(Some("en")), "en");
        assert_eq!(language(Some("*")), "");
        assert_eq!(language(Some("")), "");
        assert_eq!(language(None), "");
        assert_eq!(language(Some("en_US")), "");
        assert_eq!(language(Some("<script>")), "");
        assert_eq!(language(Some(&"a".repeat(36))), "");
        assert_eq!(language(Some(&"a".repeat(35))), "a".repeat(35));
    }

    #[test]
    fn error_pages_are_escaped_documents() {
        let html = render_error_page(StatusCode::SERVICE_UNAVAILABLE);
        assert!(html.starts_with("<!doctype html>"));
        assert!(html.contains("Hearth is unavailable"));
        assert!(html.contains("<meta name=\"robots\" content=\"noindex\">"));
        assert!(render_error_page(StatusCode::NOT_FOUND).contains("Invite not found"));
    }
}
