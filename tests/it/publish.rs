//! Publishing (docs/publishing.md): `--textfile` and `--push` with the real
//! binary recording the fixture, against small HTTP endpoints made here on
//! 127.0.0.1 (one that answers, one that hangs, one that resets, one that
//! answers 500). The real Pushgateway, Prometheus and node_exporter are in
//! tests/fleet/run.sh.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::common::*;

const LIMIT: Duration = Duration::from_secs(60);

/// What a test endpoint does with each connection.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    /// Reads the request and answers with this status.
    Answer(u16),
    /// Accepts and never answers (the connection is held open).
    Hang,
    /// Reads the request and resets the connection.
    Reset,
}

/// One request as the endpoint received it.
#[derive(Debug, Clone)]
struct Received {
    /// `PUT /metrics/job/...`
    request_line: String,
    /// Lower-cased names.
    headers: Vec<(String, String)>,
    body: String,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An endpoint on 127.0.0.1, on a free port, serving at most 100
/// connections.
struct Endpoint {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Endpoint {
    fn start(behaviour: Behaviour) -> Endpoint {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&received);
        thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().take(100) {
                let Ok(stream) = stream else { continue };
                if behaviour == Behaviour::Hang {
                    held.push(stream);
                    continue;
                }
                let log = Arc::clone(&log);
                thread::spawn(move || serve(stream, behaviour, &log));
            }
        });
        Endpoint { url, received }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().expect("the log").clone()
    }
}

/// Serves the requests of one connection (kept alive) as `behaviour` says.
fn serve(stream: TcpStream, behaviour: Behaviour, log: &Mutex<Vec<Received>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut writer = stream;
    while let Some(request) = read_request(&mut reader) {
        log.lock().expect("the log").push(request);
        match behaviour {
            Behaviour::Answer(status) => {
                let answer = format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n");
                if writer.write_all(answer.as_bytes()).is_err() {
                    return;
                }
            }
            Behaviour::Reset | Behaviour::Hang => {
                // SO_LINGER 0: close sends a reset.
                let linger = libc::linger {
                    l_onoff: 1,
                    l_linger: 0,
                };
                // SAFETY: setsockopt on a socket this thread owns, with a
                // linger struct of the size given.
                unsafe {
                    libc::setsockopt(
                        std::os::fd::AsRawFd::as_raw_fd(&writer),
                        libc::SOL_SOCKET,
                        libc::SO_LINGER,
                        (&raw const linger).cast(),
                        std::mem::size_of::<libc::linger>() as libc::socklen_t,
                    )
                };
                return;
            }
        }
    }
}

fn read_request(reader: &mut impl BufRead) -> Option<Received> {
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).ok()? == 0 {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let length: usize = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Received {
        request_line: request_line.trim_end().to_string(),
        headers,
        body: String::from_utf8(body).ok()?,
    })
}

/// The value of the sample line `name` (with any labels) in an exposition.
fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?;
        let rest = match rest.strip_prefix('{') {
            Some(labelled) => labelled.split_once("} ")?.1,
            None => rest.strip_prefix(' ')?,
        };
        rest.parse().ok()
    })
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("the JSON summary"))
        .expect("valid JSON")
}

fn warnings(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|line| line.contains("cannot publish"))
        .collect()
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .expect("hostname")
        .trim()
        .to_string()
}

