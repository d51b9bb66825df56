//! A one-line progress indicator on stderr, drawn only when stderr is a
//! terminal (never in pipes, logs or CI output).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

const FRAMES: &[char] = &['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const REDRAW: Duration = Duration::from_millis(80);

/// A spinner with a message, redrawn at most every 80 ms.
pub struct Spinner {
    enabled: bool,
    frame: usize,
    last: Option<Instant>,
    drawn: usize,
}

impl Spinner {
    /// A spinner that draws only if stderr is a terminal.
    pub fn new() -> Self {
        Spinner {
            enabled: std::io::stderr().is_terminal(),
            frame: 0,
            last: None,
            drawn: 0,
        }
    }

    /// Shows `msg` (throttled).
    pub fn tick(&mut self, msg: &str) {
        if !self.enabled || self.last.is_some_and(|t| t.elapsed() < REDRAW) {
            return;
        }
        self.last = Some(Instant::now());
        self.frame = (self.frame + 1) % FRAMES.len();
        let line = format!("{} {msg}", FRAMES[self.frame]);
        let pad = self.drawn.saturating_sub(line.chars().count());
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{line}{}", " ".repeat(pad));
        let _ = err.flush();
        self.drawn = line.chars().count();
    }

    /// Erases the line, leaving the cursor at its start.
    pub fn clear(&mut self) {
        if self.enabled && self.drawn > 0 {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r{}\r", " ".repeat(self.drawn));
            let _ = err.flush();
            self.drawn = 0;
        }
    }
}

impl Default for Spinner {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.clear();
    }
}
