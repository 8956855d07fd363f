//! Printing that the commands and the demo share: a match's results as a
//! table, and a time as the CLI shows it.
//!
//! Input: values the daemon's local API returned ([`MatchReply`]) or
//! stored times. Output: lines on stdout, or the formatted string. It
//! imports nothing from the rest of the CLI, so `demo` (which `cli`
//! imports to dispatch `liaison demo`) can use it without an import circle.

use crate::daemon::api::matching::MatchReply;

/// A time in milliseconds since the epoch, as the CLI prints it (RFC 3339).
pub(super) fn time(ms: u64) -> String {
    liaison_protocol::matching::format_ms(ms)
}

/// Prints a match's results as a table.
pub(super) fn print_match(reply: &MatchReply) {
    for (peer, n) in &reply.asked {
        println!("asked {peer}: {n} selectors, blinded");
    }
    for s in &reply.skipped {
        println!("not asked: {s}");
    }
    let width = reply
        .results
        .iter()
        .map(|r| r.label.chars().count())
        .max()
        .unwrap_or(10)
        .min(48);
    for r in &reply.results {
        let label: String = r.label.chars().take(width).collect();
        if r.hits.is_empty() {
            let none = if reply.complete {
                "no hit"
            } else {
                "no hit among the answers that came (see the problems below)"
            };
            println!("  {label:width$}  {none}");
            continue;
        }
        for (i, h) in r.hits.iter().enumerate() {
            let kinds: Vec<&str> = h.kinds.iter().map(|k| k.as_str()).collect();
            let strength = h
                .strength
                .as_deref()
                .map(|s| format!(" [{s}]"))
                .unwrap_or_default();
            let shown = if i == 0 { label.as_str() } else { "" };
            println!(
                "  {shown:width$}  HIT at {} on {}{strength}  (hit {})",
                h.peer,
                kinds.join(", "),
                h.hit
            );
        }
    }
    for b in &reply.bad {
        println!("skipped {b}");
    }
    for w in &reply.warnings {
        println!("warning {w}");
    }
    for p in &reply.problems {
        println!("problem: {p}");
    }
    let hits = reply.results.iter().filter(|r| !r.hits.is_empty()).count();
    println!(
        "{} entities, {hits} with a hit, in {:.2} s{}",
        reply.results.len(),
        reply.seconds,
        if reply.complete { "" } else { " (incomplete)" }
    );
}
