//! Dashboards and alerts cannot drift from the code: a whole Hearth runs
//! with its telemetry exported over OTLP to a receiver in this test, a
//! scenario makes every role emit, and then every metric and label that a
//! dashboard in deploy/observability/dashboards or a rule in
//! deploy/observability/alerts queries must be among those received (after
//! the collector's Prometheus translation), and every emitted metric must
//! be documented in docs/observability.md. (Its own binary: telemetry is
//! process-global.)

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    time::Duration,
};

use hearth::Role;
use hearth_platform::telemetry;
use hearth_tests::{
    TestApp,
    otlp::{MetricKind, ReceivedMetric, Receiver, prometheus_label, prometheus_names},
    test_config, username,
};
use serde_json::{Value, json};
use yaml_rust2::{Yaml, YamlLoader};

/// Every metric Hearth emits, with its kind: the inventory docs/observability.md documents.
const EMITTED: &[(&str, MetricKind)] = &[
    ("rpc.server.duration", MetricKind::Histogram),
    ("http.server.request.duration", MetricKind::Histogram),
    ("hearth.gateway.ws.connections", MetricKind::UpDownCounter),
    ("hearth.gateway.ws.frames", MetricKind::Counter),
    ("hearth.gateway.ws.closes", MetricKind::Counter),
    ("hearth.gateway.fanout.lag", MetricKind::Histogram),
    ("hearth.gateway.fanout.duration", MetricKind::Histogram),
    ("hearth.chat.messages", MetricKind::Counter),
    ("hearth.chat.resumes", MetricKind::Counter),
    ("hearth.chat.outbox.relayed", MetricKind::Counter),
    ("hearth.polls.votes", MetricKind::Counter),
    ("hearth.recommendations.signals.dropped", MetricKind::Counter),
    ("hearth.nats.consumer.pending", MetricKind::Gauge),
    ("hearth.nats.consumer.ack_pending", MetricKind::Gauge),
    ("hearth.dependency.duration", MetricKind::Histogram),
    ("hearth.db.pool.connections", MetricKind::Gauge),
];

/// PromQL's functions, aggregations and keywords.
const PROMQL_WORDS: &[&str] = &[
    "abs",
    "absent",
    "absent_over_time",
    "and",
    "avg",
    "avg_over_time",
    "bool",
    "bottomk",
    "by",
    "ceil",
    "changes",
    "clamp",
    "clamp_max",
    "clamp_min",
    "count",
    "count_over_time",
    "count_values",
    "delta",
    "deriv",
    "exp",
    "floor",
    "group",
    "group_left",
    "group_right",
    "histogram_quantile",
    "idelta",
    "ignoring",
    "increase",
    "inf",
    "irate",
    "label_join",
    "label_replace",
    "last_over_time",
    "ln",
    "log10",
    "log2",
    "max",
    "max_over_time",
    "min",
    "min_over_time",
    "nan",
    "offset",
    "on",
    "or",
    "predict_linear",
    "quantile",
    "quantile_over_time",
    "rate",
    "resets",
    "round",
    "scalar",
    "sgn",
    "sort",
    "sort_desc",
    "sqrt",
    "stddev",
    "stddev_over_time",
    "sum",
    "sum_over_time",
    "time",
    "timestamp",
    "topk",
    "unless",
    "vector",
    "without",
    // Grafana's template functions in variable queries.
    "label_values",
    "label_names",
    "metrics",
    "query_result",
];

