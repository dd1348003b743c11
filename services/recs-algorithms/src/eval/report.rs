//! The evaluation's results and their printed table.

use std::fmt;

use super::Tuned;
use crate::metrics::Metrics;

/// Published NDCG@10 figures for protocol A on MovieLens-100k, printed
/// beside ours for comparison (ALS is not implemented here).
pub const REFERENCE_NDCG: [(&str, f64); 4] =
    [("Popularity", 0.215), ("ItemKNN", 0.394), ("ALS (tuned)", 0.439), ("EASE", 0.444)];

/// The NDCG@10 EASE is expected to reach on the full data set.
pub const EASE_TARGET_NDCG: f64 = 0.44;

/// One model's figures on one seed, or averaged over seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelResult {
    /// The model's name.
    pub model: &'static str,
    /// Precision, Recall and NDCG at K.
    pub metrics: Metrics,
    /// Seconds to fit on the training part (hyper-parameters fixed).
    pub fit_seconds: f64,
}

/// Everything measured for one seed.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedResult {
    /// The split's seed.
    pub seed: u64,
    /// Popularity, ItemKNN, EASE, in that order.
    pub models: Vec<ModelResult>,
    /// EASE's λ and the validation NDCG of each candidate.
    pub lambda: Tuned<f64>,
    /// ItemKNN's (k, shrink) and the validation NDCG of each candidate.
    pub knn: Tuned<(usize, f64)>,
    /// Seconds spent on the validation split.
    pub tune_seconds: f64,
}

impl SeedResult {
    /// One progress line: the seed's hyper-parameters and NDCGs.
    pub fn summary_line(&self) -> String {
        let ndcgs: Vec<String> = self.models.iter().map(|m| format!("{} {:.4}", m.model, m.metrics.ndcg)).collect();
        format!("seed {}: {}; NDCG {}", self.seed, self.hyper_parameters(), ndcgs.join(", "))
    }

    fn hyper_parameters(&self) -> String {
        let (k, shrink) = self.knn.best;
        format!("EASE λ = {}, ItemKNN k = {k}, shrink = {shrink} (tuning {:.1} s)", self.lambda.best, self.tune_seconds)
    }
}

/// The whole run.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalReport {
    /// The data set's name.
    pub dataset: String,
    /// Users in the evaluated matrix.
    pub users: usize,
    /// Items in the evaluated matrix.
    pub items: usize,
    /// Distinct (user, item) interactions.
    pub interactions: usize,
    /// The metrics' cut-off.
    pub k: usize,
    /// Share held out for testing.
    pub test_fraction: f64,
    /// Per-seed results.
    pub seeds: Vec<SeedResult>,
}

impl EvalReport {
    /// The models evaluated, in table order.
    pub fn models(&self) -> Vec<&'static str> {
        self.seeds.first().map(|s| s.models.iter().map(|m| m.model).collect()).unwrap_or_default()
    }

    /// `model`'s figures averaged over the seeds.
    pub fn mean(&self, model: &str) -> Option<ModelResult> {
        let runs = self.runs(model);
        let first = runs.first()?;
        let n = runs.len() as f64;
        let avg = |f: fn(&ModelResult) -> f64| runs.iter().map(|r| f(r)).sum::<f64>() / n;
        Some(ModelResult {
            model: first.model,
            metrics: Metrics {
                precision: avg(|r| r.metrics.precision),
                recall: avg(|r| r.metrics.recall),
                ndcg: avg(|r| r.metrics.ndcg),
                users: first.metrics.users,
            },
            fit_seconds: avg(|r| r.fit_seconds),
        })
    }

    /// Sample standard deviation of `model`'s NDCG over the seeds.
    pub fn ndcg_sd(&self, model: &str) -> Option<f64> {
        let runs = self.runs(model);
        let mean = self.mean(model)?.metrics.ndcg;
        if runs.len() < 2 {
            return Some(0.0);
        }
        let var = runs.iter().map(|r| (r.metrics.ndcg - mean).powi(2)).sum::<f64>() / (runs.len() - 1) as f64;
        Some(var.sqrt())
    }

    fn runs(&self, model: &str) -> Vec<&ModelResult> {
        self.seeds.iter().filter_map(|s| s.models.iter().find(|m| m.model == model)).collect()
    }
}

fn reference(model: &str) -> Option<f64> {
    REFERENCE_NDCG.iter().find(|(m, _)| *m == model).map(|&(_, v)| v)
}

