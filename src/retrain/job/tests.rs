use super::*;

const SHIPPED: &str = include_str!("../../../k8s/retrain-job.yaml");

fn template(text: &str) -> JobTemplate {
    JobTemplate::from_yaml(text, "job.yaml").expect("a valid template")
}

fn episode(model: &str) -> Episode {
    Episode {
        key: crate::protocol::webhook::episode_key(model, "sha256:4be02faf7d2a1475", 1_764_000_000),
        model: model.into(),
        source: Source::Drift,
        baseline_version: Some("sha256:4be02faf7d2a1475".into()),
        drifting_features: vec!["annual_income".into(), "age".into()],
        payload: r#"{"model":"credit"}"#.into(),
    }
}

fn env_of(container: &Container) -> BTreeMap<String, String> {
    container
        .env
        .iter()
        .flatten()
        .map(|v| (v.name.clone(), v.value.clone().unwrap_or_default()))
        .collect()
}

/// A minimal template with two containers and an init container; `extra` goes under `spec`.
fn two_containers(extra: &str) -> String {
    format!(
        "apiVersion: batch/v1
kind: Job
metadata: {{name: t}}
spec:
{extra}  template:
    spec:
      initContainers:
        - {{name: fetch, image: busybox}}
      containers:
        - name: train
          image: trainer:1
          env:
            - {{name: EPOCHS, value: '3'}}
            - {{name: DRIFTTAP_MODEL, value: stale}}
        - {{name: sidecar, image: logger:1}}
"
    )
}

#[test]
fn the_shipped_template_keeps_its_gpu_limit_and_gets_drifttaps_labels_and_env() {
    let job = build_job(&template(SHIPPED), &episode("credit"), "ml");
    let spec = job.spec.as_ref().expect("spec");
    let pod = spec.template.spec.as_ref().expect("pod spec");
    let train = &pod.containers[0];
    let limits = train
        .resources
        .as_ref()
        .and_then(|r| r.limits.as_ref())
        .expect("limits");
    assert_eq!(limits["nvidia.com/gpu"].0, "1");
    assert_eq!(pod.restart_policy.as_deref(), Some("Never"));
    assert_eq!(job.metadata.namespace.as_deref(), Some("ml"));
    let name = job.metadata.name.clone().expect("name");
    assert_eq!(name, job_name("credit", &episode("credit").key));
    let labels = job.metadata.labels.as_ref().expect("labels");
    assert_eq!(labels[MODEL_LABEL], "credit");
    assert_eq!(labels[MANAGED_BY_LABEL], "drifttap");
    assert_eq!(labels[EPISODE_LABEL], episode("credit").key);
    assert_eq!(labels["app.kubernetes.io/name"], "credit-train");
    let pod_labels = spec
        .template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.as_ref())
        .expect("pod labels");
    assert_eq!(pod_labels[MODEL_LABEL], "credit");
    let env = env_of(train);
    assert_eq!(env["DRIFTTAP_MODEL"], "credit");
    assert_eq!(env["DRIFTTAP_BASELINE_VERSION"], "sha256:4be02faf7d2a1475");
    assert_eq!(env["DRIFTTAP_DRIFTING_FEATURES"], "annual_income,age");
    assert_eq!(env["DRIFTTAP_EPISODE"], episode("credit").key);
    assert_eq!(env["DRIFTTAP_SOURCE"], "drift");
    assert_eq!(env["DRIFTTAP_PAYLOAD"], r#"{"model":"credit"}"#);
    assert_eq!(env["MLFLOW_TRACKING_URI"], "http://mlflow.mlops.svc:5000");
    // The template's values win over drifttap's defaults.
    assert_eq!(spec.active_deadline_seconds, Some(21_600));
    assert_eq!(spec.ttl_seconds_after_finished, Some(604_800));
    assert_eq!(spec.backoff_limit, Some(1));
}

#[test]
fn every_container_gets_the_episode_first_and_a_stale_variable_is_replaced() {
    let job = build_job(&template(&two_containers("")), &episode("credit"), "ml");
    let pod = job.spec.and_then(|s| s.template.spec).expect("pod");
    let init = pod.init_containers.expect("init containers");
    for container in pod.containers.iter().chain(&init) {
        let names: Vec<&str> = container
            .env
            .iter()
            .flatten()
            .map(|v| v.name.as_str())
            .collect();
        assert_eq!(&names[..ENV_VARS.len()], &ENV_VARS, "{}", container.name);
        assert_eq!(env_of(container)["DRIFTTAP_MODEL"], "credit");
    }
    let train = env_of(&pod.containers[0]);
    assert_eq!(train["EPOCHS"], "3");
    assert_eq!(
        pod.containers[0].env.as_ref().expect("env").len(),
        ENV_VARS.len() + 1,
        "the template's DRIFTTAP_MODEL is replaced, not repeated"
    );
}

#[test]
fn defaults_fill_only_what_the_template_leaves_unset() {
    let unset = build_job(&template(&two_containers("")), &episode("credit"), "ml");
    let spec = unset.spec.expect("spec");
    assert_eq!(
        spec.ttl_seconds_after_finished,
        Some(DEFAULT_TTL_SECONDS_AFTER_FINISHED)
    );
    assert_eq!(spec.backoff_limit, Some(DEFAULT_BACKOFF_LIMIT));
    assert_eq!(
        spec.active_deadline_seconds,
        Some(DEFAULT_ACTIVE_DEADLINE_SECONDS)
    );
    let user = two_containers("  ttlSecondsAfterFinished: 60\n  backoffLimit: 0\n");
    let spec = build_job(&template(&user), &episode("credit"), "ml")
        .spec
        .expect("spec");
    assert_eq!(spec.ttl_seconds_after_finished, Some(60));
    assert_eq!(spec.backoff_limit, Some(0));
    assert_eq!(
        spec.active_deadline_seconds,
        Some(DEFAULT_ACTIVE_DEADLINE_SECONDS)
    );
}

