use super::sample::{Method, Sampler, ln_factorial};
use super::*;
use crate::stats::chi2::chi2_sf;
use statrs::distribution::{Discrete, Hypergeometric};

/// The p-value of Pearson's goodness-of-fit test of `observed` outcome counts against
/// `probabilities` (over all outcomes), bins with expected counts below 5 lumped together.
fn goodness_of_fit(observed: &[u64], probabilities: &[f64]) -> f64 {
    let draws: u64 = observed.iter().sum();
    let (mut bins, mut pending_o, mut pending_e) = (Vec::new(), 0.0, 0.0);
    for (&o, &p) in observed.iter().zip(probabilities) {
        pending_o += o as f64;
        pending_e += p * draws as f64;
        if pending_e >= 5.0 {
            bins.push((pending_o, pending_e));
            (pending_o, pending_e) = (0.0, 0.0);
        }
    }
    if let Some(last) = bins.last_mut() {
        last.0 += pending_o;
        last.1 += pending_e;
    }
    assert!(bins.len() >= 2, "too few bins");
    let statistic: f64 = bins.iter().map(|(o, e)| (o - e) * (o - e) / e).sum();
    chi2_sf(statistic, bins.len() as u64 - 1)
}

#[test]
fn the_stopping_rule_reports_besag_cliffords_values() {
    let mc = MonteCarlo {
        max_draws: 99,
        exceedances: 5,
        seed: 0,
    };
    // Every draw exceeds: stop after h, p = h/h.
    let r = sequential(&mc, || true);
    assert_eq!((r.p_value, r.draws, r.exceedances), (1.0, 5, 5));
    // None does: all B, p = 1/(B+1).
    let r = sequential(&mc, || false);
    assert_eq!((r.p_value, r.draws, r.exceedances), (0.01, 99, 0));
    // The h-th exceedance at draw 40: p = h/L.
    let mut i = 0;
    let r = sequential(&mc, || {
        i += 1;
        i % 8 == 0
    });
    assert_eq!((r.p_value, r.draws, r.exceedances), (5.0 / 40.0, 40, 5));
    // The h-th exceedance exactly at draw B: still h/L, as in the paper.
    let mut i = 0;
    let r = sequential(&mc, || {
        i += 1;
        [20, 40, 60, 80, 99].contains(&i)
    });
    assert_eq!((r.p_value, r.draws), (5.0 / 99.0, 99));
    // Fewer than h in B draws: (b+1)/(B+1).
    let mut i = 0;
    let r = sequential(&mc, || {
        i += 1;
        i % 30 == 0
    });
    assert_eq!((r.p_value, r.draws, r.exceedances), (0.04, 99, 3));
    // h > B: a plain Monte-Carlo test.
    let plain = MonteCarlo {
        max_draws: 9,
        exceedances: 20,
        seed: 0,
    };
    let r = sequential(&plain, || true);
    assert_eq!((r.p_value, r.draws), (1.0, 9));
}

#[test]
fn the_stopping_rule_is_exact_at_its_attainable_values() {
    // A continuous statistic: its exceedance probability q is uniform under the null, each
    // draw exceeds with probability q. P(p ≤ u) must equal u at every attainable u.
    let mc = MonteCarlo {
        max_draws: 99,
        exceedances: 5,
        seed: 0,
    };
    let reps = 40_000;
    let mut stream = Stream::new(7);
    let mut p_values: Vec<f64> = (0..reps)
        .map(|_| {
            let q = stream.uniform();
            sequential(&mc, || stream.uniform() < q).p_value
        })
        .collect();
    p_values.sort_unstable_by(f64::total_cmp);
    for u in [0.01, 0.03, 0.05, 5.0 / 99.0, 0.1, 0.25, 0.5, 5.0 / 6.0] {
        let rate = p_values.partition_point(|&p| p <= u + 1e-12) as f64 / reps as f64;
        let sd = (u * (1.0 - u) / reps as f64).sqrt();
        assert!((rate - u).abs() <= 4.0 * sd, "P(p ≤ {u}) = {rate}");
    }
}

#[test]
fn invalid_settings_are_typed_errors() {
    for mc in [
        MonteCarlo {
            max_draws: 0,
            ..MonteCarlo::default()
        },
        MonteCarlo {
            exceedances: 0,
            ..MonteCarlo::default()
        },
    ] {
        let err = p_value(&mc, &[1, 2], 1, |_| true).expect_err("refused");
        assert!(matches!(err, StatsError::InvalidParameter { .. }), "{err}");
    }
    let err = p_value(&MonteCarlo::default(), &[1, 2], 4, |_| true).expect_err("refused");
    assert_eq!(
        err.to_string(),
        "invalid drawn: cannot draw 4 rows from 3 pooled rows"
    );
    let err = Sampler::new(&[u64::MAX, 1], 1).expect_err("refused");
    assert!(err.to_string().contains("exceeds 2^64"), "{err}");
}