/// Labels every series has after translation and scraping.
const SERIES_LABELS: &[&str] = &["job", "instance", "le", "__name__"];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboards_and_alerts_query_only_what_hearth_emits() {
    let (receiver, endpoint) = Receiver::start().await;
    let (mut config, database) = test_config();
    config.telemetry.otlp_endpoint = Some(endpoint);
    config.telemetry.probe_interval = Duration::from_millis(500);
    let telemetry = telemetry::init(&config.telemetry, "hearth-metrics-test").expect("telemetry");
    let app = TestApp::start(config, database, Role::ALL).await;

    // A scenario that makes every role emit: sign-up over HTTP, a room,
    // chat with a resume, a poll and a vote.
    app.register(&username("metered")).await;
    let (_, mut host) = app.user_ws(&app.ws_url, &[]).await;
    let created = host
        .call(json!({"createRoom": {"kind": "ROOM_KIND_COMMUNITY", "visibility": "ROOM_VISIBILITY_PUBLIC", "title": "Metered"}}))
        .await;
    let room = created["createRoom"]["room"]["roomId"].as_str().expect("a room").to_owned();
    host.call(json!({"enterRoom": {"roomId": room}})).await;
    let (viewer_id, mut viewer) = app.user_ws(&app.ws_url, &[]).await;
    viewer.call(json!({"enterRoom": {"roomId": room, "join": true}})).await;
    for n in 0..3 {
        let sent =
            host.call(json!({"sendMessage": {"roomId": room, "clientMsgId": format!("m{n}"), "text": "hi"}})).await;
        assert!(sent.get("sendMessage").is_some(), "{sent}");
    }
    viewer.event_where(Duration::from_secs(5), |f| f["chatEvent"]["messagePosted"].is_object()).await;
    let position = viewer.call(json!({"listMessages": {"roomId": room, "page": {"pageSize": 1}}})).await;
    let epoch = position["listMessages"]["position"]["epoch"].as_str().unwrap_or_default().to_owned();
    // The viewer comes back on a new connection and resumes from sequence 1.
    let mut back = app.ws_at(&app.ws_url).await;
    back.auth(&app.token(&viewer_id, &[])).await;
    let resumed =
        back.call(json!({"enterRoom": {"roomId": room, "chatPosition": {"sequence": 1, "epoch": epoch}}})).await;
    assert_eq!(resumed["enterRoom"]["chat"]["outcome"], "RESUME_OUTCOME_RECOVERED", "{resumed}");
    let poll = host
        .call(json!({"createPoll": {"roomId": room, "poll": {"question": "Which?", "options": ["A", "B"]}, "openNow": true}}))
        .await;
    let poll_id = poll["createPoll"]["poll"]["pollId"].as_str().expect("a poll").to_owned();
    let vote = viewer.call(json!({"castVote": {"pollId": poll_id, "optionIds": ["o1"]}})).await;
    assert!(vote.get("castVote").is_some(), "{vote}");

    let emitted = wait_for_inventory(&receiver, &telemetry).await;
    for (name, kind) in EMITTED {
        assert_eq!(emitted[*name].kind, *kind, "{name} is a {kind:?}");
        if *kind == MetricKind::Histogram {
            assert_eq!(emitted[*name].unit, "s", "{name} is in seconds");
        }
    }

    let (series, labels) = prometheus_vocabulary(&emitted);
    let root = repo_root();
    let rules = rules_in(&root.join("deploy/observability/alerts"));
    assert!(!rules.alerts.is_empty(), "alert rules exist");
    let recorded: BTreeSet<String> = rules.recorded.iter().cloned().collect();
    let mut problems = Vec::new();
    let mut queries = 0;
    for (source, expr) in
        dashboard_queries(&root.join("deploy/observability/dashboards")).into_iter().chain(rules.exprs)
    {
        queries += 1;
        for word in identifiers(&expr) {
            let known = PROMQL_WORDS.contains(&word.as_str())
                || series.contains(&word)
                || labels.contains(&word)
                || recorded.contains(&word);
            if !known {
                problems.push(format!("{source}: `{word}` is not an emitted metric or label, in: {expr}"));
            }
        }
    }
    assert!(queries >= 20, "the dashboards and rules hold queries ({queries})");
    assert!(problems.is_empty(), "queries that would show nothing:\n{}", problems.join("\n"));

    // Every emitted metric is documented, and every runbook link lands.
    let docs = std::fs::read_to_string(root.join("docs/observability.md")).expect("docs/observability.md");
    for (name, metric) in &emitted {
        if name.starts_with("hearth.") || name.starts_with("rpc.") || name.starts_with("http.") {
            let family = &prometheus_names(name, metric)[0];
            let family = family.trim_end_matches("_bucket");
            assert!(docs.contains(name) || docs.contains(family), "docs/observability.md documents {name}");
        }
    }
    let anchors = anchors(&docs);
    for (alert, runbook) in &rules.alerts {
        let anchor = runbook.as_deref().and_then(|url| url.rsplit_once('#')).map(|(_, a)| a.to_owned());
        let anchor = anchor.unwrap_or_else(|| panic!("alert {alert} links its runbook in docs/observability.md"));
        assert!(anchors.contains(&anchor), "alert {alert}: no heading #{anchor} in docs/observability.md");
    }
    drop(app);
    telemetry.shutdown();
}

