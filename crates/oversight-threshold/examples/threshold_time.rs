//! Times the threshold test on data simulated from the model: `cargo run -p oversight-threshold --example
//! threshold_time -- DISTRICTS [SEED]` (BENCHMARKS.md: 100 districts × 3 races, 4 chains).

use oversight_threshold::simulate::{TrueRace, simulate};
use oversight_threshold::{Settings, ThresholdError, fit};

fn main() {
    let mut args = std::env::args().skip(1);
    let districts: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100);
    let seed: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let races = [
        TrueRace { name: "white", phi: -1.0, delta: 0.6, t: 1.6 },
        TrueRace { name: "black", phi: -1.0, delta: 0.6, t: 1.2 },
        TrueRace { name: "hispanic", phi: -1.1, delta: 0.55, t: 1.3 },
    ];
    let sim = simulate(&races, districts, &[400, 900, 250, 1500, 600], 0.2, seed);
    let started = std::time::Instant::now();
    let mut settings = Settings::default();
    if let Some(v) = std::env::var("DRAWS").ok().and_then(|v| v.parse().ok()) {
        settings.draws = v;
    }
    if let Some(v) = std::env::var("TARGET_ACCEPT").ok().and_then(|v| v.parse().ok()) {
        settings.target_accept = v;
    }
    match fit(&sim.data, 0, &settings) {
        Ok(f) => {
            println!(
                "{districts} districts × 3 races, 4 chains × ({} warm-up + {} draws): {:.1} s in all, {:.1} s sampling",
                settings.tune,
                f.diagnostics.draws,
                started.elapsed().as_secs_f64(),
                f.diagnostics.seconds
            );
            for (r, t) in f.races.iter().zip(&sim.thresholds) {
                println!(
                    "{:<9} true {:.4}  posterior {:.4} ({:.4} – {:.4})",
                    r.race, t, r.threshold.mean, r.threshold.ci_low, r.threshold.ci_high
                );
            }
            let d = &f.diagnostics;
            println!(
                "R-hat max {:.4} ({}), ESS bulk min {:.0} ({}), tail min {:.0} ({}), divergences {}, step sizes {:?}, gradients {}",
                d.max_r_hat,
                d.max_r_hat_of,
                d.min_ess_bulk,
                d.min_ess_bulk_of,
                d.min_ess_tail,
                d.min_ess_tail_of,
                d.divergences,
                d.step_sizes,
                d.gradient_evaluations
            );
            println!("predictive check {:?}", f.predictive_check);
        }
        Err(ThresholdError::NotConverged { reason, diagnostics }) => {
            println!("refused after {:.1} s: {reason}\n{diagnostics:#?}", started.elapsed().as_secs_f64())
        }
        Err(e) => println!("error: {e}"),
    }
}
