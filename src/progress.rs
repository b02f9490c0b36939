//! One progress reporter for every long step (training epochs, the baselines' fits, the
//! learning-rate sweep, the reproduction's steps, sections 6.1 and 6.2): an indicatif bar when
//! stderr is a terminal, plain lines when it is not (CI, notebooks, logs), where a redrawn bar
//! would only be noise.

use std::io::IsTerminal;

/// Whether progress is drawn as bars: stderr is a terminal.
pub fn interactive() -> bool {
    std::io::stderr().is_terminal()
}

/// A line of progress, outside any bar (on stderr, so that the standard output keeps only a
/// command's results).
pub fn line(message: impl std::fmt::Display) {
    eprintln!("{message}");
}

/// Progress through `len` units of one task: a bar on a terminal, nothing but the task's
/// [`Progress::line`]s otherwise.
#[derive(Debug)]
pub struct Progress {
    bar: indicatif::ProgressBar,
}

impl Progress {
    /// A reporter of `len` units labelled `label` (e.g. `epoch 3/25`, `logreg`).
    pub fn new(len: u64, label: impl Into<String>) -> Progress {
        let bar = if interactive() {
            indicatif::ProgressBar::new(len)
        } else {
            indicatif::ProgressBar::hidden()
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{prefix:>14} [{bar:30}] {pos}/{len} {msg} ({elapsed}, eta {eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix(label.into());
        Progress { bar }
    }

    /// Whether this reporter writes plain lines only (stderr is not a terminal): callers then
    /// log a line now and then where a terminal would show the bar move.
    pub fn is_plain(&self) -> bool {
        self.bar.is_hidden()
    }

    /// `n` more units done.
    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
    }

    /// `pos` units done.
    pub fn set_position(&self, pos: u64) {
        self.bar.set_position(pos);
    }

    /// The bar's message (the latest loss, gradient, ...); not shown as plain lines.
    pub fn set_message(&self, message: impl Into<String>) {
        self.bar.set_message(message.into());
    }

    /// A line of progress: above the bar on a terminal, a plain line otherwise.
    pub fn line(&self, message: impl std::fmt::Display) {
        if self.is_plain() {
            line(message);
        } else {
            self.bar.println(message.to_string());
        }
    }

    /// Done: the bar is cleared.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// Peak resident memory of this process so far, in MB (`VmHWM` of `/proc/self/status`; `None`
/// where that file does not exist).
pub fn peak_memory_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
