//! Human units: durations, token counts and money, written the same way
//! on the TUI, in plain lines, in the status table and in the run report.

/// A duration for people: `850ms`, `1.2s`, `1m 02s`, `1h 05m`.
pub fn duration(ms: u64) -> String {
    if ms < 1_000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        // Tenths, rounded down so "9.99s" never reads as "10.0s" before a minute flips.
        format!("{}.{}s", ms / 1_000, (ms % 1_000) / 100)
    } else if ms < 3_600_000 {
        let secs = ms / 1_000;
        format!("{}m {:02}s", secs / 60, secs % 60)
    } else {
        let mins = ms / 60_000;
        format!("{}h {:02}m", mins / 60, mins % 60)
    }
}

/// A clock for a header: `0:07`, `1:02`, `1:02:03`.
pub fn clock(ms: u64) -> String {
    let secs = ms / 1_000;
    if secs < 3_600 {
        format!("{}:{:02}", secs / 60, secs % 60)
    } else {
        format!("{}:{:02}:{:02}", secs / 3_600, (secs / 60) % 60, secs % 60)
    }
}

/// A token count: `950`, `12.3k`, `1.2M`.
pub fn tokens(n: u64) -> String {
    if n < 1_000 {
        n.to_string()
    } else if n < 1_000_000 {
        format!("{:.1}k", n as f64 / 1_000.0)
    } else {
        format!("{:.1}M", n as f64 / 1_000_000.0)
    }
}

/// US dollars: three decimals under a dollar (agent calls are cheap), two above.
pub fn cost(usd: f64) -> String {
    if usd < 1.0 {
        format!("${usd:.3}")
    } else {
        format!("${usd:.2}")
    }
}

/// A share as a whole percentage: `62%`.
pub fn percent(share: f64) -> String {
    format!("{:.0}%", share * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_pick_the_unit_a_person_would() {
        assert_eq!(duration(850), "850ms");
        assert_eq!(duration(1_250), "1.2s");
        assert_eq!(duration(59_999), "59.9s");
        assert_eq!(duration(62_000), "1m 02s");
        assert_eq!(duration(3_900_000), "1h 05m");
    }

    #[test]
    fn clocks_grow_an_hour_field_only_when_needed() {
        assert_eq!(clock(7_400), "0:07");
        assert_eq!(clock(62_000), "1:02");
        assert_eq!(clock(3_723_000), "1:02:03");
    }

    #[test]
    fn token_counts_are_abbreviated() {
        assert_eq!(tokens(950), "950");
        assert_eq!(tokens(12_345), "12.3k");
        assert_eq!(tokens(1_250_000), "1.2M");
    }

    #[test]
    fn costs_keep_cents_visible_for_cheap_calls() {
        assert_eq!(cost(0.0042), "$0.004");
        assert_eq!(cost(3.456), "$3.46");
        assert_eq!(percent(0.624), "62%");
    }
}
