//! `--otlp [URL]`: the figures as an OTLP/HTTP metrics export in the JSON
//! encoding (docs/publishing.md, "OpenTelemetry"), configured as OTLP
//! exporters are: `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` (used as it is) or
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (with `/v1/metrics` appended),
//! `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_SERVICE_NAME`,
//! `OTEL_RESOURCE_ATTRIBUTES`.
//!
//! Metrics follow OpenTelemetry's semantic conventions where they have one
//! (`process.memory.usage`, `process.memory.virtual`, `process.thread.count`:
//! non-monotonic sums) and are `memsample.*` gauges for the rest.

use serde_json::{Value, json};

use super::Context;
use super::figures::Figures;
use super::http::{Endpoint, percent_decode};
use super::phases::{PHASE_EXACT_HELP, PHASE_PEAK_HELP, PhaseSeries};

/// The OTLP path of metrics, appended to a base endpoint.
const METRICS_PATH: &str = "/v1/metrics";

pub(crate) const CONTENT_TYPE: &str = "application/json";

/// Where and how to export.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) endpoint: Endpoint,
    /// `OTEL_EXPORTER_OTLP_HEADERS` (or `..._METRICS_HEADERS`), decoded.
    pub(crate) headers: Vec<(String, String)>,
    /// `OTEL_RESOURCE_ATTRIBUTES`, decoded.
    pub(crate) resource: Vec<(String, String)>,
    /// `OTEL_SERVICE_NAME`, or `service.name` of the resource attributes.
    pub(crate) service: Option<String>,
}

/// The environment, as a function so tests can give their own.
pub(crate) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

impl Target {
    /// `--otlp` (`given` empty: the URL from the environment). The error is
    /// the message, and never holds a header's value.
    pub(crate) fn resolve(given: &str, env: Env<'_>) -> Result<Target, String> {
        let env = |name: &str| env(name).filter(|value| !value.trim().is_empty());
        let endpoint = if !given.is_empty() {
            let endpoint = Endpoint::parse(given).map_err(|why| format!("--otlp: {why}"))?;
            // A bare host is the collector's base, as OTEL_EXPORTER_OTLP_ENDPOINT is.
            if endpoint.path() == "/" {
                endpoint.join(METRICS_PATH)
            } else {
                endpoint
            }
        } else if let Some(url) = env("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") {
            Endpoint::parse(url.trim())
                .map_err(|why| format!("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: {why}"))?
        } else if let Some(url) = env("OTEL_EXPORTER_OTLP_ENDPOINT") {
            Endpoint::parse(url.trim())
                .map_err(|why| format!("OTEL_EXPORTER_OTLP_ENDPOINT: {why}"))?
                .join(METRICS_PATH)
        } else {
            return Err(
                "--otlp: no URL, and neither OTEL_EXPORTER_OTLP_METRICS_ENDPOINT nor \
                        OTEL_EXPORTER_OTLP_ENDPOINT is set"
                    .into(),
            );
        };
        let headers_var = if env("OTEL_EXPORTER_OTLP_METRICS_HEADERS").is_some() {
            "OTEL_EXPORTER_OTLP_METRICS_HEADERS"
        } else {
            "OTEL_EXPORTER_OTLP_HEADERS"
        };
        let headers = pairs(headers_var, &env(headers_var).unwrap_or_default())?;
        if let Some((name, _)) = headers.iter().find(|(name, _)| !is_token(name)) {
            return Err(format!("{headers_var}: {name:?} is not a header name"));
        }
        let resource = pairs(
            "OTEL_RESOURCE_ATTRIBUTES",
            &env("OTEL_RESOURCE_ATTRIBUTES").unwrap_or_default(),
        )?;
        let service = env("OTEL_SERVICE_NAME").or_else(|| {
            resource
                .iter()
                .find(|(key, _)| key == "service.name")
                .map(|(_, value)| value.clone())
        });
        Ok(Target {
            endpoint,
            headers,
            resource,
            service,
        })
    }
}

