//! Sample quality in a feature space (docs/SCIENCE.md §7): improved precision and recall
//! (Kynkäänniemi et al., 2019) and the Fréchet distance between Gaussian fits of two sets.
//!
//! The labels of Eqs. 4–6 call any sample far from `S` and `S′` "generalized", so a model that
//! fails looks like one that generalizes. These measures tell the two apart: in the features of
//! a classifier of the dataset, a good sample lies on the manifold of real test images.
//!
//! - **Manifold** of a set: the union of balls around each of its points, of radius the distance
//!   to that point's `k`-th nearest neighbour in the same set (itself excluded; `k = 5`).
//! - **Precision**: the share of generated features inside the real manifold.
//! - **Recall**: the share of real features inside the generated manifold.
//! - **Fréchet distance**: `‖μ_a − μ_b‖² + tr(C_a) + tr(C_b) − 2 tr((C_a C_b)^½)` with unbiased
//!   covariances (`n − 1`), FID's formula on these features. `tr((C_a C_b)^½)` is computed as
//!   `Σ √λᵢ` of the symmetric `C_a^½ C_b C_a^½` (same eigenvalues as `C_a C_b`), with `λᵢ`
//!   below zero (rounding) taken as zero.
//!
//! The radii come from [`crate::knn::knn`] (exact distances, re-scored in `f64`); the ball
//! test is exact in `f64` too, spread over threads natively. `tests/fixtures/quality.json`
//! (numpy brute force and `scipy.linalg.sqrtm`, `tests/reference/make_quality_fixture.py`)
//! checks both.
use serde::{Deserialize, Serialize};

use crate::error::CoreError;
use crate::matrix::{squared_distance, Matrix};

/// Neighbours that set a point's ball (Kynkäänniemi et al.'s default).
pub const DEFAULT_K: usize = 5;

/// A set's manifold: its points and the radius of each one's ball.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifold {
    points: Matrix,
    /// Distance of each point to its `k`-th nearest other point of the set.
    pub radii: Vec<f64>,
}

impl Manifold {
    /// The manifold of `points` with balls to the `k`-th nearest neighbour (itself excluded).
    /// Errors: empty or non-finite sets, `k = 0`, or not more than `k` points.
    pub fn new(points: &Matrix, k: usize) -> Result<Manifold, CoreError> {
        let mut b = ManifoldBuilder::new(points, k)?;
        b.step(points.rows())?;
        b.finish()
    }

    /// Whether `x` lies in some point's ball (`‖x − pᵢ‖ ≤ rᵢ`).
    pub fn contains(&self, x: &[f32]) -> bool {
        self.points.iter_rows().zip(&self.radii).any(|(p, r)| squared_distance(x, p).sqrt() <= *r)
    }

    /// The share of the rows of `queries` inside the manifold.
    pub fn coverage(&self, queries: &Matrix) -> Result<f64, CoreError> {
        queries.validate("query features")?;
        if queries.cols() != self.points.cols() {
            return Err(CoreError::DimensionMismatch { what: "query features".into(), expected: self.points.cols(), found: queries.cols() });
        }
        use crate::par::*;
        let inside: usize = queries.data().par_chunks(queries.cols()).map(|q| usize::from(self.contains(q))).sum();
        Ok(inside as f64 / queries.rows() as f64)
    }
}

/// A [`Manifold`] found a few points' balls at a time (a page hands the event loop back
/// between steps): the same radii as [`Manifold::new`], which is one step of it.
#[derive(Debug, Clone)]
pub struct ManifoldBuilder {
    points: Matrix,
    /// The points' squared norms, computed once for every step.
    norms: Vec<f32>,
    k: usize,
    radii: Vec<f64>,
}

impl ManifoldBuilder {
    /// The manifold of `points` with balls to the `k`-th nearest other point, none found yet.
    /// Errors as [`Manifold::new`]'s.
    pub fn new(points: &Matrix, k: usize) -> Result<ManifoldBuilder, CoreError> {
        let norms = crate::knn::row_norms(points);
        crate::knn::knn_self_rows_with(points, &norms, 0..0, k)?;
        Ok(ManifoldBuilder { points: points.clone(), norms, k, radii: Vec::with_capacity(points.rows()) })
    }

    /// Balls found so far.
    pub fn done(&self) -> usize {
        self.radii.len()
    }

    /// Points in all.
    pub fn len(&self) -> usize {
        self.points.rows()
    }

    /// Whether the set is empty (never: [`new`](Self::new) refuses it).
    pub fn is_empty(&self) -> bool {
        self.points.rows() == 0
    }

    /// Whether every ball is found.
    pub fn finished(&self) -> bool {
        self.radii.len() == self.points.rows()
    }

