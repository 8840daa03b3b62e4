//! Progress of the long commands (`train`, `eval`, `check`, `bench`) wherever the
//! output goes. On a terminal it is indicatif's bar; written to a file or a
//! pipe indicatif draws nothing, so a line goes to stderr instead, at most
//! every [`plain_every`], saying how far the work is, how fast it goes and
//! how long is left: a log of a long run shows it is alive.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// How often a plain progress line is printed, at most: 15 s, or
/// `WGCONV_PROGRESS_EVERY` seconds; a value that is not a number of
/// seconds ≥ 0 is an error naming the variable (checked by `main` before
/// any work, so [`Progress`] can take the default).
pub fn plain_every() -> Result<Duration, String> {
    let Ok(text) = std::env::var("WGCONV_PROGRESS_EVERY") else {
        return Ok(Duration::from_secs(15));
    };
    text.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("WGCONV_PROGRESS_EVERY={text:?} is not a number of seconds >= 0"))
}

/// A bar of `len` units, or a plain line every [`plain_every`].
pub struct Progress {
    bar: ProgressBar,
    plain: Option<Plain>,
}

struct Plain {
    label: String,
    unit: &'static str,
    message: String,
    len: u64,
    pos: u64,
    started: Instant,
    printed: Instant,
    every: Duration,
}

impl Progress {
    /// `len` units of work, shown with indicatif's `template` on a
    /// terminal, and as "`label` pos/len `unit`" lines elsewhere.
    pub fn new(len: u64, template: &str, label: String, unit: &'static str) -> Self {
        if std::io::stderr().is_terminal() {
            let style = ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            let bar = ProgressBar::new(len).with_style(style);
            bar.set_prefix(label);
            return Progress { bar, plain: None };
        }
        let now = Instant::now();
        Progress {
            bar: ProgressBar::hidden(),
            plain: Some(Plain {
                label,
                unit,
                message: String::new(),
                len,
                pos: 0,
                started: now,
                printed: now,
                every: plain_every().unwrap_or(Duration::from_secs(15)),
            }),
        }
    }

    /// A task without a count: a spinner on a terminal, one line
    /// elsewhere.
    pub fn spinner(message: String) -> Self {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new_spinner().with_message(message);
            bar.enable_steady_tick(Duration::from_millis(200));
            return Progress { bar, plain: None };
        }
        eprintln!("{message} ...");
        Self::hidden()
    }

    /// Nothing shown (a rank that is not the primary one).
    pub fn hidden() -> Self {
        Progress {
            bar: ProgressBar::hidden(),
            plain: None,
        }
    }

    pub fn set_message(&mut self, message: String) {
        match &mut self.plain {
            Some(p) => p.message = message,
            None => self.bar.set_message(message),
        }
    }

    pub fn inc(&mut self, units: u64) {
        match &mut self.plain {
            Some(p) => {
                p.pos += units;
                p.maybe_print();
            }
            None => self.bar.inc(units),
        }
    }

    pub fn set_position(&mut self, pos: u64) {
        match &mut self.plain {
            Some(p) => {
                p.pos = pos;
                p.maybe_print();
            }
            None => self.bar.set_position(pos),
        }
    }

    pub fn finish_and_clear(&self) {
        self.bar.finish_and_clear();
    }
}

impl Plain {
    fn maybe_print(&mut self) {
        let now = Instant::now();
        if now - self.printed < self.every || self.pos >= self.len {
            return;
        }
        self.printed = now;
        let seconds = (now - self.started).as_secs_f64();
        let rate = self.pos as f64 / seconds.max(1e-9);
        let eta = self.len.saturating_sub(self.pos) as f64 / rate.max(1e-9);
        let message = match self.message.as_str() {
            "" => String::new(),
            m => format!("{m}  "),
        };
        eprintln!(
            "{} {}/{} {}  {message}({:.1} {}/s, {:.0} s in, eta {:.0} s)",
            self.label, self.pos, self.len, self.unit, rate, self.unit, seconds, eta
        );
    }
}
