//! The Helm chart's `config` values cannot drift from the configuration:
//! every key of `hearth_platform::Config` is either settable under `config`
//! in helm/hearth/values.schema.json or set by the chart itself (secrets,
//! addresses, service URLs), and the schema names no key Hearth lacks.

use std::collections::BTreeSet;

use serde_json::Value;

/// Keys the chart sets from its own values (or Secrets), which the schema
/// therefore refuses under `config`.
const CHART_MANAGED: &[&str] = &[
    "auth.dev_key_path",
    "auth.signing_key",
    "auth.signing_key_id",
    "database.url",
    "gateway.addr",
    "gateway.instance_id",
    "grpc.addr",
    "nats.credentials_file",
    "nats.url",
    "provider.api_key",
    "provider.ingest_key",
    "provider.url",
    "redis.cluster_urls",
    "redis.url",
    "rooms.public_url",
    "services.chat_url",
    "services.identity_url",
    "services.polls_url",
    "services.provider_url",
    "services.recommendations_url",
    "services.rooms_url",
    "shutdown.grace_period",
    "telemetry.json_logs",
    "telemetry.otlp_endpoint",
    "telemetry.service_name",
];

fn config_keys() -> BTreeSet<String> {
    let config = serde_json::to_value(hearth_platform::Config::default()).expect("the configuration serialises");
    let Value::Object(sections) = config else { panic!("the configuration is a table of sections") };
    let mut keys = BTreeSet::new();
    for (section, value) in sections {
        let Value::Object(fields) = value else { panic!("{section} is a table") };
        keys.extend(fields.keys().map(|key| format!("{section}.{key}")));
    }
    keys
}

fn schema_keys() -> BTreeSet<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../helm/hearth/values.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("values.schema.json"))
        .expect("values.schema.json is JSON");
    let sections = schema["properties"]["config"]["properties"].as_object().expect("the schema describes `config`");
    let mut keys = BTreeSet::new();
    for (section, value) in sections {
        let fields = value["properties"].as_object().unwrap_or_else(|| panic!("config.{section} lists its keys"));
        keys.extend(fields.keys().map(|key| format!("{section}.{key}")));
    }
    keys
}

#[test]
fn the_charts_config_schema_knows_every_configuration_key() {
    let config = config_keys();
    let schema = schema_keys();
    let managed: BTreeSet<String> = CHART_MANAGED.iter().map(|k| (*k).to_owned()).collect();
    let unsettable: Vec<&String> = config.iter().filter(|k| !schema.contains(*k) && !managed.contains(*k)).collect();
    assert!(unsettable.is_empty(), "keys Helm users cannot set (add them to values.schema.json): {unsettable:?}");
    let unknown: Vec<&String> = schema.iter().chain(&managed).filter(|k| !config.contains(*k)).collect();
    assert!(unknown.is_empty(), "keys the chart names that Hearth does not have: {unknown:?}");
    let both: Vec<&String> = schema.intersection(&managed).collect();
    assert!(both.is_empty(), "chart-managed keys must not be settable under `config`: {both:?}");
}
