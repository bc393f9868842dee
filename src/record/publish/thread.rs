//! The publishing threads: one per destination, so that a stalled endpoint
//! holds up neither the sampling nor the others (docs/publishing.md, "Never
//! in the job's way").

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use crate::console::Warner;
use crate::units::format_duration;

use super::http::{Client, Endpoint, Method, Request};
use super::{Context, Feed, Figures, PhaseTable, Settings, otlp, prometheus, pushgateway};

/// Where one thread publishes.
enum Outlet {
    Textfile {
        path: PathBuf,
        /// `job` and `--label`s, on every sample of the file.
        labels: Vec<(String, String)>,
    },
    Pushgateway {
        /// The base URL with the grouping key's path.
        endpoint: Endpoint,
    },
    Otlp {
        target: otlp::Target,
    },
}

impl Outlet {
    /// How messages name it (never with credentials).
    fn name(&self) -> String {
        match self {
            Outlet::Textfile { path, .. } => path.display().to_string(),
            Outlet::Pushgateway { endpoint } => endpoint.url.clone(),
            Outlet::Otlp { target } => target.endpoint.url.clone(),
        }
    }

    fn client(&self, timeout: Duration) -> Option<Client> {
        match self {
            Outlet::Textfile { .. } => None,
            Outlet::Pushgateway { endpoint } => Some(Client::new(timeout, endpoint.https)),
            Outlet::Otlp { target } => Some(Client::new(timeout, target.endpoint.https)),
        }
    }

    /// Publishes the figures once; the error is the reason.
    fn publish(
        &self,
        context: &Context,
        (figures, phases): (&Figures, &PhaseTable),
        client: Option<&Client>,
    ) -> Result<(), String> {
        let phases = phases.series();
        match (self, client) {
            (Outlet::Textfile { path, labels }, _) => {
                let text = prometheus::exposition(figures, phases, context, labels);
                super::textfile::write(path, &text)
                    .map_err(|err| crate::record::error::reason(&err))
            }
            (Outlet::Pushgateway { endpoint }, Some(client)) => {
                let text = prometheus::exposition(figures, phases, context, &[]);
                client.send(&Request {
                    method: Method::Put,
                    endpoint,
                    content_type: prometheus::CONTENT_TYPE,
                    headers: &[],
                    body: text.as_bytes(),
                })
            }
            (Outlet::Otlp { target }, Some(client)) => {
                let body = otlp::request(figures, phases, context, target).to_string();
                client.send(&Request {
                    method: Method::Post,
                    endpoint: &target.endpoint,
                    content_type: otlp::CONTENT_TYPE,
                    headers: &target.headers,
                    body: body.as_bytes(),
                })
            }
            (_, None) => Ok(()),
        }
    }
}

/// The destinations of the settings.
fn outlets(settings: &Settings, context: &Context) -> Vec<Outlet> {
    let mut outlets = Vec::new();
    if let Some(path) = &settings.textfile {
        let mut labels = vec![("job".to_string(), context.job.clone())];
        labels.extend(settings.labels.iter().cloned());
        outlets.push(Outlet::Textfile {
            path: path.clone(),
            labels,
        });
    }
    if let Some(base) = &settings.push {
        // `instance` is the host unless a --label gives it.
        let mut key = Vec::with_capacity(settings.labels.len() + 1);
        if !settings.labels.iter().any(|(name, _)| name == "instance") {
            key.push(("instance".to_string(), context.host.clone()));
        }
        key.extend(settings.labels.iter().cloned());
        let url = pushgateway::group_url(&base.url, &context.job, &key);
        outlets.push(Outlet::Pushgateway {
            endpoint: base.with_url(url),
        });
    }
    if let Some(target) = &settings.otlp {
        outlets.push(Outlet::Otlp {
            target: target.clone(),
        });
    }
    outlets
}

/// A failure of one destination, said once whatever happens after.
#[derive(Clone)]
struct Warning {
    said: Arc<AtomicBool>,
    warner: Warner,
    what: String,
}

