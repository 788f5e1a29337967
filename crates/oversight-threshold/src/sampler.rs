//! Runs the No-U-Turn sampler of the `nuts-rs` crate (PyMC's Rust sampler, the one `nutpie` wraps) on the
//! threshold model: independent chains on their own threads, each seeded from the request's seed, warm-up
//! (step size and diagonal mass matrix adaptation) then the kept draws.

use crate::Settings;
use crate::model::Posterior;
use nuts_rs::{Chain, CpuLogpFunc, CpuMath, CpuMathError, DiagNutsSettings, HasDims, LogpError, Settings as _};
use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;

/// One chain's kept draws and how the sampler fared.
#[derive(Debug, Default)]
pub(crate) struct ChainRun {
    /// `draws[k]` is the k-th kept position.
    pub draws: Vec<Box<[f64]>>,
    pub divergences: u64,
    pub max_depth_hits: u64,
    pub gradients: u64,
    pub step_size: f64,
}

#[derive(Debug, thiserror::Error)]
#[error("the log density is not finite")]
pub(crate) struct NotFinite;

impl LogpError for NotFinite {
    fn is_recoverable(&self) -> bool {
        // The sampler treats the step as divergent and goes on.
        true
    }
}

struct Density<'a> {
    posterior: &'a Posterior,
}

impl HasDims for Density<'_> {
    fn dim_sizes(&self) -> HashMap<String, u64> {
        let d = self.posterior.layout.dim() as u64;
        HashMap::from([("unconstrained_parameter".to_owned(), d), ("dim".to_owned(), d)])
    }
}

impl CpuLogpFunc for Density<'_> {
    type LogpError = NotFinite;
    type FlowParameters = ();
    type ExpandedVector = Vec<f64>;

    fn dim(&self) -> usize {
        self.posterior.layout.dim()
    }

    fn logp(&mut self, position: &[f64], gradient: &mut [f64]) -> Result<f64, NotFinite> {
        let lp = self.posterior.logp(position, gradient);
        if lp.is_finite() && gradient.iter().all(|g| g.is_finite()) { Ok(lp) } else { Err(NotFinite) }
    }

    fn expand_vector<R: Rng + ?Sized>(&mut self, _rng: &mut R, array: &[f64]) -> Result<Vec<f64>, CpuMathError> {
        Ok(array.to_vec())
    }
}

type NutsChain<'a> = <DiagNutsSettings as nuts_rs::Settings>::Chain<CpuMath<Density<'a>>>;

/// Runs the chains, each on its own thread for its whole life (the sampler's state is not `Send`): warm-up
/// and `s.draws` kept draws, then `decide` looks at every chain's draws and either answers or asks for `n`
/// more from each chain (the adapted step size and mass matrix unchanged), and so on.
pub(crate) fn run<T>(
    posterior: &Posterior,
    s: &Settings,
    mut decide: impl FnMut(&[ChainRun]) -> Result<T, u64>,
) -> anyhow::Result<T> {
    use std::sync::mpsc;
    std::thread::scope(|scope| {
        let mut orders = Vec::new();
        let mut results = Vec::new();
        for c in 0..s.chains as u64 {
            let (order_tx, order_rx) = mpsc::channel::<u64>();
            let (result_tx, result_rx) = mpsc::channel::<anyhow::Result<ChainRun>>();
            scope.spawn(move || {
                let mut chain = match new_chain(posterior, s, c) {
                    Ok(chain) => chain,
                    Err(e) => {
                        let _ = result_tx.send(Err(e));
                        return;
                    }
                };
                // Each order is a number of draws; the reply is the new kept draws and their statistics.
                while let Ok(n) = order_rx.recv() {
                    let mut run = ChainRun::default();
                    let r = step(&mut chain, &mut run, n, s.max_tree_depth).map(|()| run);
                    if result_tx.send(r).is_err() {
                        return;
                    }
                }
            });
            orders.push(order_tx);
            results.push(result_rx);
        }
        let mut runs: Vec<ChainRun> = (0..s.chains).map(|_| ChainRun::default()).collect();
        let mut n = s.tune + s.draws;
        loop {
            for o in &orders {
                o.send(n).map_err(|_| anyhow::anyhow!("a sampler thread stopped"))?;
            }
            for (run, rx) in runs.iter_mut().zip(&results) {
                let more = rx.recv().map_err(|_| anyhow::anyhow!("a sampler thread stopped"))??;
                run.draws.extend(more.draws);
                run.divergences += more.divergences;
                run.max_depth_hits += more.max_depth_hits;
                run.gradients += more.gradients;
                run.step_size = more.step_size;
            }
            match decide(&runs) {
                Ok(t) => return Ok(t),
                Err(more) => n = more,
            }
        }
    })
}

fn new_chain<'a>(posterior: &'a Posterior, s: &Settings, chain: u64) -> anyhow::Result<NutsChain<'a>> {
    let mut settings = DiagNutsSettings {
        num_tune: s.tune,
        num_draws: s.draws,
        num_chains: s.chains,
        maxdepth: s.max_tree_depth,
        seed: s.seed,
        ..Default::default()
    };
    settings.adapt_options.step_size_settings.target_accept = s.target_accept;
    // One stream per chain, derived from the seed (ChaCha8's stream selector keeps them independent).
    let mut rng = ChaCha8Rng::seed_from_u64(s.seed);
    rng.set_stream(chain + 1);
    let dim = posterior.layout.dim();
    // Stan's default initialisation: uniform on (−2, 2) on the unconstrained scale.
    let init: Vec<f64> = (0..dim).map(|_| rng.random_range(-2.0..2.0)).collect();
    let mut sampler = settings.new_chain(chain, CpuMath::new(Density { posterior }), &mut rng)?;
    sampler.set_position(&init)?;
    Ok(sampler)
}

/// Draws `n` times, keeping the draws made after warm-up.
fn step(sampler: &mut NutsChain<'_>, run: &mut ChainRun, n: u64, max_depth: u64) -> anyhow::Result<()> {
    for _ in 0..n {
        let (draw, progress) = sampler.draw()?;
        run.gradients += progress.num_gradients;
        if progress.tuning {
            continue;
        }
        run.divergences += u64::from(progress.diverging);
        // A full tree has 2^depth − 1 leapfrog steps.
        run.max_depth_hits += u64::from(progress.num_steps + 1 >= 1 << max_depth);
        run.step_size = progress.step_size;
        run.draws.push(draw);
    }
    Ok(())
}
