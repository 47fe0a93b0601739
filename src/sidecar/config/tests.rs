use super::*;

fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

#[test]
fn only_a_baseline_gives_sensible_defaults() {
    let raw = RawConfig::from_yaml("baseline: /baselines/credit\n", "test.yaml").expect("parses");
    let config = raw.resolve(Overrides::default()).expect("valid");
    assert_eq!(config.model, "model");
    assert_eq!(config.baseline, PathBuf::from("/baselines/credit"));
    assert_eq!(config.tap, None, "no upstream, no tap");
    assert_eq!(config.admin, "0.0.0.0:9470".parse().expect("address"));
    assert_eq!(
        config.listen,
        Some("0.0.0.0:9471".parse().expect("address"))
    );
    assert_eq!(config.window.size, 10_000);
    assert_eq!(config.evaluation.interval, Duration::from_secs(30));
    assert!(config.evaluation.ks && config.evaluation.chi2 && config.evaluation.mmd);
    assert_eq!(config.policy.hysteresis, 3);
    assert!(config.sampling, "heavy traffic is sampled by default");
}

#[test]
fn sampling_is_auto_or_all_from_the_file_the_environment_or_the_flag() {
    let raw = RawConfig::from_yaml(
        "baseline: /b
window:
  sampling: all
",
        "t.yaml",
    )
    .expect("parses");
    assert!(
        !raw.clone()
            .resolve(Overrides::default())
            .expect("valid")
            .sampling
    );
    let from_env =
        Overrides::from_env(Overrides::default(), &env(&[("DRIFTTAP_SAMPLING", "auto")]));
    assert!(raw.clone().resolve(from_env).expect("valid").sampling);
    let flag = Overrides {
        sampling: Some("some".into()),
        ..Overrides::default()
    };
    let err = raw.resolve(flag).expect_err("not a mode");
    assert_eq!(
        err.problems,
        ["window.sampling: `some` is not one of auto, all"]
    );
}

#[test]
fn flags_override_the_environment_which_overrides_the_file() {
    let raw = RawConfig::from_yaml(
        "model: from-file\nbaseline: /file\nwindow:\n  size: 100\ntap:\n  upstream: http://127.0.0.1:1\n",
        "test.yaml",
    )
    .expect("parses");
    let flags = Overrides {
        window_size: Some("300".into()),
        ..Overrides::default()
    };
    let overrides = Overrides::from_env(
        flags,
        &env(&[
            ("DRIFTTAP_MODEL", "from-env"),
            ("DRIFTTAP_WINDOW_SIZE", "200"),
            ("DRIFTTAP_UPSTREAM", "http://127.0.0.1:8080"),
            ("DRIFTTAP_EVAL_INTERVAL", "1s"),
        ]),
    );
    let config = raw.resolve(overrides).expect("valid");
    assert_eq!(config.model, "from-env");
    assert_eq!(config.window.size, 300);
    assert_eq!(config.evaluation.interval, Duration::from_secs(1));
    let tap = config.tap.expect("upstream set");
    assert_eq!(
        tap.upstream,
        "http://127.0.0.1:8080/".parse::<http::Uri>().expect("uri")
    );
    assert_eq!(tap.listen, "0.0.0.0:9472".parse().expect("address"));
}