impl Warning {
    fn once(&self, why: &str) {
        if !self.said.swap(true, Ordering::SeqCst) {
            self.warner.note(format_args!(
                "warning: cannot publish to {}: {why} (memsample goes on; this is said once)",
                self.what
            ));
        }
    }
}

/// The final figures and phase table, shared by the threads.
type Finals = Arc<(Figures, PhaseTable)>;

/// One destination's thread, as the end of the recording sees it.
struct Running {
    finals: Sender<Finals>,
    warning: Warning,
}

/// The publishing threads of a recording.
pub(crate) struct Publisher {
    running: Vec<Running>,
    done: Receiver<usize>,
    timeout: Duration,
}

/// Starts a thread per destination. A thread that cannot start is a
/// warning; the recording goes on.
pub(crate) fn start(
    settings: &Settings,
    context: Context,
    feed: &Feed,
    warner: &Warner,
) -> Publisher {
    let context = Arc::new(context);
    let (done_tx, done) = mpsc::channel();
    let mut running = Vec::new();
    for outlet in outlets(settings, &context) {
        let warning = Warning {
            said: Arc::new(AtomicBool::new(false)),
            warner: warner.clone(),
            what: outlet.name(),
        };
        let (finals, receive) = mpsc::channel();
        let job = Job {
            outlet,
            context: Arc::clone(&context),
            feed: feed.clone(),
            every: settings.every,
            timeout: settings.timeout,
            finals: receive,
            done: done_tx.clone(),
            index: running.len(),
            warning: warning.clone(),
        };
        match std::thread::Builder::new()
            .name("publish".into())
            .spawn(move || job.run())
        {
            Ok(_) => running.push(Running { finals, warning }),
            Err(err) => warning.once(&format!(
                "cannot start a thread: {}",
                crate::record::error::reason(&err)
            )),
        }
    }
    Publisher {
        running,
        done,
        timeout: settings.timeout,
    }
}

impl Publisher {
    /// Publishes the final figures everywhere, waiting at most
    /// `--push-timeout` in all; a destination that has not finished by then
    /// is given up (its warning says so, unless it already warned).
    pub(crate) fn finish(self, last: Figures, phases: PhaseTable) {
        let deadline = Instant::now() + self.timeout;
        let mut finished = vec![false; self.running.len()];
        let last: Finals = Arc::new((last, phases));
        for running in &self.running {
            let _ = running.finals.send(Arc::clone(&last));
        }
        while finished.iter().any(|done| !done) {
            match self
                .done
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(index) => finished[index] = true,
                Err(_) => break,
            }
        }
        for (running, done) in self.running.iter().zip(finished) {
            if !done {
                running.warning.once(&format!(
                    "the final figures were not through within --push-timeout {}",
                    format_duration(self.timeout)
                ));
            }
        }
    }
}

/// What one thread does.
struct Job {
    outlet: Outlet,
    context: Arc<Context>,
    feed: Feed,
    every: Duration,
    timeout: Duration,
    finals: Receiver<Finals>,
    done: Sender<usize>,
    index: usize,
    warning: Warning,
}

impl Job {
    /// Every `every`, the figures as they are (once there is a sample);
    /// then the final ones, and word that they are through.
    fn run(self) {
        let client = self.outlet.client(self.timeout);
        loop {
            match self.finals.recv_timeout(self.every) {
                Ok(last) => {
                    self.publish((&last.0, &last.1), client.as_ref());
                    let _ = self.done.send(self.index);
                    return;
                }
                Err(RecvTimeoutError::Timeout) => {
                    let now = self.feed.get();
                    if now.samples > 0 {
                        self.publish((&now, &self.feed.phases()), client.as_ref());
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    fn publish(&self, figures: (&Figures, &PhaseTable), client: Option<&Client>) {
        if let Err(why) = self.outlet.publish(&self.context, figures, client) {
            self.warning.once(&why);
        }
    }
}