#[test]
fn label_and_name_checks_agree_with_kubernetes_examples() {
    for valid in ["", "credit", "Credit_v2.1", "a", "0-x"] {
        assert!(is_label_value(valid), "{valid:?}");
    }
    let long = "m".repeat(64);
    for invalid in [
        "-credit",
        "credit.",
        "credit/eu",
        "credit eu",
        "✓",
        long.as_str(),
    ] {
        assert!(!is_label_value(invalid), "{invalid:?}");
    }
    for valid in ["credit", "retrain-credit-5ba059fa0c", "0"] {
        assert!(is_dns_label(valid), "{valid:?}");
    }
    for invalid in [
        "",
        "Credit",
        "credit_v2",
        "-credit",
        "credit-",
        "a.b",
        long.as_str(),
    ] {
        assert!(!is_dns_label(invalid), "{invalid:?}");
    }
}

#[test]
fn job_names_are_deterministic_valid_and_short() {
    let key = episode("credit").key;
    assert_eq!(job_name("credit", &key), job_name("credit", &key));
    assert_ne!(job_name("credit", &key), job_name("credit", "drift-other"));
    assert!(job_name("credit", &key).starts_with("retrain-credit-"));
    let long = "Fraud_Detection.Model/EU-West ".repeat(10);
    for model in [
        "credit",
        "Credit Risk v2",
        "--",
        "",
        "ünïcode",
        long.as_str(),
        "a-",
    ] {
        let name = job_name(model, &key);
        assert!(is_dns_label(&name), "{model:?} -> {name:?}");
    }
    assert_eq!(
        job_name("Credit Risk v2", "k"),
        job_name("credit-risk-v2", "k")
    );
    assert!(job_name("", &key).starts_with("retrain-model-"));
    assert_eq!(job_name(&long, &key).len(), MAX_NAME);
}

#[test]
fn label_values_are_kept_when_valid_and_made_valid_and_distinct_otherwise() {
    assert_eq!(label_value("credit"), "credit");
    assert_eq!(label_value("credit_v2.1"), "credit_v2.1");
    assert_eq!(label_value(""), "");
    let long = "m".repeat(100);
    for value in ["credit/eu", "credit eu", "-credit", long.as_str(), "✓"] {
        let label = label_value(value);
        assert!(is_label_value(&label), "{value:?} -> {label:?}");
        assert!(!label.is_empty());
    }
    assert_ne!(label_value("credit/eu"), label_value("credit eu"));
    assert!(label_value("credit/eu").starts_with("credit-eu-"));
    assert_eq!(
        model_selector("credit"),
        "drifttap.dev/model=credit,app.kubernetes.io/managed-by=drifttap"
    );
}

fn refused(text: &str) -> TemplateError {
    JobTemplate::from_yaml(text, "job.yaml").expect_err("refused")
}

#[test]
fn templates_that_are_not_usable_jobs_are_refused_naming_the_file_and_field() {
    let error = refused("apiVersion: v1\nkind: Pod\n");
    assert_eq!(error.field.as_deref(), Some("apiVersion"));
    assert!(
        error
            .to_string()
            .starts_with("job.yaml: apiVersion: must be `batch/v1`")
    );
    assert_eq!(
        refused("apiVersion: batch/v1\nkind: CronJob\n")
            .field
            .as_deref(),
        Some("kind")
    );
    assert_eq!(
        refused("apiVersion: batch/v1\nkind: Job\nspec: {template: {}}\n")
            .field
            .as_deref(),
        Some("spec.template.spec")
    );
    let empty = "apiVersion: batch/v1\nkind: Job\nspec: {template: {spec: {containers: []}}}\n";
    assert_eq!(
        refused(empty).field.as_deref(),
        Some("spec.template.spec.containers")
    );
    let no_image =
        "apiVersion: batch/v1\nkind: Job\nspec: {template: {spec: {containers: [{name: a}]}}}\n";
    assert_eq!(
        refused(no_image).field.as_deref(),
        Some("spec.template.spec.containers[0].image")
    );
    let always = two_containers("").replace(
        "initContainers",
        "restartPolicy: Always\n      initContainers",
    );
    assert_eq!(
        refused(&always).field.as_deref(),
        Some("spec.template.spec.restartPolicy")
    );
    let typo = two_containers("").replace("image: trainer:1", "imag: trainer:1");
    assert_eq!(
        refused(&typo).field.as_deref(),
        Some("spec.template.spec.containers[0].imag")
    );
    let wrong_type = two_containers("  backoffLimit: many\n");
    assert!(refused(&wrong_type).problem.starts_with("not a valid Job"));
    assert!(refused("[1, 2]").problem.contains("mapping"));
    assert!(refused("a: [").problem.starts_with("not a YAML document"));
}

#[test]
fn an_unset_restart_policy_becomes_never_and_generated_fields_are_replaced() {
    let text = two_containers("").replace(
        "metadata: {name: t}",
        "metadata: {name: t, generateName: x-, namespace: other, resourceVersion: '7'}",
    );
    let job = build_job(&template(&text), &episode("credit"), "ml");
    assert_eq!(job.metadata.generate_name, None);
    assert_eq!(job.metadata.resource_version, None);
    assert_eq!(job.metadata.namespace.as_deref(), Some("ml"));
    let pod = job.spec.and_then(|s| s.template.spec).expect("pod");
    assert_eq!(pod.restart_policy.as_deref(), Some("Never"));
}
