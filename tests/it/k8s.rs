//! The Kubernetes example: its configuration is valid for `serve`, the container's arguments
//! parse, and the ports the manifests name are the ones the configuration listens on.

use crate::cli::Command;
use drifttap::sidecar::config::{Overrides, RawConfig};

use crate::harness::container_cli;

fn read(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/k8s/example-model/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("manifest exists")
}

#[test]
fn the_example_sidecar_configuration_resolves_and_matches_its_manifests() {
    let config = RawConfig::from_yaml(&read("drifttap.yaml"), "drifttap.yaml")
        .expect("parses")
        .resolve(Overrides::default())
        .expect("valid");
    let tap = config.tap.expect("the example taps the model");
    assert_eq!(tap.upstream.port_u16(), Some(8080));

    let deployment: serde_json::Value =
        serde_saphyr::from_str(&read("deployment.yaml")).expect("YAML");
    let containers = deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .expect("containers");
    let port = |container: &serde_json::Value, name: &str| {
        container["ports"]
            .as_array()
            .and_then(|ports| ports.iter().find(|p| p["name"] == name))
            .and_then(|p| p["containerPort"].as_u64())
            .unwrap_or_else(|| panic!("port {name}"))
    };
    let model = containers
        .iter()
        .find(|c| c["name"] == "model")
        .expect("model");
    assert_eq!(port(model, "model"), 8080);
    let sidecar = containers
        .iter()
        .find(|c| c["name"] == "drifttap")
        .expect("sidecar");
    assert_eq!(port(sidecar, "tap"), u64::from(tap.listen.port()));
    assert_eq!(port(sidecar, "admin"), u64::from(config.admin.port()));
    assert_eq!(
        port(sidecar, "ingest"),
        u64::from(config.listen.expect("ingest").port())
    );
    let cli = container_cli(sidecar);
    assert!(matches!(cli.command, Command::Serve(_)));
    // The downward API gives the notifications their namespace and pod, and the webhook's
    // secret is on a mounted volume.
    let env: Vec<&str> = sidecar["env"]
        .as_array()
        .expect("env")
        .iter()
        .map(|e| e["name"].as_str().expect("name"))
        .collect();
    for name in [
        drifttap::sidecar::notify::POD_NAMESPACE_ENV,
        drifttap::sidecar::notify::POD_NAME_ENV,
    ] {
        assert!(env.contains(&name), "{name} not in {env:?}");
    }
    let webhook = config.webhook.expect("the example calls the retrainer");
    let mounted = sidecar["volumeMounts"]
        .as_array()
        .expect("mounts")
        .iter()
        .filter_map(|m| m["mountPath"].as_str())
        .any(|path| webhook.secret_file.starts_with(path));
    assert!(
        mounted,
        "{} is not on its own volume",
        webhook.secret_file.display()
    );
    // The pod gives the drain its time.
    let grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        .as_u64()
        .expect("grace");
    assert!(config.shutdown_grace.as_secs() < grace);
}