#[test]
fn unknown_keys_are_rejected_naming_the_key() {
    let err = RawConfig::from_yaml("baseline: /b\nwindow:\n  sise: 10\n", "drifttap.yaml")
        .expect_err("typo");
    let text = err.to_string();
    assert!(
        text.contains("drifttap.yaml") && text.contains("sise"),
        "{text}"
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let raw = RawConfig::from_yaml(
        "admin: nowhere\nwindow:\n  size: 1\nevaluation:\n  interval: soon\n  p_val: 1.5\n  tests: [ks, t]\n  correction: holm\n  hysteresis: 0\ntap:\n  upstream: ftp://model\nalerts:\n  replica_quorum: 1\n",
        "bad.yaml",
    )
    .expect("parses");
    let err = raw.resolve(Overrides::default()).expect_err("invalid");
    let expected = [
        "baseline: required",
        "tap.upstream: `ftp://model` must be an http:// URL",
        "admin: `nowhere` is not an address",
        "window.size: must be between 2 and 10000000, got 1",
        "evaluation.interval: `soon` is not a duration",
        "evaluation.tests: unknown test `t`",
        "evaluation.p_val: must be in (0, 1), got 1.5",
        "evaluation.correction: `holm` is not one of",
        "evaluation.hysteresis: must be at least 1",
        "alerts.replica_quorum: 1 is not a share in [0, 1)",
    ];
    for problem in expected {
        assert!(
            err.problems.iter().any(|p| p.starts_with(problem)),
            "missing `{problem}` in {:#?}",
            err.problems
        );
    }
    assert_eq!(err.problems.len(), expected.len(), "{:#?}", err.problems);
}

#[test]
fn the_ingest_listener_can_be_turned_off() {
    let raw = RawConfig::from_yaml("baseline: /b\nlisten: \"off\"\n", "t.yaml").expect("parses");
    assert_eq!(
        raw.resolve(Overrides::default()).expect("valid").listen,
        None
    );
}

#[test]
fn the_webhook_is_off_by_default_and_needs_a_secret_when_on() {
    let raw = RawConfig::from_yaml("baseline: /b\n", "test.yaml").expect("parses");
    assert_eq!(
        raw.resolve(Overrides::default()).expect("valid").webhook,
        None
    );

    let raw = RawConfig::from_yaml(
        "baseline: /b\nwebhook:\n  secret_file: /etc/drifttap/secret\n  cooldown: 0s\n",
        "test.yaml",
    )
    .expect("parses");
    let overrides = Overrides::from_env(
        Overrides::default(),
        &env(&[(
            "DRIFTTAP_WEBHOOK_URL",
            "http://drifttap-retrainer.mlops.svc:8080/v1/drift",
        )]),
    );
    let webhook = raw.resolve(overrides).expect("valid").webhook.expect("on");
    assert_eq!(
        webhook.url.as_str(),
        "http://drifttap-retrainer.mlops.svc:8080/v1/drift"
    );
    assert_eq!(webhook.secret_file, PathBuf::from("/etc/drifttap/secret"));
    assert_eq!(webhook.cooldown, Duration::ZERO);
    assert_eq!(webhook.timeout, Duration::from_secs(10));
    assert_eq!(webhook.retry_initial_interval, Duration::from_secs(1));
    assert_eq!(webhook.retry_max_interval, Duration::from_secs(60));
    assert_eq!(webhook.give_up_after, Duration::from_secs(86_400));
    assert_eq!(webhook.queue_capacity, 16);
}

#[test]
fn every_webhook_problem_is_reported_at_once() {
    let raw = RawConfig::from_yaml(
        "baseline: /b\nwebhook:\n  url: ftp://example.com/\n  timeout: 0s\n  retry_initial_interval: 2m\n  queue_capacity: 0\n",
        "test.yaml",
    )
    .expect("parses");
    let error = raw.resolve(Overrides::default()).expect_err("invalid");
    let text = error.to_string();
    for expected in [
        "webhook.url: `ftp://example.com/` must be an http:// or https:// URL",
        "webhook.secret_file: required with webhook.url",
        "webhook.timeout: must be more than 0",
        "webhook.retry_initial_interval (2m) is longer than webhook.retry_max_interval (1m)",
        "webhook.queue_capacity: must be at least 1",
    ] {
        assert!(text.contains(expected), "{expected:?} not in:\n{text}");
    }
    let raw = RawConfig::from_yaml("baseline: /b\n", "test.yaml").expect("parses");
    let flags = Overrides {
        webhook_secret_file: Some("/s".into()),
        ..Overrides::default()
    };
    let error = raw.resolve(flags).expect_err("a secret without a URL");
    assert!(
        error
            .to_string()
            .contains("webhook.secret_file: set, but webhook.url is not"),
        "{error}"
    );
}

#[test]
fn the_queue_is_bounded_in_bytes_at_least_as_large_as_one_body() {
    let resolve = |yaml: &str, flags: Overrides| {
        RawConfig::from_yaml(&format!("baseline: /b\n{yaml}"), "t.yaml")
            .expect("parses")
            .resolve(flags)
    };
    let config = resolve("", Overrides::default()).expect("valid");
    assert_eq!(config.queue_max_bytes, 16 << 20);
    assert_eq!(config.queue_capacity, 1024);
    let config = resolve("queue_max_bytes: 2097152\n", Overrides::default()).expect("valid");
    assert_eq!(config.queue_max_bytes, 2 << 20);
    // A body cap above the default raises the default with it, rather than failing a
    // configuration that worked before the byte bound.
    let flags = Overrides {
        max_body_bytes: Some((64usize << 20).to_string()),
        ..Overrides::default()
    };
    assert_eq!(
        resolve("", flags.clone()).expect("valid").queue_max_bytes,
        64 << 20
    );
    let err = resolve("queue_max_bytes: 1048576\n", flags).expect_err("below one body");
    assert_eq!(
        err.problems,
        [
            "queue_max_bytes: must be at least max_body_bytes (67108864), or no body that large could be queued; got 1048576"
        ]
    );
    let err = resolve("queue_max_bytes: 0\n", Overrides::default()).expect_err("zero");
    assert_eq!(err.problems, ["queue_max_bytes: must be at least 1"]);
}