/// `key1=value1,key2=value2`, values percent-decoded, blanks trimmed. The
/// error names the variable and the key, never a value (a header may be a
/// secret).
fn pairs(variable: &str, text: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    for entry in text
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
    {
        let Some((key, value)) = entry.split_once('=') else {
            return Err(format!("{variable}: an entry without KEY=VALUE"));
        };
        let key = percent_decode(key.trim());
        if key.is_empty() {
            return Err(format!("{variable}: an entry with an empty key"));
        }
        pairs.push((key, percent_decode(value.trim())));
    }
    Ok(pairs)
}

/// An HTTP header name (RFC 9110 token).
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn string(value: &str) -> Value {
    json!({ "stringValue": value })
}

/// An int64 as the JSON encoding writes it: a string; values above
/// i64::MAX are capped there.
fn int64(value: u64) -> String {
    i64::try_from(value).unwrap_or(i64::MAX).to_string()
}

/// The resource: what OTEL_RESOURCE_ATTRIBUTES gives, over what memsample
/// knows (`host.name`, `process.pid`, `process.command_args`), and
/// `service.name`. A cgroup attached to has no main process: no pid and no
/// command line, rather than a pid 0 and an empty one (docs/publishing.md).
fn resource(context: &Context, target: &Target) -> Value {
    let mut attributes: Vec<(String, Value)> = vec![("host.name".into(), string(&context.host))];
    if let Some(pid) = context.pid {
        attributes.push(("process.pid".into(), json!({ "intValue": pid.to_string() })));
    }
    if !context.command.is_empty() {
        attributes.push((
            "process.command_args".into(),
            json!({ "arrayValue": { "values": context.command.iter().map(|arg| string(arg)).collect::<Vec<_>>() } }),
        ));
    }
    for (key, value) in &target.resource {
        attributes.retain(|(known, _)| known != key);
        attributes.push((key.clone(), string(value)));
    }
    let service = target.service.as_deref().unwrap_or(&context.service);
    attributes.retain(|(known, _)| known != "service.name");
    attributes.push(("service.name".into(), string(service)));
    let attributes: Vec<Value> = attributes
        .into_iter()
        .map(|(key, value)| json!({ "key": key, "value": value }))
        .collect();
    json!({ "attributes": attributes })
}

/// What kind of metric, in OTLP's terms.
#[derive(Clone, Copy)]
enum Kind {
    /// A non-monotonic cumulative sum (the conventions' UpDownCounter).
    UpDown,
    Gauge,
}

/// Name, unit, description and kind of each metric, in the order of
/// [`values`].
const METRICS: [(&str, &str, &str, Kind); 13] = [
    (
        "process.memory.usage",
        "By",
        "Resident memory of the recorded process tree.",
        Kind::UpDown,
    ),
    (
        "process.memory.virtual",
        "By",
        "Virtual memory of the recorded process tree.",
        Kind::UpDown,
    ),
    (
        "process.thread.count",
        "{thread}",
        "Threads of the recorded process tree.",
        Kind::UpDown,
    ),
    (
        "memsample.memory.peak",
        "By",
        "Highest resident memory of the tree so far (the recording's peak_rss_bytes).",
        Kind::Gauge,
    ),
    (
        "memsample.pss.peak",
        "By",
        "Highest proportional set size of the tree sampled (--pss).",
        Kind::Gauge,
    ),
    (
        "memsample.cgroup.memory.usage",
        "By",
        "Memory charged to the command's cgroup (memory.current).",
        Kind::Gauge,
    ),
    (
        "memsample.cgroup.memory.peak",
        "By",
        "Exact peak of the command's whole tree from its cgroup (memory.peak).",
        Kind::Gauge,
    ),
    (
        "memsample.cgroup.memory.limit",
        "By",
        "The memory limit of the attached cgroup (memory.max); absent without a limit.",
        Kind::Gauge,
    ),
    (
        "memsample.cgroup.oom_kills",
        "{process}",
        "Processes of the cgroup killed by the OOM killer (an attached cgroup's since attach).",
        Kind::Gauge,
    ),
    (
        "memsample.process.count",
        "{process}",
        "Processes counted at the last sample.",
        Kind::Gauge,
    ),
    (
        "memsample.samples",
        "{sample}",
        "Samples taken so far.",
        Kind::Gauge,
    ),
    (
        "memsample.duration",
        "s",
        "Seconds since the first sample.",
        Kind::Gauge,
    ),
    (
        "memsample.exit_code",
        "1",
        "The command's exit status at the end (128 + N when killed by signal N).",
        Kind::Gauge,
    ),
];

