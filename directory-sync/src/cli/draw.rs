//! Progress display: an indicatif bar (bytes, rows/s, ETA) on a terminal, a plain line every
//! ten seconds otherwise.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::progress::Progress;

/// Stops the display when dropped.
pub struct Drawing {
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Drawing {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

pub fn start(progress: &Progress, show: bool) -> Drawing {
    if !show {
        return Drawing { task: None };
    }
    let progress = progress.clone();
    let terminal = std::io::stderr().is_terminal();
    let task = tokio::spawn(async move {
        if terminal {
            bar(progress).await
        } else {
            plain(progress).await
        }
    });
    Drawing { task: Some(task) }
}

async fn bar(progress: Progress) {
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template(
        "{msg:24} [{bar:30}] {bytes}/{total_bytes} {elapsed_precise} ETA {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    let mut stage = String::new();
    let mut started = Instant::now();
    loop {
        let v = progress.view();
        if v.stage != stage {
            stage = v.stage.clone();
            started = Instant::now();
            bar.reset();
        }
        bar.set_length(v.total_bytes);
        bar.set_position(v.bytes);
        let rate = v.rows as f64 / started.elapsed().as_secs_f64().max(0.001);
        bar.set_message(format!("{} {} rows {:.0}/s", v.stage, v.rows, rate));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn plain(progress: Progress) {
    let mut stage = String::new();
    let mut started = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_secs(10)).await;
        let v = progress.view();
        if v.stage != stage {
            stage = v.stage.clone();
            started = Instant::now();
        }
        let secs = started.elapsed().as_secs_f64().max(0.001);
        let eta = if v.bytes > 0 && v.total_bytes > v.bytes {
            let left = (v.total_bytes - v.bytes) as f64 * secs / v.bytes as f64;
            format!(", ETA {left:.0}s")
        } else {
            String::new()
        };
        eprintln!(
            "{}: {} rows, {:.0} rows/s, {} of {} bytes{eta}",
            v.stage,
            v.rows,
            v.rows as f64 / secs,
            v.bytes,
            v.total_bytes
        );
    }
}