/// The textfile holds the end figures, the same as the JSON summary's, and
/// the command's exit code; no temporary file is left.
#[test]
fn textfile_holds_the_final_figures() {
    let dir = tempfile::tempdir().expect("tempdir");
    let prom = dir.path().join("job.prom");
    let summary = dir.path().join("summary.json");
    let output = memsample()
        .args(["-i", "50ms", "-o"])
        .arg(dir.path().join("mem.csv"))
        .arg("--json-summary")
        .arg(&summary)
        .arg("--textfile")
        .arg(&prom)
        .args(["--push-every", "100ms", "--label", "branch=main", "--"])
        .arg(fixture())
        .args(["hold", "30", "sleep", "400", "exit", "3"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    let text = std::fs::read_to_string(&prom).expect("the textfile");
    let summary = json(&summary);
    let peak = summary["peak_rss_bytes"].as_u64().expect("a peak");
    assert!(peak >= 30 * MIB, "{peak}");
    assert_eq!(
        metric(&text, "memsample_rss_peak_bytes"),
        Some(peak as f64),
        "{text}"
    );
    assert_eq!(
        metric(&text, "memsample_samples"),
        summary["samples"].as_u64().map(|n| n as f64)
    );
    assert_eq!(metric(&text, "memsample_exit_code"), Some(3.0));
    assert!(
        text.contains("memsample_rss_peak_bytes{job=\"fixture\",branch=\"main\"} "),
        "{text}"
    );
    assert!(!dir.path().join("job.prom.tmp").exists());
    assert!(warnings(&stderr).is_empty(), "{stderr}");
}

/// During the recording the textfile is rewritten with the figures so far
/// (attach mode: no exit code, the process is left running).
#[test]
fn textfile_during_an_attach_recording() {
    let dir = tempfile::tempdir().expect("tempdir");
    let prom = dir.path().join("attached.prom");
    let target = Waiting::start(dir.path(), &["hold", "25"], |_| {});
    let running = Running::start(
        memsample()
            .args(["-i", "50ms", "-o"])
            .arg(dir.path().join("mem.csv"))
            .arg("--textfile")
            .arg(&prom)
            .args(["--push-every", "100ms", "--pid", &target.pid().to_string()]),
    );
    let read = || std::fs::read_to_string(&prom).unwrap_or_default();
    wait_until("a textfile with 3 samples", LIMIT, || {
        metric(&read(), "memsample_samples").is_some_and(|n| n >= 3.0)
    });
    let during = read();
    assert!(metric(&during, "memsample_rss_bytes").is_some_and(|rss| rss >= (25 * MIB) as f64));
    let job = std::fs::read_to_string(format!("/proc/{}/comm", target.pid())).expect("comm");
    assert!(
        during.contains(&format!("{{job=\"{}\"}}", job.trim())),
        "{during}"
    );
    send(running.pid(), libc::SIGTERM);
    let (_, _, stderr) = running.finish(LIMIT);
    assert!(warnings(&stderr).is_empty(), "{stderr}");
    let after = read();
    assert!(metric(&after, "memsample_exit_code").is_none(), "{after}");
    target.release();
}

/// Pushed to the endpoint with PUT to the grouping key's path, with the
/// credentials of the URL as a header, never in a message or a file.
#[test]
fn push_puts_the_grouping_key_and_hides_the_password() {
    let endpoint = Endpoint::start(Behaviour::Answer(200));
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("mem.csv");
    let summary = dir.path().join("summary.json");
    let url = endpoint.url.replace("http://", "http://ci:hunter2@");
    let output = memsample()
        .args(["-i", "50ms", "-o"])
        .arg(&csv)
        .arg("--json-summary")
        .arg(&summary)
        .args([
            "--push",
            &url,
            "--job",
            "nightly build",
            "--label",
            "branch=feature/x",
        ])
        .args(["--push-every", "100ms", "--"])
        .arg(fixture())
        .args(["hold", "20", "sleep", "400"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let received = endpoint.received();
    assert!(
        received.len() >= 2,
        "periodic pushes and the final one: {received:?}"
    );
    let path = format!(
        "/metrics/job@base64/bmlnaHRseSBidWlsZA==/instance/{}/branch@base64/ZmVhdHVyZS94",
        host_name()
    );
    for request in &received {
        assert_eq!(request.request_line, format!("PUT {path} HTTP/1.1"));
        assert_eq!(
            request.header("authorization"),
            Some("Basic Y2k6aHVudGVyMg==")
        );
        assert!(
            request
                .header("content-type")
                .is_some_and(|t| t.contains("version=0.0.4"))
        );
    }
    let last = &received[received.len() - 1].body;
    let summary_text = std::fs::read_to_string(&summary).expect("summary");
    let peak = json(&summary)["peak_rss_bytes"].as_u64().expect("a peak");
    assert_eq!(
        metric(last, "memsample_rss_peak_bytes"),
        Some(peak as f64),
        "{last}"
    );
    assert_eq!(metric(last, "memsample_exit_code"), Some(0.0));
    // The grouping key carries job and instance: the body has no such labels.
    assert!(
        !last.contains("job=") && !last.contains("instance="),
        "{last}"
    );
    let csv_text = std::fs::read_to_string(&csv).expect("csv");
    for (what, text) in [
        ("stderr", stderr.as_ref()),
        ("csv", &csv_text),
        ("summary", &summary_text),
    ] {
        assert!(!text.contains("hunter2"), "the password in {what}: {text}");
    }
}

/// Runs the fixture for `sleep_ms` and exits 3, publishing to `endpoint`;
/// returns stderr, after checking the exit status is the command's.
fn record_against(url: &str, every: &str, timeout: &str, sleep_ms: &str) -> (String, Duration) {
    let dir = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    let output = memsample()
        .args(["-i", "50ms", "-o"])
        .arg(dir.path().join("mem.csv"))
        .args([
            "--push",
            url,
            "--push-every",
            every,
            "--push-timeout",
            timeout,
            "--",
        ])
        .arg(fixture())
        .args(["sleep", sleep_ms, "exit", "3"])
        .output()
        .expect("runs");
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    (stderr, took)
}

/// An endpoint that answers 500 to every push: the exit status is the
/// command's, and there is exactly one warning however many pushes failed.
#[test]
fn an_endpoint_answering_500_is_one_warning() {
    let endpoint = Endpoint::start(Behaviour::Answer(500));
    let (stderr, _) = record_against(&endpoint.url, "100ms", "5s", "600");
    assert!(endpoint.received().len() >= 3, "several tries");
    let warnings = warnings(&stderr);
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(warnings[0].contains("answered 500"), "{stderr}");
}

/// An endpoint that resets each connection: one warning, the command's
/// status.
#[test]
fn an_endpoint_that_resets_is_one_warning() {
    let endpoint = Endpoint::start(Behaviour::Reset);
    let (stderr, _) = record_against(&endpoint.url, "100ms", "5s", "600");
    assert!(endpoint.received().len() >= 3, "several tries");
    assert_eq!(warnings(&stderr).len(), 1, "{stderr}");
}

/// Nobody listens: one warning, the command's status.
#[test]
fn a_refusing_endpoint_is_one_warning() {
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("address")
        .port();
    let (stderr, _) = record_against(&format!("http://127.0.0.1:{port}"), "100ms", "5s", "400");
    let warnings = warnings(&stderr);
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(warnings[0].contains("refused"), "{stderr}");
}

/// An endpoint that accepts and never answers: the exit waits for the final
/// push no longer than --push-timeout (a bound with a wide margin for a
/// loaded machine, not a measure of speed), and says so once.
#[test]
fn a_hanging_endpoint_delays_the_exit_by_at_most_the_timeout() {
    let endpoint = Endpoint::start(Behaviour::Hang);
    let (stderr, took) = record_against(&endpoint.url, "60s", "2s", "300");
    // 0.3 s of command, 2 s of --push-timeout; without the bound the final
    // push would hold memsample as long as the endpoint holds it (forever).
    assert!(
        took < Duration::from_secs(2) + Duration::from_millis(300) + Duration::from_secs(3),
        "{took:?}"
    );
    let warnings = warnings(&stderr);
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(warnings[0].contains("2s"), "{stderr}");
}

/// Bad publishing options: one line, exit 125, and the command never ran.
#[test]
fn bad_options_are_refused_before_the_command_starts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = dir.path().join("ran");
    let missing = dir.path().join("nope/job.prom");
    let missing = missing.to_string_lossy();
    let cases: [(&[&str], &str); 7] = [
        (&["--push", "127.0.0.1:9091"], "--push: not a URL"),
        (&["--push", "ftp://127.0.0.1/"], "--push: unknown scheme"),
        (
            &["--push", "http://u:hunter2@127.0.0.1:99999"],
            "--push: bad port",
        ),
        (
            &["--push", "http://127.0.0.1:9091", "--label", "a-b=1"],
            "--label a-b: not a Prometheus label name",
        ),
        (
            &["--push", "http://127.0.0.1:9091", "--label", "nolabel"],
            "--label nolabel: give NAME=VALUE",
        ),
        (&["--textfile", &missing], "--textfile "),
        (
            &["--push", "http://127.0.0.1:9091", "--push-every", "1ms"],
            "--push-every: at least 100ms",
        ),
    ];
    for (args, message) in cases {
        let output = memsample()
            .args(["-o"])
            .arg(dir.path().join("mem.csv"))
            .args(args)
            .arg("--")
            .arg(fixture())
            .arg("touch")
            .arg(&marker)
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(125), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(
            stderr.starts_with(&format!("memsample: {message}")),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("hunter2"), "{stderr}");
        assert!(!marker.exists(), "{args:?}: the command ran");
        assert!(
            !dir.path().join("mem.csv").exists(),
            "{args:?}: a recording was started"
        );
    }
}

/// The gauge or sum data point of the OTLP metric `name`, as an integer.
fn otlp_int(request: &serde_json::Value, name: &str) -> Option<u64> {
    let metric = request["resourceMetrics"][0]["scopeMetrics"][0]["metrics"]
        .as_array()?
        .iter()
        .find(|metric| metric["name"] == name)?;
    let points = if metric["gauge"].is_object() {
        &metric["gauge"]["dataPoints"]
    } else {
        &metric["sum"]["dataPoints"]
    };
    points[0]["asInt"].as_str()?.parse().ok()
}

/// `--otlp` with the URL from OTEL_EXPORTER_OTLP_ENDPOINT: a POST of JSON
/// to /v1/metrics, with OTEL_EXPORTER_OTLP_HEADERS as headers (never
/// printed), the service named by OTEL_SERVICE_NAME, the final peak the
/// JSON summary's.
#[test]
fn otlp_posts_json_with_the_environment_settings() {
    let endpoint = Endpoint::start(Behaviour::Answer(200));
    let dir = tempfile::tempdir().expect("tempdir");
    let summary = dir.path().join("summary.json");
    let output = memsample()
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint.url)
        .env(
            "OTEL_EXPORTER_OTLP_HEADERS",
            "Authorization=Bearer%20t0ken-xyz,x-team=mem",
        )
        .env("OTEL_SERVICE_NAME", "nightly")
        .env("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=ci")
        .args(["-i", "50ms", "-o"])
        .arg(dir.path().join("mem.csv"))
        .arg("--json-summary")
        .arg(&summary)
        .args(["--otlp", "--push-every", "100ms", "--"])
        .arg(fixture())
        .args(["hold", "20", "sleep", "400", "exit", "2"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("t0ken"), "{stderr}");
    let received = endpoint.received();
    assert!(received.len() >= 2, "{received:?}");
    for request in &received {
        assert_eq!(request.request_line, "POST /v1/metrics HTTP/1.1");
        assert_eq!(request.header("content-type"), Some("application/json"));
        assert_eq!(request.header("authorization"), Some("Bearer t0ken-xyz"));
        assert_eq!(request.header("x-team"), Some("mem"));
    }
    let last: serde_json::Value =
        serde_json::from_str(&received[received.len() - 1].body).expect("JSON");
    let peak = json(&summary)["peak_rss_bytes"].as_u64().expect("a peak");
    assert_eq!(otlp_int(&last, "memsample.memory.peak"), Some(peak));
    assert!(otlp_int(&last, "process.memory.usage").is_some_and(|rss| rss >= 20 * MIB));
    assert_eq!(otlp_int(&last, "memsample.exit_code"), Some(2));
    let attributes = last["resourceMetrics"][0]["resource"]["attributes"]
        .as_array()
        .expect("attributes");
    let attribute = |key: &str| {
        attributes
            .iter()
            .find(|a| a["key"] == key)
            .map(|a| a["value"].clone())
    };
    assert_eq!(
        attribute("service.name"),
        Some(serde_json::json!({"stringValue": "nightly"}))
    );
    assert_eq!(
        attribute("deployment.environment"),
        Some(serde_json::json!({"stringValue": "ci"}))
    );
    assert_eq!(
        attribute("host.name"),
        Some(serde_json::json!({"stringValue": host_name()}))
    );
    assert!(attribute("process.pid").is_some() && attribute("process.command_args").is_some());
}

/// `--otlp` with no URL anywhere is refused before the command starts.
#[test]
fn otlp_without_an_endpoint_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = dir.path().join("ran");
    let output = memsample()
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
        .env("OTEL_EXPORTER_OTLP_HEADERS", "broken-s3cret")
        .args(["-o"])
        .arg(dir.path().join("mem.csv"))
        .args(["--otlp", "http://127.0.0.1:4318", "--"])
        .arg(fixture())
        .arg("touch")
        .arg(&marker)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(125), "{stderr}");
    assert_eq!(
        stderr,
        "memsample: OTEL_EXPORTER_OTLP_HEADERS: an entry without KEY=VALUE\n"
    );
    assert!(!marker.exists());
    let output = memsample()
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
        .args(["--otlp", "--"])
        .arg(fixture())
        .arg("touch")
        .arg(&marker)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(125), "{stderr}");
    assert!(stderr.starts_with("memsample: --otlp: no URL"), "{stderr}");
    assert!(!marker.exists());
}