/// The data point value of each of [`METRICS`]; `None` when not known.
fn values(figures: &Figures) -> [Option<Value>; 13] {
    let sampled = figures.samples > 0;
    let int = |value: u64| json!({ "asInt": int64(value) });
    let known = |known: bool, value: u64| known.then(|| int(value));
    [
        known(sampled, figures.rss_bytes),
        known(sampled, figures.vsz_bytes),
        figures.threads.map(int),
        known(
            sampled || figures.rss_peak_bytes > 0,
            figures.rss_peak_bytes,
        ),
        figures.pss_peak_bytes.map(int),
        figures.cgroup_bytes.map(int),
        figures.cgroup_peak_bytes.map(int),
        figures.cgroup_limit_bytes.map(int),
        figures.oom_kills.map(int),
        known(sampled, figures.processes),
        Some(int(figures.samples)),
        Some(json!({ "asDouble": seconds(figures.duration_seconds) })),
        figures
            .exit_code
            .map(|code| json!({ "asInt": code.to_string() })),
    ]
}

/// The export request of `figures`: one resource, one scope, the metrics
/// known.
pub(crate) fn request(
    figures: &Figures,
    phases: &[PhaseSeries],
    context: &Context,
    target: &Target,
) -> Value {
    let start = context.started_unix_nanos.to_string();
    let time = figures.unix_nanos.to_string();
    let mut metrics: Vec<Value> = METRICS
        .into_iter()
        .zip(values(figures))
        .filter_map(|((name, unit, description, kind), value)| {
            let mut point = value?;
            point["timeUnixNano"] = json!(time);
            let mut metric = json!({ "name": name, "unit": unit, "description": description });
            match kind {
                Kind::UpDown => {
                    point["startTimeUnixNano"] = json!(start);
                    // 2: AGGREGATION_TEMPORALITY_CUMULATIVE.
                    metric["sum"] = json!({
                        "dataPoints": [point],
                        "aggregationTemporality": 2,
                        "isMonotonic": false,
                    });
                }
                Kind::Gauge => metric["gauge"] = json!({ "dataPoints": [point] }),
            }
            Some(metric)
        })
        .collect();
    metrics.extend(phase_metrics(phases, &time));
    json!({
        "resourceMetrics": [{
            "resource": resource(context, target),
            "scopeMetrics": [{
                "scope": { "name": "memsample", "version": env!("CARGO_PKG_VERSION") },
                "metrics": metrics,
            }],
        }],
    })
}

/// The phase table (docs/publishing.md, "Phases"): a gauge with a data
/// point per phase name, attribute `phase`, and whether each is the
/// whole tree's exact peak; nothing without phases.
fn phase_metrics(phases: &[PhaseSeries], time: &str) -> Vec<Value> {
    if phases.is_empty() {
        return Vec::new();
    }
    let points = |value: &dyn Fn(&PhaseSeries) -> u64| -> Vec<Value> {
        phases
            .iter()
            .map(|phase| {
                json!({
                    "attributes": [{ "key": "phase", "value": string(&phase.name) }],
                    "asInt": int64(value(phase)),
                    "timeUnixNano": time,
                })
            })
            .collect()
    };
    vec![
        json!({
            "name": "memsample.phase.peak",
            "unit": "By",
            "description": PHASE_PEAK_HELP,
            "gauge": { "dataPoints": points(&|phase| phase.peak_bytes) },
        }),
        json!({
            "name": "memsample.phase.peak_exact",
            "unit": "1",
            "description": PHASE_EXACT_HELP,
            "gauge": { "dataPoints": points(&|phase| u64::from(phase.exact)) },
        }),
    ]
}

