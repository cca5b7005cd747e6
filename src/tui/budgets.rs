//! The API budgets on the header's second line, in the longest form that fits its room: what
//! a narrow terminal drops first is the per-minute figures, then whole sources' budgets (the
//! tightest kept, with how many more there are), then the figures themselves ("gh, gl budgets
//! ok"): the line ends on a whole phrase, never cut in the middle of one.

use std::time::Duration;

use crate::model::world::{RateLimit, RequestRate, SourceHealth};
use crate::tui::ui::width;

/// One source's budgets.
struct Budget<'a> {
    name: &'a str,
    hour: Option<RateLimit>,
    minute: Option<RequestRate>,
    /// The interval, when a budget stretched it.
    every: Option<Duration>,
}

impl<'a> Budget<'a> {
    fn of(src: &'a SourceHealth) -> Option<Budget<'a>> {
        if src.rate_limit.is_none() && src.request_rate.is_none() {
            return None;
        }
        Some(Budget {
            name: &src.name,
            hour: src.rate_limit,
            minute: src.request_rate,
            every: src.interval.filter(|i| i.as_secs() >= 10),
        })
    }

    /// Less than a tenth of the hour's budget is left.
    fn hour_low(&self) -> bool {
        self.hour
            .is_some_and(|rl| rl.limit > 0 && rl.remaining.saturating_mul(10) < rl.limit)
    }

    /// The last minute used more than nine tenths of its allowance.
    fn minute_low(&self) -> bool {
        self.minute
            .is_some_and(|rr| rr.used.saturating_mul(10) > rr.per_minute.saturating_mul(9))
    }

    fn low(&self) -> bool {
        self.hour_low() || self.minute_low()
    }

    /// What is left of its tightest budget, as a share: the least is the worst source.
    fn left(&self) -> f64 {
        let hour = self
            .hour
            .filter(|rl| rl.limit > 0)
            .map_or(1.0, |rl| rl.remaining as f64 / rl.limit as f64);
        // As [`Budget::minute_low`] has it: a used allowance of none is none left.
        let minute = self.minute.map_or(1.0, |rr| match rr.per_minute {
            0 if rr.used > 0 => 0.0,
            0 => 1.0,
            n => 1.0 - f64::from(rr.used) / f64::from(n),
        });
        hour.min(minute)
    }

    fn hour_text(rl: RateLimit) -> String {
        format!("{}/{} left", rl.remaining, rl.limit)
    }

    fn minute_text(rr: RequestRate) -> String {
        format!("{}/{} a min", rr.used, rr.per_minute)
    }

    /// Every figure: "gh 4312/5000 left, 212/600 a min every 12s".
    fn full(&self) -> String {
        let parts: Vec<String> = self
            .hour
            .map(Budget::hour_text)
            .into_iter()
            .chain(self.minute.map(Budget::minute_text))
            .collect();
        // A stretched interval is said: the budget is why the data comes slower.
        let every = self
            .every
            .map(|i| format!(" every {}", crate::model::duration::human(i)))
            .unwrap_or_default();
        format!("{} {}{every}", self.name, parts.join(", "))
    }

    /// One figure: the hour's, unless the minute's is the one running low (or the only one).
    fn short(&self) -> String {
        let figure = match (self.hour, self.minute) {
            (Some(_), Some(rr)) if self.minute_low() && !self.hour_low() => Budget::minute_text(rr),
            (Some(rl), _) => Budget::hour_text(rl),
            (None, Some(rr)) => Budget::minute_text(rr),
            (None, None) => String::new(),
        };
        format!("{} {figure}", self.name)
    }
}

/// The words of a source's budgets and whether they run low, as the header draws them.
pub type Piece = (String, bool);

/// The budgets of `sources` in the longest form whose pieces, each drawn after " · ", take at
/// most `room` columns: every figure; the hour's figure of each (the minute's where that runs
/// low); the tightest source's alone and how many more; the sources' names and whether any
/// runs low; nothing.
pub fn budgets<'a>(sources: impl Iterator<Item = &'a SourceHealth>, room: usize) -> Vec<Piece> {
    let all: Vec<Budget> = sources.filter_map(Budget::of).collect();
    if all.is_empty() {
        return Vec::new();
    }
    let fits = |pieces: &[Piece]| pieces.iter().map(|(t, _)| 3 + width(t)).sum::<usize>() <= room;
    let each = |text: fn(&Budget<'a>) -> String| -> Vec<Piece> {
        all.iter().map(|b| (text(b), b.low())).collect()
    };
    let full = each(|b| b.full());
    if fits(&full) {
        return full;
    }
    let short = each(|b| b.short());
    if fits(&short) {
        return short;
    }
    let worst = all
        .iter()
        .min_by(|a, b| a.left().total_cmp(&b.left()))
        .expect("not empty");
    if all.len() > 1 {
        let one = vec![(
            format!("{}, +{} more", worst.short(), all.len() - 1),
            worst.low(),
        )];
        if fits(&one) {
            return one;
        }
    }
    let low: Vec<&str> = all.iter().filter(|b| b.low()).map(|b| b.name).collect();
    let names = if low.is_empty() {
        let names: Vec<&str> = all.iter().map(|b| b.name).collect();
        let word = if names.len() > 1 { "budgets" } else { "budget" };
        (format!("{} {word} ok", names.join(", ")), false)
    } else {
        let word = if low.len() > 1 { "budgets" } else { "budget" };
        (format!("{} {word} low", low.join(", ")), true)
    };
    let names = vec![names];
    if fits(&names) { names } else { Vec::new() }
}

#[cfg(test)]
mod tests;
