//! `drifttap rules`: the shipped rule file is its output for the defaults, the
//! PrometheusRule form carries the same groups, and promtool accepts the rules and passes
//! their unit tests (`alerts/tests/`) where it is installed.

use std::process::Command;

use crate::harness::{TempDir, drifttap, stderr};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn stdout(args: &[&str]) -> String {
    let out = drifttap(args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    String::from_utf8(out.stdout).expect("UTF-8")
}

#[test]
fn the_shipped_rule_file_is_what_drifttap_rules_prints() {
    let shipped =
        std::fs::read_to_string(format!("{ROOT}/alerts/drifttap-rules.yaml")).expect("shipped");
    assert_eq!(
        stdout(&["rules"]),
        shipped,
        "alerts/drifttap-rules.yaml is out of date: regenerate it with `drifttap rules > alerts/drifttap-rules.yaml`"
    );
}

#[test]
fn a_prometheus_rule_object_carries_the_configured_thresholds() {
    let dir = TempDir::new("rules");
    let config = dir.path("drifttap.yaml");
    std::fs::write(
        &config,
        "model: credit\nbaseline: /unused\nalerts:\n  drift_for: 1h\n  replica_quorum: 0.66\n",
    )
    .expect("written");
    let text = stdout(&[
        "rules",
        "--config",
        &config,
        "--format",
        "prometheus-rule",
        "--namespace",
        "monitoring",
    ]);
    let object: serde_json::Value = serde_saphyr::from_str(&text).expect("YAML");
    assert_eq!(object["apiVersion"], "monitoring.coreos.com/v1");
    assert_eq!(object["kind"], "PrometheusRule");
    assert_eq!(object["metadata"]["namespace"], "monitoring");
    let rules = &object["spec"]["groups"][0]["rules"];
    assert_eq!(rules[0]["alert"], "DrifttapModelDrift");
    assert_eq!(rules[0]["for"], "1h");
    assert_eq!(
        rules[0]["expr"],
        r#"avg by (model) (drifttap_model_drift{model="credit"}) > 0.66"#
    );
    let bad = dir.path("bad.yaml");
    std::fs::write(&bad, "alerts:\n  drift_for: soon\n  typo: 1\n").expect("written");
    let out = drifttap(&["rules", "--config", &bad]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("typo"), "{}", stderr(&out));
}

#[test]
fn promtool_accepts_the_rules_and_their_unit_tests_pass() {
    if !crate::monitoring::available("promtool") {
        return;
    }
    let dir = TempDir::new("promtool");
    let generated = dir.path("credit-rules.yaml");
    std::fs::write(
        &generated,
        stdout(&[
            "rules",
            "--config",
            &format!("{ROOT}/baselines/credit/serve.yaml"),
        ]),
    )
    .expect("written");
    for args in [
        vec!["check", "rules", generated.as_str()],
        vec![
            "check",
            "rules",
            &format!("{ROOT}/alerts/drifttap-rules.yaml"),
        ],
        vec![
            "test",
            "rules",
            &format!("{ROOT}/alerts/tests/drifttap-rules.test.yaml"),
        ],
    ] {
        let out = Command::new("promtool").args(&args).output().expect("runs");
        assert!(
            out.status.success(),
            "promtool {args:?}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn the_grafana_dashboard_queries_only_documented_metrics() {
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{ROOT}/alerts/grafana-dashboard.json"))
            .expect("dashboard"),
    )
    .expect("valid JSON");
    let readme = std::fs::read_to_string(format!("{ROOT}/README.md")).expect("README");
    let metrics = readme
        .split("### Metrics")
        .nth(1)
        .expect("a Metrics section");
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(panels.len() >= 10);
    let mut queried = 0;
    for panel in panels {
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("expr");
            for name in expr
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|t| t.starts_with("drifttap_"))
            {
                let documented = name.strip_suffix("_bucket").unwrap_or(name);
                assert!(
                    metrics.contains(&format!("`{documented}`")),
                    "panel {:?} queries {name}, which the README does not document",
                    panel["title"]
                );
                queried += 1;
            }
        }
    }
    assert!(queried >= 20, "{queried} metric references");
}