#[test]
fn ln_factorial_matches_statrs() {
    for k in (0..3000).chain([10_000, 123_457, 1 << 20, 5_000_000, 1 << 40]) {
        let expected = statrs::function::factorial::ln_factorial(k);
        let got = ln_factorial(k);
        assert!(
            (got - expected).abs() <= 1e-14 * expected.max(1.0),
            "ln {k}! = {got} vs {expected}"
        );
    }
}

#[test]
fn bounded_draws_are_uniform() {
    let mut stream = Stream::new(3);
    let mut counts = [0u64; 7];
    for _ in 0..70_000 {
        counts[stream.below(7) as usize] += 1;
    }
    assert!(
        goodness_of_fit(&counts, &[1.0 / 7.0; 7]) > 1e-4,
        "{counts:?}"
    );
    assert_eq!(Stream::new(3).below(1), 0);
}

/// Draws the first cell of the two-cell table `[successes, population − successes]`: a
/// hypergeometric variate, compared with statrs' pmf.
fn check_hypergeometric(population: u64, successes: u64, draws: u64, method: Method) {
    let pooled = [successes, population - successes];
    let sampler = Sampler::with_method(&pooled, draws, method).expect("valid");
    let mut stream = Stream::new(population ^ successes ^ draws);
    let mut scratch = sampler.scratch();
    let mut table = [0u64; 2];
    let low = draws.saturating_sub(population - successes);
    let high = successes.min(draws);
    let mut observed = vec![0u64; (high - low + 1) as usize];
    let reps = 20_000;
    for _ in 0..reps {
        sampler.draw(&mut stream, &mut scratch, &mut table);
        assert_eq!(table[0] + table[1], draws);
        assert!((low..=high).contains(&table[0]), "{table:?}");
        observed[(table[0] - low) as usize] += 1;
    }
    let dist = Hypergeometric::new(population, successes, draws).expect("valid");
    let probabilities: Vec<f64> = (low..=high).map(|x| dist.ln_pmf(x).exp()).collect();
    let p = goodness_of_fit(&observed, &probabilities);
    assert!(
        p > 1e-4,
        "HG({population}, {successes}, {draws}) by {method:?}: goodness of fit p = {p:e}"
    );
}

#[test]
fn cell_variates_follow_the_hypergeometric_pmf() {
    for (population, successes, draws) in [
        // Inversion from 0: a small cell, a small draw.
        (20, 7, 9),
        (1_000, 3, 400),
        (100_000, 40_000, 12),
        (3_000_000, 40, 200_000),
        // From the mode: the support starts above 0; large cells; millions of rows.
        (50, 40, 45),
        (2_000, 700, 900),
        (100_000, 30_000, 5_000),
        (3_000_000, 1_500_000, 20_000),
        (3_000_000, 900, 1_000_000),
    ] {
        check_hypergeometric(population, successes, draws, Method::Cells);
    }
    for (population, successes, draws) in [(20, 7, 9), (50, 40, 45), (2_000, 700, 900)] {
        check_hypergeometric(population, successes, draws, Method::Urn);
    }
}

/// The exact multivariate hypergeometric probability of `table` from `pooled`.
fn exact_probability(pooled: &[u64], table: &[u64]) -> f64 {
    use statrs::function::factorial::ln_binomial;
    let total: u64 = pooled.iter().sum();
    let drawn: u64 = table.iter().sum();
    let ln: f64 = pooled
        .iter()
        .zip(table)
        .map(|(&k, &x)| ln_binomial(k, x))
        .sum::<f64>()
        - ln_binomial(total, drawn);
    ln.exp()
}

