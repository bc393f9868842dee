//! The publishing options, checked before the command starts
//! (docs/publishing.md, "Options"): a bad URL, scheme, label or textfile is
//! one line and exit 125, and nothing is started.

use std::path::PathBuf;
use std::time::Duration;

use crate::cgroup::attach::Which;
use crate::record::config::Mode;

use super::http::Endpoint;
use super::prometheus::is_label_name;

/// Below this, `--push-every` would push more often than any engine scrapes.
const SHORTEST_EVERY: Duration = Duration::from_millis(100);

/// The publishing options as given on the command line.
#[derive(Debug, Clone, Default)]
pub(crate) struct Asked {
    /// `--push URL`.
    pub(crate) push: Option<String>,
    /// `--textfile FILE.prom`.
    pub(crate) textfile: Option<PathBuf>,
    /// `--otlp [URL]`: `Some("")` without a URL.
    pub(crate) otlp: Option<String>,
    /// `--job NAME`.
    pub(crate) job: Option<String>,
    /// `--label K=V`, in order.
    pub(crate) labels: Vec<String>,
    /// `--push-every`.
    pub(crate) push_every: Duration,
    /// `--push-timeout`.
    pub(crate) push_timeout: Duration,
}

/// Where and how the figures are published.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// `--push`: the Pushgateway's base URL.
    pub(crate) push: Option<Endpoint>,
    /// `--otlp`, with what the environment adds.
    pub(crate) otlp: Option<super::otlp::Target>,
    /// `--textfile FILE.prom`.
    pub(crate) textfile: Option<PathBuf>,
    /// `--job`, or the command's name.
    pub(crate) job: String,
    /// `--label K=V`, in order.
    pub(crate) labels: Vec<(String, String)>,
    pub(crate) every: Duration,
    pub(crate) timeout: Duration,
}

impl Settings {
    /// `None` when nothing is to be published; the error is the message.
    pub(crate) fn resolve(args: Asked, mode: &Mode) -> Result<Option<Settings>, String> {
        if args.push.is_none() && args.textfile.is_none() && args.otlp.is_none() {
            return Ok(None);
        }
        let push = args
            .push
            .as_deref()
            .map(|url| Endpoint::parse(url).map_err(|why| format!("--push: {why}")))
            .transpose()?;
        let otlp = args
            .otlp
            .as_deref()
            .map(|url| super::otlp::Target::resolve(url, &|name| std::env::var(name).ok()))
            .transpose()?;
        if let Some(path) = &args.textfile {
            super::textfile::check(path)?;
        }
        let job = match args.job {
            Some(job) if job.is_empty() => return Err("--job: the name is empty".into()),
            Some(job) => job,
            None => default_job(mode),
        };
        if args.push_every < SHORTEST_EVERY {
            return Err("--push-every: at least 100ms".into());
        }
        Ok(Some(Settings {
            push,
            otlp,
            textfile: args.textfile,
            job,
            labels: labels(&args.labels)?,
            every: args.push_every,
            timeout: args.push_timeout,
        }))
    }
}

/// `--label K=V`: Prometheus label names, each once; `job` is `--job`'s.
fn labels(given: &[String]) -> Result<Vec<(String, String)>, String> {
    let mut labels: Vec<(String, String)> = Vec::with_capacity(given.len());
    for text in given {
        let Some((name, value)) = text.split_once('=') else {
            return Err(format!("--label {text}: give NAME=VALUE"));
        };
        if !is_label_name(name) {
            return Err(format!(
                "--label {name}: not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)"
            ));
        }
        if name == "job" {
            return Err("--label job: give the job with --job NAME".into());
        }
        // It names the phase of the phase series: the same name twice in
        // one sample is refused by Prometheus.
        if name == "phase" {
            return Err(
                "--label phase: the label of each phase's series (--phases); choose another name"
                    .into(),
            );
        }
        if labels.iter().any(|(known, _)| known == name) {
            return Err(format!("--label {name}: given twice"));
        }
        labels.push((name.to_string(), value.to_string()));
    }
    Ok(labels)
}

/// The command's base name, or the attached process's name.
fn default_job(mode: &Mode) -> String {
    let name = match mode {
        Mode::Spawn { command } => command
            .first()
            .map(std::path::Path::new)
            .and_then(std::path::Path::file_name)
            .map(|name| name.to_string_lossy().into_owned()),
        Mode::Attach { pid } => std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .ok()
            .map(|name| name.trim_end_matches('\n').to_string()),
        // A cgroup's own name (nginx.service); none for --cgroup-of.
        Mode::Cgroup { which } => match which {
            Which::Unit(name) => Some(name.clone()),
            Which::Path(path) => path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned()),
            Which::Of(_) => None,
        },
    };
    name.filter(|name| !name.is_empty())
        .unwrap_or_else(|| "memsample".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_checked() {
        let ok = labels(&["branch=feature/x".into(), "empty=".into(), "eq=a=b".into()])
            .expect("good labels");
        assert_eq!(ok[0], ("branch".into(), "feature/x".into()));
        assert_eq!(ok[1], ("empty".into(), String::new()));
        assert_eq!(ok[2], ("eq".into(), "a=b".into()));
        for (bad, why) in [
            ("a-b=1", "--label a-b: not a Prometheus label name"),
            ("__x=1", "--label __x: not a Prometheus label name"),
            ("novalue", "--label novalue: give NAME=VALUE"),
            ("job=x", "--label job: give the job with --job NAME"),
            ("phase=x", "--label phase: the label of each phase's series"),
        ] {
            let err = labels(&[bad.into()]).expect_err(bad);
            assert!(err.starts_with(why), "{err}");
        }
        assert!(labels(&["a=1".into(), "a=2".into()]).is_err());
    }

    #[test]
    fn the_default_job_is_the_command_base_name() {
        let spawn = Mode::Spawn {
            command: vec!["/usr/bin/make".into(), "-j8".into()],
        };
        assert_eq!(default_job(&spawn), "make");
        let own = Mode::Attach {
            pid: std::process::id(),
        };
        assert!(!default_job(&own).is_empty());
    }
}
