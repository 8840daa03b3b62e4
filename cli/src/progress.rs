//! Progress of the long commands (`train`, `eval`, `check`, `bench`) wherever the
//! output goes. On a terminal it is indicatif's bar; written to a file or a
//! pipe indicatif draws nothing, so a line goes to stderr instead, at most
//! every [`plain_every`], saying how far the work is, how fast it goes and
//! how long is left: a log of a long run shows it is alive. The first unit
//! of work can take long on a fresh machine (the first training step
//! builds the adapter's kernels: a minute on lavapipe with a cold shader
//! cache), so until it is done a plain line still comes at most every
//! [`plain_every`] (at least 5 s), and the rate and time left count from
//! the first unit done.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
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
    /// A plain spinner's lines while it runs.
    waiting: Option<Waiting>,
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
    /// When the first units were done, and how many: the rate counts from
    /// there.
    first: Option<(Instant, u64)>,
    /// Lines while no unit is done; dropped with the first.
    waiting: Option<Waiting>,
}

/// A thread printing `line(seconds waited)` every `every` (at least 5 s),
/// until dropped.
struct Waiting {
    done: Arc<AtomicBool>,
}

impl Waiting {
    fn start(every: Duration, line: impl Fn(f64) -> String + Send + 'static) -> Self {
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        let every = every.max(Duration::from_secs(5));
        std::thread::spawn(move || {
            let started = Instant::now();
            let mut next = every;
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                let waited = started.elapsed();
                if waited >= next && !flag.load(Ordering::Relaxed) {
                    eprintln!("{}", line(waited.as_secs_f64()));
                    next += every;
                }
            }
        });
        Waiting { done }
    }

    /// "`label` 0/`len` `unit`" while a bar waits for its first unit.
    fn first_unit(label: String, len: u64, unit: &'static str, every: Duration) -> Self {
        Self::start(every, move |s| {
            format!(
                "{label} 0/{len} {unit}  (waiting for the first, {s:.0} s in; \
                 on a fresh machine the first builds the adapter's kernels)"
            )
        })
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
    }
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
            return Progress {
                bar,
                plain: None,
                waiting: None,
            };
        }
        let now = Instant::now();
        let every = plain_every().unwrap_or(Duration::from_secs(15));
        Progress {
            bar: ProgressBar::hidden(),
            waiting: None,
            plain: Some(Plain {
                waiting: Some(Waiting::first_unit(label.clone(), len, unit, every)),
                label,
                unit,
                message: String::new(),
                len,
                pos: 0,
                started: now,
                printed: now,
                every,
                first: None,
            }),
        }
    }

    /// A task without a count: a spinner on a terminal; elsewhere one
    /// line, then one every [`plain_every`] (at least 5 s) with the time
    /// it has run, until finished.
    pub fn spinner(message: String) -> Self {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new_spinner().with_message(message);
            bar.enable_steady_tick(Duration::from_millis(200));
            return Progress {
                bar,
                plain: None,
                waiting: None,
            };
        }
        eprintln!("{message} ...");
        let every = plain_every().unwrap_or(Duration::from_secs(15));
        Progress {
            waiting: Some(Waiting::start(every, move |s| {
                format!("{message} ... {s:.0} s in")
            })),
            ..Self::hidden()
        }
    }

    /// Nothing shown (a rank that is not the primary one).
    pub fn hidden() -> Self {
        Progress {
            bar: ProgressBar::hidden(),
            plain: None,
            waiting: None,
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

    /// A line above the bar (or among the plain lines).
    pub fn note(&self, line: &str) {
        match &self.plain {
            Some(_) => eprintln!("{line}"),
            None => self.bar.println(line),
        }
    }

    pub fn finish_and_clear(&mut self) {
        self.waiting = None;
        self.bar.finish_and_clear();
    }
}

impl Plain {
    fn maybe_print(&mut self) {
        if let Some(line) = self.line(Instant::now()) {
            eprintln!("{line}");
        }
    }

    /// The line to print at `now`, if one is due.
    fn line(&mut self, now: Instant) -> Option<String> {
        if self.first.is_none() && self.pos > 0 {
            self.first = Some((now, self.pos));
            self.waiting = None;
        }
        if now - self.printed < self.every || self.pos >= self.len {
            return None;
        }
        self.printed = now;
        let seconds = (now - self.started).as_secs_f64();
        let message = match self.message.as_str() {
            "" => String::new(),
            m => format!("{m}  "),
        };
        let (label, pos, len, unit) = (&self.label, self.pos, self.len, self.unit);
        let rate = match self.first {
            Some((at, done)) if pos > done && now > at => {
                (pos - done) as f64 / (now - at).as_secs_f64()
            }
            // Only the first units are done, and they took long: no rate
            // to tell yet.
            Some((at, _)) if at - self.started >= Duration::from_secs(5) => {
                return Some(format!(
                    "{label} {pos}/{len} {unit}  {message}({seconds:.0} s in)"
                ));
            }
            _ => pos as f64 / seconds.max(1e-9),
        };
        let eta = len.saturating_sub(pos) as f64 / rate.max(1e-9);
        Some(format!(
            "{label} {pos}/{len} {unit}  {message}({rate:.1} {unit}/s, {seconds:.0} s in, eta {eta:.0} s)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(started: Instant) -> Plain {
        Plain {
            label: "epoch 1:".into(),
            unit: "images",
            message: String::new(),
            len: 1000,
            pos: 0,
            started,
            printed: started,
            every: Duration::from_secs(15),
            first: None,
            waiting: None,
        }
    }

    /// A first unit that took 47 s (kernels being built) gives no rate;
    /// the next line's rate and time left count from it: 100 images in
    /// the 20 s after it, 5 images/s, not 100 / 67 s.
    #[test]
    fn the_rate_counts_from_the_first_unit_done() {
        let t0 = Instant::now();
        let mut p = plain(t0);
        p.pos = 100;
        let first = p.line(t0 + Duration::from_secs(47)).unwrap();
        assert_eq!(first, "epoch 1: 100/1000 images  (47 s in)");
        p.pos = 200;
        assert_eq!(
            p.line(t0 + Duration::from_secs(50)),
            None,
            "every 15 s only"
        );
        let next = p.line(t0 + Duration::from_secs(67)).unwrap();
        assert!(
            next.contains("(5.0 images/s, 67 s in, eta 160 s)"),
            "{next}"
        );
    }

    /// A fast first unit (recorded as it is done, a line only every
    /// 15 s): the rate from there too, and a line with a rate at once
    /// where the first unit alone is due (`WGCONV_PROGRESS_EVERY=0`).
    #[test]
    fn a_fast_first_unit_gives_a_rate_at_once() {
        let t0 = Instant::now();
        let mut p = plain(t0);
        p.pos = 100;
        assert_eq!(p.line(t0 + Duration::from_secs(1)), None);
        p.pos = 400;
        let line = p.line(t0 + Duration::from_secs(21)).unwrap();
        assert!(
            line.contains("(15.0 images/s, 21 s in, eta 40 s)"),
            "{line}"
        );
        let mut q = plain(t0);
        q.every = Duration::ZERO;
        q.pos = 100;
        let line = q.line(t0 + Duration::from_secs(2)).unwrap();
        assert!(line.contains("(50.0 images/s, 2 s in, eta 18 s)"), "{line}");
    }
}