#[test]
fn both_methods_draw_the_multivariate_hypergeometric() {
    // Every table of 6 rows from cells [3, 5, 0, 2, 4] (an empty cell included), enumerated.
    let pooled = [3u64, 5, 0, 2, 4];
    let drawn = 6;
    let mut outcomes = Vec::new();
    for a in 0..=3 {
        for b in 0..=5 {
            for d in 0..=2u64 {
                let used = a + b + d;
                if used <= drawn && drawn - used <= 4 {
                    outcomes.push([a, b, 0, d, drawn - used]);
                }
            }
        }
    }
    let probabilities: Vec<f64> = outcomes
        .iter()
        .map(|t| exact_probability(&pooled, t))
        .collect();
    assert!((probabilities.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    for method in [Method::Cells, Method::Urn] {
        let sampler = Sampler::with_method(&pooled, drawn, method).expect("valid");
        let mut stream = Stream::new(11);
        let mut scratch = sampler.scratch();
        let mut table = [0u64; 5];
        let mut observed = vec![0u64; outcomes.len()];
        for _ in 0..50_000 {
            sampler.draw(&mut stream, &mut scratch, &mut table);
            let at = outcomes
                .iter()
                .position(|o| *o == table)
                .expect("a possible table");
            observed[at] += 1;
        }
        let p = goodness_of_fit(&observed, &probabilities);
        assert!(p > 1e-4, "{method:?}: goodness of fit p = {p:e}");
    }
    // More than half the rows: the urn draws the complement.
    let sampler = Sampler::with_method(&pooled, 11, Method::Urn).expect("valid");
    let mut table = [0u64; 5];
    sampler.draw(&mut Stream::new(1), &mut sampler.scratch(), &mut table);
    assert_eq!(table.iter().sum::<u64>(), 11);
    assert!(table.iter().zip(&pooled).all(|(t, k)| t <= k), "{table:?}");
}

#[test]
fn every_cell_of_a_large_table_has_its_hypergeometric_marginal() {
    // Cell j of a multivariate hypergeometric table is HG(N, K_j, k). Large counts, so the
    // log-factorials (and the one carried from cell to cell) come from Stirling's series;
    // small and large means, so both inversions run.
    let pooled = [300_000u64, 40, 2, 150_000, 7, 1_200, 500_000];
    let total: u64 = pooled.iter().sum();
    let drawn = 20_000;
    for method in [Method::Cells, Method::Urn] {
        let sampler = Sampler::with_method(&pooled, drawn, method).expect("valid");
        let mut stream = Stream::new(5);
        let mut scratch = sampler.scratch();
        let mut table = [0u64; 7];
        let reps = if method == Method::Urn { 1_000 } else { 20_000 };
        let mut tables = Vec::with_capacity(reps);
        for _ in 0..reps {
            sampler.draw(&mut stream, &mut scratch, &mut table);
            assert_eq!(table.iter().sum::<u64>(), drawn);
            tables.push(table);
        }
        for (j, &count) in pooled.iter().enumerate() {
            let dist = Hypergeometric::new(total, count, drawn).expect("valid");
            let high = count.min(drawn);
            let mut observed = vec![0u64; high as usize + 1];
            for t in &tables {
                observed[t[j] as usize] += 1;
            }
            let probabilities: Vec<f64> = (0..=high).map(|x| dist.ln_pmf(x).exp()).collect();
            let p = goodness_of_fit(&observed, &probabilities);
            assert!(p > 1e-4, "{method:?}, cell {j}: goodness of fit p = {p:e}");
        }
    }
}

#[test]
fn the_cheaper_method_is_chosen() {
    // Few rows into many cells: row by row. Many rows into few cells: cell by cell.
    let sparse = vec![3u64; 2_000];
    assert_eq!(
        Sampler::new(&sparse, 50).expect("valid").method(),
        Method::Urn
    );
    let dense = [30_000u64, 50_000, 20_000];
    assert_eq!(
        Sampler::new(&dense, 5_000).expect("valid").method(),
        Method::Cells
    );
}

/// Nanoseconds per table of both methods on a few shapes, in the build at hand:
/// `cargo test --release --lib montecarlo::tests::timings -- --ignored --nocapture`.
#[test]
#[ignore = "timing report, no assertion"]
fn timings() {
    for (cells, per_cell, drawn) in [
        (2usize, 50_000u64, 5_000u64),
        (16, 6_000, 5_000),
        (128, 800, 5_000),
        (1_000, 100, 5_000),
        (1_000, 100, 500),
        (1_000, 100, 50),
        (200, 105, 1_000),
        (5_000, 20, 5_000),
    ] {
        // Unequal cells: a geometric-ish profile around `per_cell`.
        let pooled: Vec<u64> = (0..cells as u64)
            .map(|i| 1 + per_cell * 2 * (cells as u64 - i) / cells as u64)
            .collect();
        let mut line = format!(
            "{cells:>5} cells, {drawn:>5} of {:>7} rows:",
            pooled.iter().sum::<u64>()
        );
        for method in [Method::Cells, Method::Urn] {
            let sampler = Sampler::with_method(&pooled, drawn, method).expect("valid");
            let mut stream = Stream::new(1);
            let mut scratch = sampler.scratch();
            let mut table = vec![0u64; cells];
            // The fastest of a few batches: the machine may be shared.
            let reps = 500;
            let ns = (0..5)
                .map(|_| {
                    let start = std::time::Instant::now();
                    for _ in 0..reps {
                        sampler.draw(&mut stream, &mut scratch, &mut table);
                    }
                    start.elapsed().as_nanos() as f64 / reps as f64
                })
                .fold(f64::INFINITY, f64::min);
            line += &format!(" {method:?} {ns:>9.0} ns");
        }
        let chosen = Sampler::new(&pooled, drawn).expect("valid").method();
        println!("{line}  (chosen: {chosen:?})");
    }
}
