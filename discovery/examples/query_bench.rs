//! Discovery benchmark: index 100,000 synthetic agents from registry events, attach their
//! signed manifests, then time 1,000 varied queries.
//!
//! `cargo run --release -p agent-discovery --example query_bench [-- AGENTS QUERIES]`

use std::hint::black_box;
use std::time::{Duration, Instant};

use discovery::query::{discover_query, DiscoverQuery, Facets};
use discovery::synth::{SynthAgent, CATEGORIES, REGIONS, WORDS};
use discovery::{Index, RegistryEvent};

const NOW: u64 = 1_800_000_000;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let agents_n: u64 = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(100_000);
    let queries_n: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(1_000);

    let t = Instant::now();
    let agents = (0..agents_n)
        .map(|n| SynthAgent::new(n, NOW))
        .collect::<Result<Vec<_>, _>>()?;
    println!(
        "generated and signed {agents_n} manifests in {:.2} s",
        t.elapsed().as_secs_f64()
    );

    // History: every agent registers, every agent heartbeats once, 2% are jailed, 1% exit.
    let mut events = Vec::new();
    for (i, a) in agents.iter().enumerate() {
        events.push(a.registered(NOW + 600, i as u64 / 100, i as u64 % 100)?);
    }
    let base = agents_n / 100 + 1;
    for (i, a) in agents.iter().enumerate() {
        let (block, log_index, agent_id) =
            (base + i as u64 / 100, i as u64 % 100 * 2, a.agent_id());
        events.push(RegistryEvent::Heartbeat {
            agent_id,
            expires_at: NOW + 3600,
            block,
            log_index,
        });
        if i % 50 == 7 {
            let reason = "benchmark".to_string();
            events.push(RegistryEvent::Jailed {
                agent_id,
                reason,
                block,
                log_index: log_index + 1,
            });
        } else if i % 100 == 13 {
            events.push(RegistryEvent::Exited {
                agent_id,
                block,
                log_index: log_index + 1,
            });
        }
    }
    let t = Instant::now();
    let mut index = Index::rebuild(&events).map_err(|(i, e)| format!("event {i}: {e}"))?;
    let rebuild = t.elapsed();
    println!(
        "rebuilt index from {} events in {:.1} ms ({:.0} events/s)",
        events.len(),
        ms(rebuild),
        events.len() as f64 / rebuild.as_secs_f64()
    );

    let t = Instant::now();
    let mut attached = 0;
    for a in &agents {
        if index
            .attach_manifest(&a.agent_id(), a.manifest.clone())
            .is_ok()
        {
            attached += 1;
        }
    }
    let attach = t.elapsed();
    println!(
        "verified and attached {attached} manifests in {:.2} s ({:.0}/s)",
        attach.as_secs_f64(),
        attached as f64 / attach.as_secs_f64()
    );

    // Deterministic pseudo-random query mix.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |m: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % m as u64) as usize
    };
    let kinds = ["category", "q", "q+facets", "tool_id"];
    let mut queries = Vec::with_capacity(queries_n);
    for i in 0..queries_n {
        let kind = i % kinds.len();
        let query = match kind {
            0 => DiscoverQuery {
                category: Some(CATEGORIES[next(CATEGORIES.len())].into()),
                ..Default::default()
            },
            1 => DiscoverQuery {
                q: Some(format!(
                    "{} {}",
                    WORDS[next(WORDS.len())],
                    WORDS[next(WORDS.len())]
                )),
                ..Default::default()
            },
            2 => DiscoverQuery {
                q: Some(WORDS[next(WORDS.len())].into()),
                facets: Facets {
                    region: Some(REGIONS[next(REGIONS.len())].into()),
                    ..Default::default()
                },
                category: (next(2) == 0).then(|| CATEGORIES[next(CATEGORIES.len())].into()),
                ..Default::default()
            },
            _ => {
                let tool = &agents[next(agents.len())].manifest.manifest.tools[0].id;
                DiscoverQuery {
                    tool_id: Some(tool.clone()),
                    ..Default::default()
                }
            }
        };
        queries.push((kind, query));
    }

    // Three passes over the same queries: the first pass is the single-shot latency; the
    // per-query minimum over the passes filters out preemption on a loaded machine.
    let mut single: Vec<Vec<Duration>> = vec![Vec::new(); kinds.len()];
    let mut best: Vec<Vec<Duration>> = vec![Vec::new(); kinds.len()];
    let mut returned = 0usize;
    for (kind, query) in &queries {
        let mut min = Duration::MAX;
        for pass in 0..3 {
            let t = Instant::now();
            let response = black_box(discover_query(&index, query, NOW)?);
            let d = t.elapsed();
            if pass == 0 {
                single[*kind].push(d);
                returned += response.results.len();
            }
            min = min.min(d);
        }
        best[*kind].push(min);
    }
    // Unfiltered ranking of everything, for reference.
    let t = Instant::now();
    let everything = black_box(discover_query(&index, &DiscoverQuery::default(), NOW)?);
    let scan = t.elapsed();

    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "{queries_n} queries over {} agents ({returned} results returned; load average {})",
        index.len(),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut met = true;
    for (label, timings) in [("single run", single), ("min of 3 runs", best)] {
        println!("{label}:");
        let mut all = Vec::new();
        for (kind, mut ts) in kinds.iter().zip(timings) {
            ts.sort();
            if ts.is_empty() {
                continue;
            }
            println!(
                "  {kind:<9} n={:<4} p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
                ts.len(),
                ms(percentile(&ts, 0.50)),
                ms(percentile(&ts, 0.99)),
                ms(percentile(&ts, 1.0))
            );
            all.extend(ts);
        }
        all.sort();
        let p99 = percentile(&all, 0.99);
        if label == "single run" {
            met = p99 <= Duration::from_millis(5);
        }
        println!(
            "  all       n={:<4} p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
            all.len(),
            ms(percentile(&all, 0.50)),
            ms(p99),
            ms(percentile(&all, 1.0))
        );
    }
    println!(
        "target single-run p99 <= 5 ms: {}",
        if met { "met" } else { "MISSED" }
    );
    println!(
        "no filter (all {} active agents ranked): {:.3} ms",
        everything.total,
        ms(scan)
    );
    Ok(())
}
