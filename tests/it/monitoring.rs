//! Real Prometheus and Alertmanager (Debian's packages) for the end-to-end tests: started on
//! loopback with short intervals in a temporary directory, stopped by PID on drop.
//!
//! Where the binaries are missing the tests that need them print that they were skipped —
//! unless `DRIFTTAP_REQUIRE_E2E=1` (CI sets it), where that is a failure.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hyper::StatusCode;

use crate::harness::TempDir;
use crate::sidecar::get;

pub const PROMETHEUS: &str = "prometheus";
pub const ALERTMANAGER: &str = "prometheus-alertmanager";

/// Whether `binary` runs here; panics when it does not and CI requires it.
pub fn available(binary: &str) -> bool {
    let found = Command::new(binary)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        assert!(
            std::env::var("DRIFTTAP_REQUIRE_E2E").as_deref() != Ok("1"),
            "{binary} is not installed and DRIFTTAP_REQUIRE_E2E=1"
        );
        eprintln!(
            "skipped: {binary} is not installed (Debian packages prometheus, prometheus-alertmanager)"
        );
    }
    found
}

/// A loopback port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A child process killed (and reaped) on drop, with its log file for failure messages.
pub struct Process {
    child: Child,
    log: String,
    pub address: SocketAddr,
    /// Configuration, data and log; removed on drop.
    _dir: TempDir,
}

impl Process {
    fn start(name: &str, binary: &str, args: &[String], dir: TempDir, port: u16) -> Process {
        let log = dir.path(&format!("{name}.log"));
        let file = std::fs::File::create(&log).expect("log file");
        let child = Command::new(binary)
            .args(args)
            .stdout(file.try_clone().expect("log file"))
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("{binary} starts: {e}"));
        Process {
            child,
            log,
            address: SocketAddr::from(([127, 0, 0, 1], port)),
            _dir: dir,
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits for `GET /-/ready` to answer 200.
    async fn ready(&self, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok((StatusCode::OK, _)) =
                tokio::time::timeout(Duration::from_secs(2), try_get(self.address, "/-/ready"))
                    .await
                    .unwrap_or(Err(()))
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what} not ready within 60 s:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A GET that reports a refused connection instead of panicking.
async fn try_get(address: SocketAddr, path: &str) -> Result<(StatusCode, String), ()> {
    if tokio::net::TcpStream::connect(address).await.is_err() {
        return Err(());
    }
    Ok(get(address, path).await)
}

/// Prometheus scraping `targets` every second, evaluating `rules` (a rule file's text) every
/// second, and sending alerts to `alertmanager`.
pub async fn prometheus(targets: &[SocketAddr], rules: &str, alertmanager: SocketAddr) -> Process {
    let dir = TempDir::new(&format!("prometheus-{}", free_port()));
    std::fs::write(dir.path("rules.yaml"), rules).expect("rules written");
    let targets: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
         rule_files: [rules.yaml]\n\
         alerting:\n  alertmanagers:\n    - static_configs: [{{targets: ['{alertmanager}']}}]\n\
         scrape_configs:\n  - job_name: drifttap\n    static_configs: [{{targets: [{}]}}]\n",
        targets.join(", ")
    );
    std::fs::write(dir.path("prometheus.yml"), config).expect("config written");
    let port = free_port();
    let args = vec![
        format!("--config.file={}", dir.path("prometheus.yml")),
        format!("--storage.tsdb.path={}", dir.path("data")),
        format!("--web.listen-address=127.0.0.1:{port}"),
        "--rules.alert.resend-delay=1s".into(),
        "--log.level=info".into(),
    ];
    let process = Process::start("prometheus", PROMETHEUS, &args, dir, port);
    process.ready("prometheus").await;
    process
}

/// Alertmanager with `config` (its YAML), grouping and repeating fast.
pub async fn alertmanager(config: &str) -> Process {
    let dir = TempDir::new(&format!("alertmanager-{}", free_port()));
    std::fs::write(dir.path("alertmanager.yml"), config).expect("config written");
    let port = free_port();
    let args = vec![
        format!("--config.file={}", dir.path("alertmanager.yml")),
        format!("--storage.path={}", dir.path("data")),
        format!("--web.listen-address=127.0.0.1:{port}"),
        // No gossip: a single instance on loopback.
        "--cluster.listen-address=".into(),
        "--log.level=info".into(),
    ];
    let process = Process::start("alertmanager", ALERTMANAGER, &args, dir, port);
    process.ready("alertmanager").await;
    process
}