/// Attached to a cgroup (this test's own, only read): the cgroup's figures
/// are published as the recording has them, the OOM kills and the limit
/// with every push.
#[test]
fn textfile_of_an_attached_cgroup() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("cgroup.csv");
    let prom = dir.path().join("cgroup.prom");
    let output = memsample()
        .args(["--cgroup-of", &std::process::id().to_string()])
        .args(["-i", "100ms", "--samples", "3", "-o"])
        .arg(&csv)
        .arg("--textfile")
        .arg(&prom)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let text = std::fs::read_to_string(&prom).expect("the textfile");
    let (_, rows) = read_csv(&csv);
    let last = &rows[rows.len() - 1];
    assert_eq!(metric(&text, "memsample_samples"), Some(3.0), "{text}");
    assert_eq!(
        metric(&text, "memsample_oom_kills"),
        Some(num(last, "cgroup_oom_kills") as f64)
    );
    assert!(
        metric(&text, "memsample_cgroup_peak_bytes")
            .is_some_and(|peak| peak >= num(last, "cgroup_peak_bytes") as f64),
        "{text}"
    );
    match last["cgroup_limit_bytes"].as_str() {
        "" => assert!(!text.contains("memsample_cgroup_limit_bytes"), "{text}"),
        limit => assert_eq!(
            metric(&text, "memsample_cgroup_limit_bytes"),
            limit.parse::<f64>().ok(),
            "{text}"
        ),
    }
    // --cgroup-of names no job: the default.
    assert!(
        text.contains("memsample_samples{job=\"memsample\"} 3\n"),
        "{text}"
    );
}