    /// The next `n` balls (at least one).
    pub fn step(&mut self, n: usize) -> Result<(), CoreError> {
        let (a, rows) = (self.radii.len(), self.points.rows());
        let b = (a + n.max(1)).min(rows);
        let nn = crate::knn::knn_self_rows_with(&self.points, &self.norms, a..b, self.k)?;
        self.radii.extend((0..b - a).map(|i| nn.distances_of(i)[self.k - 1]));
        Ok(())
    }

    /// The manifold, once every ball is found.
    pub fn finish(self) -> Result<Manifold, CoreError> {
        if !self.finished() {
            return Err(CoreError::invalid("manifold", format!("{} of {} balls", self.radii.len(), self.points.rows()), "is not finished"));
        }
        Ok(Manifold { points: self.points, radii: self.radii })
    }
}

/// Improved precision and recall of generated features against real ones.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PrecisionRecall {
    /// Share of generated samples inside the real manifold.
    pub precision: f64,
    /// Share of real samples inside the generated manifold.
    pub recall: f64,
    /// The `k` of both manifolds.
    pub k: usize,
}

/// Improved precision and recall with `k`-NN balls ([`DEFAULT_K`] = 5 in the paper's measure).
pub fn precision_recall(real: &Matrix, generated: &Matrix, k: usize) -> Result<PrecisionRecall, CoreError> {
    if real.cols() != generated.cols() {
        return Err(CoreError::DimensionMismatch { what: "generated features".into(), expected: real.cols(), found: generated.cols() });
    }
    let precision = Manifold::new(real, k)?.coverage(generated)?;
    let recall = Manifold::new(generated, k)?.coverage(real)?;
    Ok(PrecisionRecall { precision, recall, k })
}

/// The quality of a set of generated images, measured in a reference classifier's features
/// against the dataset's test split (what bundles, the CLI and the page report).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleQuality {
    /// Improved precision: share of the samples on the manifold of real test images.
    pub precision: f64,
    /// Improved recall: share of the real reference images on the samples' manifold (`None`
    /// with `k` samples or fewer).
    pub recall: Option<f64>,
    /// Fréchet distance of the samples' features to the reference's (`None` below 2 samples).
    pub frechet: Option<f64>,
    /// The `k` of the manifolds.
    pub k: usize,
    /// Samples measured.
    pub samples: usize,
    /// Real test images in the reference.
    pub reference: usize,
    /// How many samples the classifier puts in each class (empty for real images).
    pub classes: Vec<usize>,
    /// The classifier's accuracy on the whole test split.
    pub classifier_accuracy: f64,
}

impl SampleQuality {
    /// Classes with at least one sample.
    pub fn classes_present(&self) -> usize {
        self.classes.iter().filter(|&&n| n > 0).count()
    }

    /// What the figures say, in one sentence for a reader, against `real` (as many held-out
    /// real images); `noun` names the data ("digits"). Levels: below 0.3 precision the
    /// samples are not images of the data yet; below 0.8 of real images' precision many are
    /// failures; else they lie on the data's manifold.
    pub fn verdict(&self, real: &SampleQuality, noun: &str) -> Verdict {
        let (p, r) = (self.precision, real.precision);
        let classes =
            if self.classes.is_empty() { String::new() } else { format!(" The classifier sees {} of {} classes.", self.classes_present(), self.classes.len()) };
        if p < 0.3 {
            Verdict {
                level: QualityLevel::NotYet,
                text: format!(
                    "Precision {p:.2} (real {noun}: {r:.2}): most of these samples are not {noun} yet. Eqs. 4–6 call a sample far from S and S′ generalized, and a failed sample is far from both too: the model needs more training.{classes}"
                ),
            }
        } else if p < 0.8 * r {
            Verdict {
                level: QualityLevel::Mixed,
                text: format!("Precision {p:.2} against {r:.2} for real {noun}: many samples are not like real {noun}, so \"generalized\" here mixes new {noun} with failures.{classes}"),
            }
        } else {
            Verdict {
                level: QualityLevel::Good,
                text: format!("Precision {p:.2} against {r:.2} for real {noun}: the samples lie on the manifold of real {noun}.{classes}"),
            }
        }
    }
}

/// How [`SampleQuality::verdict`] reads the figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QualityLevel {
    /// Precision below 0.3: not images of the data yet.
    NotYet,
    /// Below 80% of real images' precision.
    Mixed,
    /// On the data's manifold.
    Good,
}

impl QualityLevel {
    /// `not_yet`, `mixed`, `good` (page attributes).
    pub fn as_str(self) -> &'static str {
        match self {
            QualityLevel::NotYet => "not_yet",
            QualityLevel::Mixed => "mixed",
            QualityLevel::Good => "good",
        }
    }
}

/// A reading of sample quality for people.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Its level.
    pub level: QualityLevel,
    /// One or two sentences.
    pub text: String,
}

