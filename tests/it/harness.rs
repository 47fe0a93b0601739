//! What the integration tests share: the binary, run once or as a service whose JSON log says
//! where it listens, the bundled example, Parquet fixtures written by code, temporary
//! directories.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arrow_array::{ArrayRef, Float64Array, RecordBatch};
use arrow_schema::{Field, Schema};
use parquet::arrow::ArrowWriter;

/// A file of the bundled credit example.
pub fn example(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("baselines/credit")
        .join(name)
        .display()
        .to_string()
}

/// Writes one record batch to a Parquet file.
pub fn write_batch(path: &Path, batch: &RecordBatch) {
    let mut writer = ArrowWriter::try_new(
        std::fs::File::create(path).expect("writable"),
        batch.schema(),
        None,
    )
    .expect("writer");
    writer.write(batch).expect("written");
    writer.close().expect("closed");
}

/// Writes `columns` (name, nullable f64 values) to a Parquet file.
pub fn write_numbers(path: &Path, columns: &[(&str, Vec<Option<f64>>)]) {
    let arrays: Vec<ArrayRef> = columns
        .iter()
        .map(|(_, v)| Arc::new(Float64Array::from(v.clone())) as ArrayRef)
        .collect();
    let fields: Vec<Field> = columns
        .iter()
        .map(|(n, _)| Field::new(*n, arrow_schema::DataType::Float64, true))
        .collect();
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).expect("valid batch");
    write_batch(path, &batch);
}

/// Runs the `drifttap` binary.
pub fn drifttap(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_drifttap"))
        .args(args)
        .output()
        .expect("the binary runs")
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A fresh directory under the system's temp directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let path = std::env::temp_dir().join(format!("drifttap-it-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("temp dir is writable");
        TempDir(path)
    }

    /// A path inside, as a string for the command line.
    pub fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A number no other caller in this test process gets, for unique temporary directories.
pub fn unique() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A long-running `drifttap` command (`serve`, `retrainer`) as a child process: it logs JSON
/// lines, one `listening` line per listener (`server`, `address`) and then `serving`.
pub struct Service {
    pub child: Child,
    /// Each listener's address, by its `server` name.
    pub addresses: HashMap<String, SocketAddr>,
    /// Everything it logged, for failure messages.
    pub log: Arc<Mutex<String>>,
    /// Everything it wrote to standard output.
    pub stdout: Arc<Mutex<String>>,
}

impl Service {
    /// Starts `drifttap ARGS` with `DRIFTTAP_LOG=info` and `env`, and waits (at most a
    /// minute) until it logs `serving`; `what` names it in the panic if it does not.
    pub fn start(what: &str, args: &[&str], env: &[(&str, &str)]) -> Service {
        Service::start_limited(what, args, env, None)
    }

    /// As [`Service::start`], under a soft limit of `open_files` descriptors when given (a
    /// container's usual default is 1 024), set by the shell that execs it.
    pub fn start_limited(
        what: &str,
        args: &[&str],
        env: &[(&str, &str)],
        open_files: Option<u64>,
    ) -> Service {
        let binary = env!("CARGO_BIN_EXE_drifttap");
        let mut command = match open_files {
            Some(limit) => {
                let mut shell = Command::new("sh");
                shell
                    .arg("-c")
                    .arg(format!("ulimit -Sn {limit} && exec \"$0\" \"$@\""))
                    .arg(binary);
                shell
            }
            None => Command::new(binary),
        };
        command
            .args(args)
            .env("DRIFTTAP_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("the binary starts");
        let stdout = Arc::new(Mutex::new(String::new()));
        let mut out = child.stdout.take().expect("piped");
        let sink = stdout.clone();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 8192];
            while let Ok(n @ 1..) = out.read(&mut buffer) {
                let text = String::from_utf8_lossy(&buffer[..n]).into_owned();
                sink.lock().expect("stdout lock").push_str(&text);
            }
        });
        let stderr = child.stderr.take().expect("piped");
        let log = Arc::new(Mutex::new(String::new()));
        let (sender, receiver) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(json) = serde_json::from_str::<serde_json::Value>(&line) {
                    let fields = &json["fields"];
                    if fields["message"] == "listening" {
                        let _ = sender.send((
                            fields["server"].as_str().unwrap_or("").to_string(),
                            fields["address"].as_str().unwrap_or("").to_string(),
                        ));
                    }
                    if fields["message"] == "serving" {
                        let _ = sender.send(("serving".into(), String::new()));
                    }
                }
                let mut log = sink.lock().expect("log lock");
                log.push_str(&line);
                log.push('\n');
            }
        });
        let mut addresses = HashMap::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match receiver.recv_timeout(left) {
                Ok((name, _)) if name == "serving" => break,
                Ok((name, address)) => {
                    addresses.insert(name, address.parse::<SocketAddr>().expect("address"));
                }
                Err(_) => {
                    let _ = child.kill();
                    panic!(
                        "the {what} did not start: {}",
                        log.lock().expect("log lock")
                    );
                }
            }
        }
        Service {
            child,
            addresses,
            log,
            stdout,
        }
    }

    /// The address of the listener `server`.
    pub fn address(&self, server: &str) -> SocketAddr {
        *self
            .addresses
            .get(server)
            .unwrap_or_else(|| panic!("no {server} listener in {:?}", self.addresses))
    }

    pub fn log(&self) -> String {
        self.log.lock().expect("log lock").clone()
    }

    pub fn stdout(&self) -> String {
        self.stdout.lock().expect("stdout lock").clone()
    }

    /// Sends a signal (`TERM`, `HUP`) with kill(1).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name}");
    }

    /// Waits for the process to exit, at most `limit`.
    pub fn wait(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A manifest container's `args`, parsed as the `drifttap` command line.
pub fn container_cli(container: &serde_json::Value) -> crate::cli::Cli {
    use clap::Parser;
    let args = container["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|a| a.as_str().expect("string").to_string());
    crate::cli::Cli::try_parse_from(std::iter::once("drifttap".to_string()).chain(args))
        .expect("the container's arguments parse")
}
