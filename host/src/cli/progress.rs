//! Progress of running requests on stderr: a bar per request on a terminal, plain lines
//! otherwise (and with `NO_COLOR`): no bar, colour or cursor movement reaches a file or a pipe.

use std::collections::BTreeMap;
use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::broker::RequestView;
use crate::domain::{MachineResult, RequestKind};

/// One request's progress: its machines by result, and by purchase option.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Tally {
    status: String,
    asked: u64,
    done: u64,
    executing: u64,
    failed: u64,
    by_price: BTreeMap<String, u64>,
    by_zone: BTreeMap<String, u64>,
    message: String,
}

impl Tally {
    fn of(view: &RequestView) -> Option<Tally> {
        let request = view.request.as_ref()?;
        let count =
            |r: MachineResult| view.machines.iter().filter(|m| m.result == r).count() as u64;
        let mut by_price = BTreeMap::new();
        let mut by_zone = BTreeMap::new();
        for record in view
            .machines
            .iter()
            .filter(|m| m.result == MachineResult::Succeed)
            .filter_map(|m| m.record.as_ref())
        {
            if let Some(price) = &record.price_type {
                *by_price.entry(price.clone()).or_default() += 1;
            }
            if let Some(zone) = &record.zone {
                *by_zone.entry(zone.clone()).or_default() += 1;
            }
        }
        Some(Tally {
            status: request.status.as_str().to_owned(),
            asked: u64::from(request.requested),
            done: count(MachineResult::Succeed),
            executing: count(MachineResult::Executing),
            failed: count(MachineResult::Fail),
            by_price,
            by_zone,
            message: request.message.clone(),
        })
    }

    /// `running 2/3, pending 1, failed 0 (ondemand 2; us-east-1a 1, us-east-1b 1)`, in the
    /// words of the request's kind.
    fn line(&self, kind: RequestKind) -> String {
        let (done, executing) = match kind {
            RequestKind::Acquire => ("running", "pending"),
            RequestKind::Return => ("returned", "returning"),
        };
        let mut line = format!(
            "{}: {done} {}/{}, {executing} {}, failed {}",
            self.status, self.done, self.asked, self.executing, self.failed
        );
        let counted = |counts: &BTreeMap<String, u64>| {
            counts
                .iter()
                .map(|(what, n)| format!("{what} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let parts: Vec<String> = [counted(&self.by_price), counted(&self.by_zone)]
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect();
        if !parts.is_empty() {
            line.push_str(&format!(" ({})", parts.join("; ")));
        }
        line
    }
}

/// Shows the progress of requests as they are polled.
pub struct Progress {
    bars: Option<MultiProgress>,
    shown: BTreeMap<String, (Option<ProgressBar>, Option<Tally>)>,
}

impl Progress {
    /// Bars when stderr is a terminal and `NO_COLOR` is not set; plain lines otherwise.
    pub fn new() -> Progress {
        let bars = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        Progress {
            bars: bars.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
            shown: BTreeMap::new(),
        }
    }

    /// Shows what `views` say now: a line for each request whose progress changed, or the bars
    /// redrawn.
    pub fn show(&mut self, views: &[RequestView]) {
        for view in views {
            let (Some(request), Some(tally)) = (&view.request, Tally::of(view)) else {
                continue;
            };
            let entry = self
                .shown
                .entry(view.request_id.clone())
                .or_insert((None, None));
            if entry.1.as_ref() == Some(&tally) {
                continue;
            }
            let line = tally.line(request.kind);
            match &self.bars {
                Some(bars) => {
                    let bar = entry.0.get_or_insert_with(|| {
                        let bar = bars.add(ProgressBar::new(tally.asked.max(1)));
                        bar.set_style(
                            ProgressStyle::with_template(
                                "{prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed})",
                            )
                            .unwrap_or_else(|_| ProgressStyle::default_bar())
                            .progress_chars("=> "),
                        );
                        bar.set_prefix(view.request_id.clone());
                        bar
                    });
                    bar.set_position(tally.done);
                    bar.set_message(line);
                    if request.status.is_terminal() {
                        bar.finish();
                    }
                }
                None => eprintln!("{}: {line} - {}", view.request_id, tally.message),
            }
            entry.1 = Some(tally);
        }
    }

    /// Leaves the bars drawn as they are, the terminal below them.
    pub fn finish(self) {
        for bar in self.shown.into_values().filter_map(|(bar, _)| bar) {
            bar.abandon();
        }
    }
}