/// The value of the `memsample_phase_peak_bytes` sample of `phase` (as it
/// is written: escaped).
fn phase_peak(text: &str, family: &str, phase: &str) -> Option<u64> {
    let label = format!(",phase=\"{phase}\"}} ");
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(family)?.strip_prefix('{')?;
        rest.split_once(&label)?.1.parse().ok()
    })
}

/// `--phases`: the textfile has each closed phase's peak while recording,
/// and every phase's at the end, equal to the report's phase table; names
/// with quotes and backslashes escaped.
#[test]
fn textfile_has_each_phase_peak() {
    let dir = tempfile::tempdir().expect("tempdir");
    let prom = dir.path().join("phases.prom");
    let out = dir.path().join("mem.csv");
    let go = dir.path().join("go");
    let out_text = out.to_string_lossy().into_owned();
    let steps = [
        Step::WaitLines(&out_text, 2),
        Step::Hold(10),
        Step::Mark("load"),
        Step::WaitLines(&out_text, 3),
        Step::Spike(60, 10),
        Step::Mark("say \"hi\" \\o/"),
        Step::WaitLines(&out_text, 4),
        Step::Hold(30),
        Step::Mark("end"),
        Step::WaitLines(&out_text, 5),
        Step::WaitFile(&go),
    ];
    let running = Running::start(
        memsample()
            .args(["-q", "--phases", "-i", "1h", "-o"])
            .arg(&out)
            .arg("--textfile")
            .arg(&prom)
            .args(["--push-every", "100ms", "--"])
            .arg(fixture())
            .args(script(&steps)),
    );
    let read = || std::fs::read_to_string(&prom).unwrap_or_default();
    let family = "memsample_phase_peak_bytes";
    // Closed while the job still runs: start, load and the quoted one.
    wait_until("the closed phases in the textfile", LIMIT, || {
        phase_peak(&read(), family, "say \\\"hi\\\" \\\\o/").is_some()
    });
    let during = read();
    assert!(
        phase_peak(&during, family, "load").is_some_and(|peak| peak >= 70 * MIB),
        "{during}"
    );
    assert!(phase_peak(&during, family, "end").is_none(), "{during}");
    std::fs::write(&go, b"").expect("go");
    let (status, _, stderr) = running.finish(LIMIT);
    assert!(status.success(), "{stderr}");
    let text = read();
    let report = memsample()
        .args(["report", "--json"])
        .arg(&out)
        .output()
        .expect("report runs");
    let report: serde_json::Value = serde_json::from_slice(&report.stdout).expect("JSON");
    let table = report["phases"].as_array().expect("phases");
    assert_eq!(table.len(), 4, "{table:?}");
    for phase in table {
        let name = phase["name"].as_str().expect("a name");
        let escaped = name.replace('\\', "\\\\").replace('"', "\\\"");
        assert_eq!(
            phase_peak(&text, family, &escaped),
            phase["peak_bytes"].as_u64(),
            "{name}: {text}"
        );
        assert_eq!(
            phase_peak(&text, "memsample_phase_peak_exact", &escaped),
            Some(u64::from(phase["peak_exact"] == true)),
            "{name}"
        );
    }
    let quoted = phase_peak(&text, family, "say \\\"hi\\\" \\\\o/").expect("the quoted phase");
    assert!((40 * MIB..56 * MIB).contains(&quoted), "{quoted}");
    assert!(
        text.contains("memsample_phase_peak_bytes{job=\"fixture\",phase=\"load\"} "),
        "{text}"
    );
}