/// Flushes until every metric of the inventory has arrived.
async fn wait_for_inventory(receiver: &Receiver, telemetry: &telemetry::Telemetry) -> BTreeMap<String, ReceivedMetric> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    loop {
        telemetry.flush();
        let metrics = receiver.metrics.lock().await.clone();
        let missing: Vec<&str> =
            EMITTED.iter().map(|(name, _)| *name).filter(|name| !metrics.contains_key(*name)).collect();
        if missing.is_empty() {
            return metrics;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never received {missing:?}; received {:?}",
            metrics.keys().collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Series names and label names the collector would expose.
fn prometheus_vocabulary(emitted: &BTreeMap<String, ReceivedMetric>) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut series = BTreeSet::new();
    let mut labels: BTreeSet<String> = SERIES_LABELS.iter().map(|l| (*l).to_owned()).collect();
    for (name, metric) in emitted {
        series.extend(prometheus_names(name, metric));
        labels.extend(metric.attributes.iter().map(|k| prometheus_label(k)));
    }
    (series, labels)
}

/// The identifiers of a PromQL expression, outside string literals and
/// Grafana variables: metric names, label names, functions, keywords.
fn identifiers(expr: &str) -> Vec<String> {
    let mut text = String::with_capacity(expr.len());
    let mut chars = expr.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' | '`' => {
                // Skip the literal, escapes included.
                let mut escaped = false;
                for d in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if d == '\\' {
                        escaped = true;
                    } else if d == c {
                        break;
                    }
                }
                text.push(' ');
            }
            '$' => {
                // $var, ${var} or ${var:format}.
                if chars.peek() == Some(&'{') {
                    for d in chars.by_ref() {
                        if d == '}' {
                            break;
                        }
                    }
                } else {
                    while chars.peek().is_some_and(|d| d.is_ascii_alphanumeric() || *d == '_') {
                        chars.next();
                    }
                }
                text.push(' ');
            }
            other => text.push(other),
        }
    }
    let mut words = Vec::new();
    let mut previous = ' ';
    let mut current = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        let word_char = c.is_ascii_alphanumeric() || c == '_' || c == ':';
        if word_char && (!current.is_empty() || !(previous.is_ascii_alphanumeric() || previous == '.')) {
            current.push(c);
        } else if !current.is_empty() {
            // A duration such as 5m or a number never starts with a letter.
            if !current.starts_with(|ch: char| ch.is_ascii_digit()) {
                words.push(std::mem::take(&mut current));
            }
            current.clear();
        }
        previous = c;
    }
    words.retain(|w| !w.starts_with(':'));
    words
}

/// Every query of every dashboard: (dashboard file, expression).
fn dashboard_queries(dir: &Path) -> Vec<(String, String)> {
    let mut queries = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("deploy/observability/dashboards")
        .map(|e| e.expect("a dashboard file").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 2, "an overview and per-service dashboards: {files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).expect("a dashboard");
        let dashboard: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        collect_json(&dashboard, &mut |key, value| {
            if matches!(key, "expr" | "query" | "definition") && !value.trim().is_empty() {
                queries.push((name.clone(), value.to_owned()));
            }
        });
    }
    queries
}

fn collect_json(value: &Value, found: &mut impl FnMut(&str, &str)) {
    match value {
        // A datasource variable's query names a plugin type, not PromQL.
        Value::Object(map) if map.get("type").and_then(Value::as_str) == Some("datasource") => {}
        Value::Object(map) => {
            for (key, value) in map {
                if let Value::String(text) = value {
                    found(key, text);
                } else {
                    collect_json(value, found);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_json(item, found)),
        _ => {}
    }
}

/// What the rule files hold.
#[derive(Default)]
struct Rules {
    /// (file, expression) of every rule.
    exprs: Vec<(String, String)>,
    /// Names of recording rules.
    recorded: Vec<String>,
    /// Alert names with their runbook_url.
    alerts: Vec<(String, Option<String>)>,
}

fn rules_in(dir: &Path) -> Rules {
    let mut rules = Rules::default();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("deploy/observability/alerts")
        .map(|e| e.expect("a rule file").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("a rule file");
        let docs = YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        for doc in &docs {
            let groups = doc["groups"].as_vec().unwrap_or_else(|| panic!("{name}: a Prometheus rule file has groups"));
            for group in groups {
                for rule in group["rules"].as_vec().unwrap_or_else(|| panic!("{name}: each group has rules")) {
                    let expr = rule["expr"].as_str().unwrap_or_else(|| panic!("{name}: a rule without expr"));
                    rules.exprs.push((name.clone(), expr.to_owned()));
                    if let Some(record) = rule["record"].as_str() {
                        rules.recorded.push(record.to_owned());
                    } else {
                        let alert =
                            rule["alert"].as_str().unwrap_or_else(|| panic!("{name}: neither alert nor record"));
                        assert!(!matches!(rule["labels"]["severity"], Yaml::BadValue), "{alert} has a severity");
                        assert!(rule["annotations"]["summary"].as_str().is_some(), "{alert} has a summary");
                        let runbook = rule["annotations"]["runbook_url"].as_str().map(str::to_owned);
                        rules.alerts.push((alert.to_owned(), runbook));
                    }
                }
            }
        }
    }
    rules
}

/// GitHub-style anchors of a Markdown file's headings.
fn anchors(markdown: &str) -> BTreeSet<String> {
    markdown
        .lines()
        .filter(|l| l.starts_with('#'))
        .map(|l| {
            l.trim_start_matches('#')
                .trim()
                .to_lowercase()
                .chars()
                .filter_map(|c| match c {
                    'a'..='z' | '0'..='9' | '-' | '_' => Some(c),
                    ' ' => Some('-'),
                    _ => None,
                })
                .collect()
        })
        .collect()
}

#[test]
fn promql_identifiers_skip_strings_variables_and_durations() {
    let words = identifiers(
        r#"histogram_quantile(0.99, sum by (le) (rate(hearth_gateway_fanout_lag_seconds_bucket{job=~"$job", event="chat"}[$__rate_interval]))) > 0.5 offset 5m"#,
    );
    assert_eq!(
        words,
        [
            "histogram_quantile",
            "sum",
            "by",
            "le",
            "rate",
            "hearth_gateway_fanout_lag_seconds_bucket",
            "job",
            "event",
            "offset"
        ]
    );
    assert_eq!(identifiers("hearth:rpc_errors:ratio_rate5m > (14.4 * 0.001)"), ["hearth:rpc_errors:ratio_rate5m"]);
}