/// Finite and not negative.
fn seconds(value: f64) -> f64 {
    if value.is_finite() && value > 0.0 {
        value
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.get(name).cloned()
    }

    fn context() -> Context {
        Context {
            job: "make".into(),
            host: "node-1".into(),
            pid: Some(4242),
            command: vec!["make".into(), "-j8".into(), "say \"hi\"\nbye".into()],
            service: "make".into(),
            started_unix_nanos: 1_000,
        }
    }

    #[test]
    fn the_endpoint_from_the_option_or_the_environment() {
        let none = env(&[]);
        assert_eq!(
            Target::resolve("http://127.0.0.1:4318", &none)
                .expect("ok")
                .endpoint
                .url,
            "http://127.0.0.1:4318/v1/metrics"
        );
        assert_eq!(
            Target::resolve("http://127.0.0.1:4318/custom", &none)
                .expect("ok")
                .endpoint
                .url,
            "http://127.0.0.1:4318/custom"
        );
        let base = env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318/")]);
        assert_eq!(
            Target::resolve("", &base).expect("ok").endpoint.url,
            "http://127.0.0.1:4318/v1/metrics"
        );
        let both = env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1"),
            (
                "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
                "https://127.0.0.1:2/m",
            ),
        ]);
        assert_eq!(
            Target::resolve("", &both).expect("ok").endpoint.url,
            "https://127.0.0.1:2/m"
        );
        let err = Target::resolve("", &none).expect_err("no URL");
        assert!(err.starts_with("--otlp: no URL"), "{err}");
        let bad = env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318")]);
        assert!(
            Target::resolve("", &bad)
                .expect_err("bad")
                .starts_with("OTEL_EXPORTER_OTLP_ENDPOINT: not a URL")
        );
    }

    #[test]
    fn headers_and_resource_attributes_are_decoded_and_never_shown() {
        let vars = env(&[
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "Authorization=Bearer%20s3cret , x-scope=team%2Ca",
            ),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "deployment.environment=ci,service.name=from-attrs",
            ),
        ]);
        let target = Target::resolve("http://127.0.0.1:4318", &vars).expect("ok");
        assert_eq!(
            target.headers,
            [
                ("Authorization".into(), "Bearer s3cret".into()),
                ("x-scope".into(), "team,a".into())
            ]
        );
        assert_eq!(target.service.as_deref(), Some("from-attrs"));
        let named = env(&[
            ("OTEL_SERVICE_NAME", "svc"),
            ("OTEL_RESOURCE_ATTRIBUTES", "service.name=x"),
        ]);
        assert_eq!(
            Target::resolve("http://h", &named)
                .expect("ok")
                .service
                .as_deref(),
            Some("svc")
        );
        let broken = env(&[("OTEL_EXPORTER_OTLP_HEADERS", "Authorization:Bearer s3cret")]);
        let err = Target::resolve("http://h", &broken).expect_err("broken");
        assert!(!err.contains("s3cret"), "{err}");
        let bad_name = env(&[("OTEL_EXPORTER_OTLP_HEADERS", "a b=s3cret")]);
        let err = Target::resolve("http://h", &bad_name).expect_err("bad name");
        assert!(
            err.contains("not a header name") && !err.contains("s3cret"),
            "{err}"
        );
    }

    fn metric<'a>(request: &'a Value, name: &str) -> Option<&'a Value> {
        request["resourceMetrics"][0]["scopeMetrics"][0]["metrics"]
            .as_array()
            .expect("metrics")
            .iter()
            .find(|metric| metric["name"] == name)
    }

    #[test]
    fn each_phase_is_a_data_point_with_its_name() {
        use crate::record::publish::PhaseTable;
        use crate::stats::PeakOf;
        let mut table = PhaseTable::default();
        let peak = |bytes, exact| PeakOf {
            bytes,
            exact,
            main_exact: exact,
        };
        table.add("load", peak(104_857_600, true));
        table.add("a\"b\\c\u{e9}", peak(u64::MAX, false));
        let figures = Figures {
            samples: 1,
            unix_nanos: 7,
            ..Figures::default()
        };
        let target = Target::resolve("http://h", &env(&[])).expect("ok");
        let request = request(&figures, table.series(), &context(), &target);
        let phase_peak = metric(&request, "memsample.phase.peak").expect("the phase peaks");
        assert_eq!(phase_peak["unit"], "By");
        let points = phase_peak["gauge"]["dataPoints"]
            .as_array()
            .expect("points");
        let got: Vec<(&str, &str)> = points
            .iter()
            .map(|point| {
                assert_eq!(point["attributes"][0]["key"], "phase");
                assert_eq!(point["timeUnixNano"], "7");
                (
                    point["attributes"][0]["value"]["stringValue"]
                        .as_str()
                        .expect("a name"),
                    point["asInt"].as_str().expect("an int"),
                )
            })
            .collect();
        // OTLP's integers are signed: capped.
        assert_eq!(
            got,
            [
                ("load", "104857600"),
                ("a\"b\\c\u{e9}", "9223372036854775807")
            ]
        );
        let exact = metric(&request, "memsample.phase.peak_exact").expect("exactness");
        let flags: Vec<&str> = exact["gauge"]["dataPoints"]
            .as_array()
            .expect("points")
            .iter()
            .filter_map(|point| point["asInt"].as_str())
            .collect();
        assert_eq!(flags, ["1", "0"]);
        // The JSON text escapes the name; it reads back the same.
        let text = request.to_string();
        let back: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(back, request);
        let none = request_without_phases(&figures, &target);
        assert!(metric(&none, "memsample.phase.peak").is_none());
    }

    fn request_without_phases(figures: &Figures, target: &Target) -> Value {
        request(figures, &[], &context(), target)
    }

    #[test]
    fn the_request_has_the_conventions_names_and_the_resource() {
        let figures = Figures {
            samples: 2,
            processes: 1,
            rss_bytes: 1000,
            vsz_bytes: 3000,
            rss_peak_bytes: 2000,
            threads: Some(4),
            duration_seconds: 1.5,
            exit_code: Some(3),
            unix_nanos: 5_000,
            ..Figures::default()
        };
        let target = Target::resolve(
            "http://h",
            &env(&[("OTEL_RESOURCE_ATTRIBUTES", "team=mem,host.name=override")]),
        )
        .expect("ok");
        let request = request(&figures, &[], &context(), &target);
        let usage = metric(&request, "process.memory.usage").expect("usage");
        assert_eq!(usage["unit"], "By");
        assert_eq!(usage["sum"]["isMonotonic"], false);
        assert_eq!(usage["sum"]["aggregationTemporality"], 2);
        assert_eq!(usage["sum"]["dataPoints"][0]["asInt"], "1000");
        assert_eq!(usage["sum"]["dataPoints"][0]["startTimeUnixNano"], "1000");
        assert_eq!(usage["sum"]["dataPoints"][0]["timeUnixNano"], "5000");
        assert_eq!(
            metric(&request, "process.memory.virtual").expect("virtual")["sum"]["dataPoints"][0]["asInt"],
            "3000"
        );
        assert_eq!(
            metric(&request, "process.thread.count").expect("threads")["sum"]["dataPoints"][0]["asInt"],
            "4"
        );
        assert_eq!(
            metric(&request, "memsample.memory.peak").expect("peak")["gauge"]["dataPoints"][0]["asInt"],
            "2000"
        );
        assert_eq!(
            metric(&request, "memsample.duration").expect("duration")["gauge"]["dataPoints"][0]["asDouble"],
            1.5
        );
        assert_eq!(
            metric(&request, "memsample.exit_code").expect("exit")["gauge"]["dataPoints"][0]["asInt"],
            "3"
        );
        assert!(metric(&request, "memsample.cgroup.memory.peak").is_none());
        let attributes = request["resourceMetrics"][0]["resource"]["attributes"]
            .as_array()
            .expect("attributes");
        let attribute = |key: &str| {
            attributes
                .iter()
                .find(|a| a["key"] == key)
                .map(|a| &a["value"])
        };
        assert_eq!(
            attribute("service.name"),
            Some(&json!({ "stringValue": "make" }))
        );
        assert_eq!(
            attribute("host.name"),
            Some(&json!({ "stringValue": "override" }))
        );
        assert_eq!(attribute("team"), Some(&json!({ "stringValue": "mem" })));
        assert_eq!(
            attribute("process.pid"),
            Some(&json!({ "intValue": "4242" }))
        );
        // Quotes and newlines in an argument survive the encoding.
        let text = serde_json::to_string(&request).expect("JSON");
        let back: Value = serde_json::from_str(&text).expect("parses");
        let args = back["resourceMetrics"][0]["resource"]["attributes"]
            .as_array()
            .expect("attributes")
            .iter()
            .find(|a| a["key"] == "process.command_args")
            .map(|a| a["value"]["arrayValue"]["values"][2]["stringValue"].clone());
        assert_eq!(args, Some(json!("say \"hi\"\nbye")));
    }

    /// Attached to a cgroup there is no main process: no `process.pid` (not
    /// a pid 0), no `process.command_args` (not an empty list).
    #[test]
    fn a_cgroup_has_no_process_attributes() {
        let context = Context {
            pid: None,
            command: Vec::new(),
            ..context()
        };
        let target = Target::resolve("http://h", &env(&[])).expect("ok");
        let request = request(&Figures::default(), &[], &context, &target);
        let keys: Vec<&str> = request["resourceMetrics"][0]["resource"]["attributes"]
            .as_array()
            .expect("attributes")
            .iter()
            .filter_map(|a| a["key"].as_str())
            .collect();
        assert_eq!(keys, ["host.name", "service.name"]);
    }

    #[test]
    fn huge_and_zero_values() {
        let figures = Figures {
            samples: 1,
            rss_bytes: u64::MAX,
            rss_peak_bytes: 0,
            cgroup_peak_bytes: Some(u64::MAX),
            oom_kills: Some(0),
            duration_seconds: f64::INFINITY,
            ..Figures::default()
        };
        let target = Target::resolve("http://h", &env(&[])).expect("ok");
        let request = request(&figures, &[], &context(), &target);
        assert_eq!(
            metric(&request, "process.memory.usage").expect("usage")["sum"]["dataPoints"][0]["asInt"],
            i64::MAX.to_string()
        );
        assert_eq!(
            metric(&request, "memsample.cgroup.memory.peak").expect("peak")["gauge"]["dataPoints"]
                [0]["asInt"],
            i64::MAX.to_string()
        );
        assert_eq!(
            metric(&request, "memsample.cgroup.oom_kills").expect("oom")["gauge"]["dataPoints"][0]
                ["asInt"],
            "0"
        );
        assert_eq!(
            metric(&request, "memsample.memory.peak").expect("peak")["gauge"]["dataPoints"][0]["asInt"],
            "0"
        );
        assert_eq!(
            metric(&request, "memsample.duration").expect("duration")["gauge"]["dataPoints"][0]["asDouble"],
            0.0
        );
    }
}