impl fmt::Display for EvalReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let k = self.k;
        let seeds: Vec<String> = self.seeds.iter().map(|s| s.seed.to_string()).collect();
        writeln!(
            f,
            "{}, protocol A: {} users × {} items, {} interactions (all implicit positives); \
             random {:.0}/{:.0} split by interaction; full ranking excluding training items; seeds {}",
            self.dataset,
            self.users,
            self.items,
            self.interactions,
            (1.0 - self.test_fraction) * 100.0,
            self.test_fraction * 100.0,
            seeds.join(", ")
        )?;
        writeln!(f, "Hyper-parameters (multi-value grids tuned on a validation split of each seed's training part):")?;
        for s in &self.seeds {
            writeln!(f, "  seed {}: {}", s.seed, s.hyper_parameters())?;
        }
        writeln!(f)?;
        let p = format!("Precision@{k}");
        let r = format!("Recall@{k}");
        let n = format!("NDCG@{k}");
        writeln!(f, "{:<12} {:>12} {:>10} {:>16} {:>8}   {:>14}", "model", p, r, n, "fit s", "published NDCG")?;
        for model in self.models() {
            let (Some(mean), Some(sd)) = (self.mean(model), self.ndcg_sd(model)) else { continue };
            let published = reference(model).map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"));
            writeln!(
                f,
                "{:<12} {:>12.4} {:>10.4} {:>9.4} ±{:.4} {:>8.3}   {:>14}",
                model, mean.metrics.precision, mean.metrics.recall, mean.metrics.ndcg, sd, mean.fit_seconds, published
            )?;
        }
        for (model, value) in REFERENCE_NDCG {
            if !self.models().contains(&model) {
                writeln!(f, "{model:<12} {:>12} {:>10} {:>16} {:>8}   {value:>14.3}", "-", "-", "-", "-")?;
            }
        }
        writeln!(f)?;
        writeln!(
            f,
            "Means over {} seed(s) (± sample sd of NDCG); each user with ≥ 1 test item counts once.",
            self.seeds.len()
        )?;
        if let Some(ease) = self.mean("EASE") {
            let met = if ease.metrics.ndcg >= EASE_TARGET_NDCG { "met" } else { "NOT met" };
            writeln!(f, "Target EASE NDCG@{k} ≥ {EASE_TARGET_NDCG}: {met} ({:.4}).", ease.metrics.ndcg)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(model: &'static str, ndcg: f64, fit_seconds: f64) -> ModelResult {
        ModelResult { model, metrics: Metrics { precision: ndcg / 2.0, recall: ndcg, ndcg, users: 3 }, fit_seconds }
    }

    fn seed(seed: u64, ease: f64) -> SeedResult {
        SeedResult {
            seed,
            models: vec![result("Popularity", 0.2, 0.0), result("EASE", ease, 1.0)],
            lambda: Tuned { best: 300.0, tried: vec![] },
            knn: Tuned { best: (50, 0.0), tried: vec![] },
            tune_seconds: 0.5,
        }
    }

    fn report() -> EvalReport {
        EvalReport {
            dataset: "test".into(),
            users: 3,
            items: 4,
            interactions: 5,
            k: 10,
            test_fraction: 0.2,
            seeds: vec![seed(1, 0.42), seed(2, 0.46)],
        }
    }

    #[test]
    fn averages_and_spreads_over_seeds() {
        let r = report();
        let ease = r.mean("EASE");
        assert!(ease.as_ref().is_some_and(|e| (e.metrics.ndcg - 0.44).abs() < 1e-12 && e.fit_seconds == 1.0));
        let sd = r.ndcg_sd("EASE").unwrap_or(f64::NAN);
        assert!((sd - 0.02 * 2f64.sqrt()).abs() < 1e-12, "{sd}");
        assert_eq!(r.mean("ALS"), None);
        assert_eq!(r.models(), ["Popularity", "EASE"]);
    }

    #[test]
    fn table_lists_models_references_and_target() {
        let text = report().to_string();
        assert!(text.contains("NDCG@10"), "{text}");
        assert!(text.contains("EASE λ = 300"), "{text}");
        assert!(text.contains("ALS (tuned)"), "{text}");
        assert!(text.contains("0.444"), "{text}");
        assert!(text.contains("Target EASE NDCG@10 ≥ 0.44: met (0.4400)"), "{text}");
    }
}