/// A Gaussian fit of a set of features: its mean and unbiased covariance.
#[derive(Debug, Clone, PartialEq)]
pub struct Gaussian {
    /// Mean, `d` values.
    pub mean: Vec<f64>,
    /// Covariance (divided by `n − 1`), row-major `d × d`.
    pub cov: Vec<f64>,
}

impl Gaussian {
    /// Fits mean and covariance in `f64`. Errors: empty or non-finite sets, fewer than 2 rows.
    pub fn fit(x: &Matrix) -> Result<Gaussian, CoreError> {
        x.validate("features")?;
        let (n, d) = (x.rows(), x.cols());
        if n < 2 {
            return Err(CoreError::TooFewPoints { what: "features".into(), need: 2, found: n });
        }
        let mut mean = vec![0f64; d];
        for row in x.iter_rows() {
            for (m, v) in mean.iter_mut().zip(row) {
                *m += *v as f64;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        let mut cov = vec![0f64; d * d];
        let mut centred = vec![0f64; d];
        for row in x.iter_rows() {
            for ((c, v), m) in centred.iter_mut().zip(row).zip(&mean) {
                *c = *v as f64 - m;
            }
            for i in 0..d {
                let ci = centred[i];
                for (out, cj) in cov[i * d..(i + 1) * d].iter_mut().zip(&centred) {
                    *out += ci * cj;
                }
            }
        }
        cov.iter_mut().for_each(|c| *c /= (n - 1) as f64);
        Ok(Gaussian { mean, cov })
    }
}

/// The Fréchet distance between the Gaussian fits of two feature sets (FID's formula).
pub fn frechet_distance(a: &Matrix, b: &Matrix) -> Result<f64, CoreError> {
    if a.cols() != b.cols() {
        return Err(CoreError::DimensionMismatch { what: "second feature set".into(), expected: a.cols(), found: b.cols() });
    }
    Ok(frechet_of(&Gaussian::fit(a)?, &Gaussian::fit(b)?))
}

/// The Fréchet distance between two Gaussians of the same dimension.
pub fn frechet_of(a: &Gaussian, b: &Gaussian) -> f64 {
    use nalgebra::{DMatrix, SymmetricEigen};
    let d = a.mean.len();
    let ca = DMatrix::from_row_slice(d, d, &a.cov);
    let cb = DMatrix::from_row_slice(d, d, &b.cov);
    // C_a^½ from its eigen-decomposition (C_a is symmetric positive semi-definite).
    let ea = SymmetricEigen::new(ca.clone());
    let half = DMatrix::from_diagonal(&ea.eigenvalues.map(|l| l.max(0.0).sqrt()));
    let sqrt_a = &ea.eigenvectors * half * ea.eigenvectors.transpose();
    let mut m = &sqrt_a * &cb * &sqrt_a;
    // Symmetric up to rounding: symmetrize before the eigen-solver.
    m = (&m + m.transpose()) * 0.5;
    let tr_sqrt: f64 = SymmetricEigen::new(m).eigenvalues.iter().map(|l| l.max(0.0).sqrt()).sum();
    let mean_gap: f64 = a.mean.iter().zip(&b.mean).map(|(x, y)| (x - y) * (x - y)).sum();
    (mean_gap + ca.trace() + cb.trace() - 2.0 * tr_sqrt).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::NoiseStream;

    fn normal(n: usize, d: usize, shift: f32, scale: f32, seed: u64) -> Matrix {
        let mut v = vec![0f32; n * d];
        NoiseStream::new(seed, 1).fill_normal_f32(&mut v);
        v.iter_mut().for_each(|x| *x = *x * scale + shift);
        Matrix::new(v, n, d).unwrap()
    }

    #[test]
    fn a_manifold_built_in_steps_has_the_whole_call_s_radii() {
        // 700 points: steps that cross the k-NN's query blocks (256 rows) at odd places.
        let pts = normal(700, 12, 0.0, 1.0, 3);
        let whole = Manifold::new(&pts, DEFAULT_K).unwrap();
        let nn = crate::knn::knn_naive(&pts, &pts, DEFAULT_K, true).unwrap();
        for (i, r) in whole.radii.iter().enumerate() {
            assert!((r - nn.distances_of(i)[DEFAULT_K - 1]).abs() <= 1e-9 * r.max(1.0), "row {i}: {r} against brute force");
        }
        let mut b = ManifoldBuilder::new(&pts, DEFAULT_K).unwrap();
        assert_eq!((b.done(), b.len()), (0, 700));
        for n in [7, 0, 300, 250].iter().cycle() {
            if b.finished() {
                break;
            }
            let before = b.done();
            b.step(*n).unwrap();
            assert_eq!(b.done(), (before + (*n).max(1)).min(700));
        }
        assert_eq!(b.finish().unwrap().radii, whole.radii);
        let mut part = ManifoldBuilder::new(&pts, DEFAULT_K).unwrap();
        part.step(10).unwrap();
        assert!(part.finish().is_err());
        assert!(ManifoldBuilder::new(&normal(5, 3, 0.0, 1.0, 1), DEFAULT_K).is_err(), "not more than k points");
        assert!(crate::knn::knn_self_rows(&pts, 690..701, DEFAULT_K).is_err());
        assert!(crate::knn::knn_self_rows_with(&pts, &crate::knn::row_norms(&pts)[1..], 0..10, DEFAULT_K).is_err(), "a norm a row");
    }

    /// The definition, written out: every pair, every ball.
    fn brute_coverage(set: &Matrix, k: usize, queries: &Matrix) -> f64 {
        let radii: Vec<f64> = (0..set.rows())
            .map(|i| {
                let mut d: Vec<f64> = (0..set.rows()).filter(|&j| j != i).map(|j| squared_distance(set.row(i), set.row(j)).sqrt()).collect();
                d.sort_by(f64::total_cmp);
                d[k - 1]
            })
            .collect();
        let inside = queries.iter_rows().filter(|q| set.iter_rows().zip(&radii).any(|(p, r)| squared_distance(q, p).sqrt() <= *r)).count();
        inside as f64 / queries.rows() as f64
    }

    #[test]
    fn precision_and_recall_equal_the_definition() {
        let real = normal(200, 6, 0.0, 1.0, 1);
        let fake = normal(150, 6, 0.7, 1.3, 2);
        let pr = precision_recall(&real, &fake, 5).unwrap();
        assert_eq!(pr.precision, brute_coverage(&real, 5, &fake));
        assert_eq!(pr.recall, brute_coverage(&fake, 5, &real));
        assert!(pr.precision > 0.0 && pr.precision < 1.0 && pr.recall > 0.0 && pr.recall < 1.0, "{pr:?}");
    }

    #[test]
    fn a_set_against_itself_and_against_far_points() {
        let real = normal(100, 4, 0.0, 1.0, 3);
        let same = precision_recall(&real, &real, 5).unwrap();
        assert_eq!((same.precision, same.recall), (1.0, 1.0));
        let far = normal(100, 4, 50.0, 1.0, 4);
        let pr = precision_recall(&real, &far, 5).unwrap();
        assert_eq!((pr.precision, pr.recall), (0.0, 0.0));
        assert!(frechet_distance(&real, &real).unwrap() < 1e-9);
    }

    #[test]
    fn frechet_of_known_gaussians() {
        // N(0, I) against N(m·1, s²I) in d dimensions: d m² + d (1 − s)², up to sampling error.
        let (d, m, s) = (4, 0.5f32, 2.0f32);
        let a = normal(20_000, d, 0.0, 1.0, 5);
        let b = normal(20_000, d, m, s, 6);
        let want = d as f64 * (m as f64).powi(2) + d as f64 * (1.0 - s as f64).powi(2);
        let got = frechet_distance(&a, &b).unwrap();
        assert!((got - want).abs() < 0.1, "{got} vs {want}");
    }

    #[test]
    fn verdicts_follow_the_thresholds() {
        let q = |p: f64, classes: Vec<usize>| SampleQuality {
            precision: p,
            recall: None,
            frechet: None,
            k: 5,
            samples: 64,
            reference: 5000,
            classes,
            classifier_accuracy: 0.99,
        };
        let real = q(0.95, vec![]);
        assert_eq!(q(0.02, vec![64, 0]).verdict(&real, "digits").level, QualityLevel::NotYet);
        assert!(q(0.02, vec![64, 0]).verdict(&real, "digits").text.contains("not digits yet"));
        assert!(q(0.02, vec![64, 0]).verdict(&real, "digits").text.contains("1 of 2 classes"));
        assert_eq!(q(0.299, vec![]).verdict(&real, "digits").level, QualityLevel::NotYet);
        assert_eq!(q(0.3, vec![]).verdict(&real, "digits").level, QualityLevel::Mixed);
        assert_eq!(q(0.759, vec![]).verdict(&real, "digits").level, QualityLevel::Mixed);
        assert_eq!(q(0.76, vec![]).verdict(&real, "digits").level, QualityLevel::Good);
        assert_eq!(QualityLevel::Good.as_str(), "good");
    }

    #[test]
    fn bad_input_is_refused() {
        let a = normal(10, 3, 0.0, 1.0, 7);
        let b = normal(10, 4, 0.0, 1.0, 8);
        assert!(precision_recall(&a, &b, 5).is_err());
        assert!(frechet_distance(&a, &b).is_err());
        assert!(precision_recall(&a, &a, 10).is_err(), "k must leave a neighbour");
        assert!(Gaussian::fit(&normal(1, 3, 0.0, 1.0, 9)).is_err());
    }
}
