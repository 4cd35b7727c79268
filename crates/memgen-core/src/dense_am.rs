//! Dense Associative Memory (modern Hopfield network), paper App. C.2 and docs/SCIENCE.md §3.
//!
//! Memories `y_1 … y_K ∈ ℝ^d` are stored row-major in one slice of length `K·d`.
//! Two energy forms are offered:
//!
//! * **dot-product** (the softmax DenseAM):
//!   `E(x) = −β⁻¹ log Σ_j exp(β xᵀy_j) + ½‖x‖²`
//! * **distance**:
//!   `E(x) = −β⁻¹ log Σ_j exp(−β‖x − y_j‖²/2)`
//!
//! Both have the same gradient shape `∇E(x) = x − Σ_j w_j(x) y_j` with
//! `w = softmax_j(β xᵀy_j)` (dot) or `w = softmax_j(−β‖x−y_j‖²/2)` (distance); for
//! memories of equal norm the two weightings coincide, so the minima agree.
//! Retrieval is the fixed-point update `x ← Σ_j w_j(x) y_j` (one attention step),
//! iterated until the step is shorter than a tolerance or a step cap is reached.
//!
//! A converged state farther than a tolerance from every memory is a **spurious state**.
//!
//! Stability of a symmetric mixture: for two memories at `±a` the Hessian at the
//! midpoint is `1 − β a²` along the memories' axis (distance form with the `½`
//! above), so the midpoint is a stable state iff `β a² < 1`. In the Gaussian-kernel
//! convention `exp(−β'‖x−y‖²)` used by the circle energy (`β' = β/2`) this reads
//! `β' a² < ½`, the form quoted in docs/SCIENCE.md §3.
//!
//! All sums use a max-shifted log-sum-exp, so β up to 1e4 and K up to 1e5 stay finite.

use serde::{Deserialize, Serialize};

/// Which energy the memory uses (see the module docs for the formulas).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum EnergyForm {
    /// `E(x) = −β⁻¹ log Σ_j exp(β xᵀy_j) + ½‖x‖²`
    #[default]
    Dot,
    /// `E(x) = −β⁻¹ log Σ_j exp(−β‖x − y_j‖²/2)`
    Distance,
}

impl EnergyForm {
    /// Short name used in URLs and on the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            EnergyForm::Dot => "dot",
            EnergyForm::Distance => "distance",
        }
    }

    /// Parses `dot` / `distance`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "dot" => Some(EnergyForm::Dot),
            "distance" => Some(EnergyForm::Distance),
            _ => None,
        }
    }
}

/// Numerically stable `log Σ exp(a_i)`. Returns `−∞` for an empty input.
pub fn log_sum_exp(a: &[f64]) -> f64 {
    let m = a.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    m + a.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
}

/// A set of memories with an inverse temperature and an energy form.
#[derive(Debug, Clone, PartialEq)]
pub struct DenseAm<'a> {
    /// Row-major memories, `K·d` values.
    pub memories: &'a [f64],
    /// Dimension `d` of each memory.
    pub dim: usize,
    /// Inverse temperature β > 0.
    pub beta: f64,
    /// Energy form.
    pub form: EnergyForm,
}

impl<'a> DenseAm<'a> {
    /// Builds a memory; `memories.len()` must be a multiple of `dim`.
    pub fn new(memories: &'a [f64], dim: usize, beta: f64, form: EnergyForm) -> Self {
        assert!(dim > 0 && memories.len().is_multiple_of(dim), "memories must be K×d");
        DenseAm { memories, dim, beta, form }
    }

    /// Number of memories K.
    pub fn len(&self) -> usize {
        self.memories.len() / self.dim
    }

    /// True when no memory is stored.
    pub fn is_empty(&self) -> bool {
        self.memories.is_empty()
    }

    fn memory(&self, j: usize) -> &[f64] {
        &self.memories[j * self.dim..(j + 1) * self.dim]
    }

    /// Fills `logits[j]` with the softmax argument of memory j at `x`
    /// (`β xᵀy_j` or `−β‖x−y_j‖²/2`).
    fn logits(&self, x: &[f64], logits: &mut Vec<f64>) {
        logits.clear();
        for j in 0..self.len() {
            let y = self.memory(j);
            let v = match self.form {
                EnergyForm::Dot => self.beta * dot(x, y),
                EnergyForm::Distance => -0.5 * self.beta * sq_dist(x, y),
            };
            logits.push(v);
        }
    }

    /// Energy `E(x)` (module docs). With no memories, the dot form is `½‖x‖²` and
    /// the distance form `+∞`.
    pub fn energy(&self, x: &[f64]) -> f64 {
        let mut l = Vec::with_capacity(self.len());
        self.logits(x, &mut l);
        let lse = log_sum_exp(&l);
        match self.form {
            EnergyForm::Dot => {
                let lse_term = if self.is_empty() { 0.0 } else { -lse / self.beta };
                lse_term + 0.5 * dot(x, x)
            }
            EnergyForm::Distance => -lse / self.beta,
        }
    }

    /// The attention readout `Σ_j w_j(x) y_j`: one fixed-point update `T(x)`.
    pub fn update(&self, x: &[f64], out: &mut [f64]) {
        let mut l = Vec::with_capacity(self.len());
        self.update_with(x, out, &mut l);
    }

    fn update_with(&self, x: &[f64], out: &mut [f64], l: &mut Vec<f64>) {
        self.logits(x, l);
        let m = l.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        out.iter_mut().for_each(|o| *o = 0.0);
        if !m.is_finite() {
            return;
        }
        let mut z = 0.0;
        for (j, lj) in l.iter().enumerate() {
            let w = (lj - m).exp();
            z += w;
            for (o, y) in out.iter_mut().zip(self.memory(j)) {
                *o += w * y;
            }
        }
        out.iter_mut().for_each(|o| *o /= z);
    }

    /// Gradient `∇E(x) = x − Σ_j w_j(x) y_j`.
    pub fn gradient(&self, x: &[f64], out: &mut [f64]) {
        self.update(x, out);
        for (o, xi) in out.iter_mut().zip(x) {
            *o = xi - *o;
        }
    }

    /// Iterates the fixed-point update from `x0` until `‖x_{n+1} − x_n‖ < tol` or
    /// `max_steps` updates have run.
    pub fn retrieve(&self, x0: &[f64], tol: f64, max_steps: usize) -> Retrieval {
        self.run(x0, tol, max_steps, |_| {})
    }

    /// [`retrieve`](Self::retrieve), also returning every state visited (`x0` first).
    pub fn trajectory(&self, x0: &[f64], tol: f64, max_steps: usize) -> (Retrieval, Vec<Vec<f64>>) {
        let mut path = vec![x0.to_vec()];
        let r = self.run(x0, tol, max_steps, |x| path.push(x.to_vec()));
        (r, path)
    }

    fn run(&self, x0: &[f64], tol: f64, max_steps: usize, mut visit: impl FnMut(&[f64])) -> Retrieval {
        let mut x = x0.to_vec();
        let mut next = vec![0.0; self.dim];
        let mut l = Vec::with_capacity(self.len());
        for step in 1..=max_steps {
            self.update_with(&x, &mut next, &mut l);
            let delta = sq_dist(&x, &next).sqrt();
            std::mem::swap(&mut x, &mut next);
            visit(&x);
            if delta < tol {
                return Retrieval { energy: self.energy(&x), state: x, steps: step, converged: true };
            }
        }
        Retrieval { energy: self.energy(&x), state: x, steps: max_steps, converged: false }
    }

    /// For each memory, the distance to its nearest other memory (`+∞` when K = 1).
    pub fn neighbour_gaps(&self) -> Vec<f64> {
        let k = self.len();
        (0..k).map(|i| (0..k).filter(|&j| j != i).map(|j| sq_dist(self.memory(i), self.memory(j)).sqrt()).fold(f64::INFINITY, f64::min)).collect()
    }

    /// Index and distance of the memory nearest to `x` (`None` when empty).
    pub fn nearest_memory(&self, x: &[f64]) -> Option<(usize, f64)> {
        (0..self.len()).map(|j| (j, sq_dist(x, self.memory(j)).sqrt())).min_by(|a, b| a.1.total_cmp(&b.1))
    }
}

/// Result of [`DenseAm::retrieve`].
#[derive(Debug, Clone, PartialEq)]
pub struct Retrieval {
    /// Final state.
    pub state: Vec<f64>,
    /// Number of updates applied.
    pub steps: usize,
    /// Whether the step length fell below the tolerance.
    pub converged: bool,
    /// Energy at the final state.
    pub energy: f64,
}

/// What a converged state is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "index")]
pub enum AttractorKind {
    /// Within tolerance of stored memory `j`.
    Memory(usize),
    /// A stable fixed point far from every memory.
    Spurious,
    /// A fixed point that small perturbations leave (a saddle on a basin boundary):
    /// reached only from starts exactly on the boundary, so not an attractor.
    Saddle,
}

/// One distinct fixed point found by [`basin_map`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attractor {
    /// Its position (first start that reached it).
    pub position: Vec<f64>,
    /// Stored memory or spurious.
    pub kind: AttractorKind,
    /// Energy at the fixed point.
    pub energy: f64,
    /// How many starts converged to it.
    pub count: usize,
}

/// Tolerances of a basin map.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BasinParams {
    /// Convergence tolerance on the update length.
    pub tol: f64,
    /// Update cap per start.
    pub max_steps: usize,
    /// A fixed point retrieves memory `j` when it lies within `memory_frac` times the
    /// distance from `y_j` to its nearest other memory. (At finite β the fixed point
    /// near a memory is pulled slightly towards its neighbours; a mixture of two
    /// memories sits half-way, at fraction ½, so any fraction below ½ separates them.)
    pub memory_frac: f64,
    /// Fixed points closer than this are the same attractor.
    pub merge_tol: f64,
}

impl Default for BasinParams {
    /// `tol = 1e-6`, `max_steps = 500`, `memory_frac = 0.25`, `merge_tol = 2e-2`.
    fn default() -> Self {
        BasinParams { tol: 1e-6, max_steps: 500, memory_frac: 0.25, merge_tol: 2e-2 }
    }
}

/// Per-start outcome and the attractor list of a basin map.
#[derive(Debug, Clone, PartialEq)]
pub struct BasinMap {
    /// For each start: index into `attractors`, or `None` if it did not converge.
    pub assignment: Vec<Option<usize>>,
    /// Distinct attractors, stored memories and spurious states.
    pub attractors: Vec<Attractor>,
}

impl BasinMap {
    /// Number of distinct spurious attractors.
    pub fn spurious_count(&self) -> usize {
        self.attractors.iter().filter(|a| a.kind == AttractorKind::Spurious).count()
    }

    /// Number of distinct stored memories reached by at least one start.
    pub fn stored_count(&self) -> usize {
        self.attractors.iter().filter(|a| matches!(a.kind, AttractorKind::Memory(_))).count()
    }

    /// Share of starts that end at a stored memory.
    pub fn retrieval_fraction(&self) -> f64 {
        if self.assignment.is_empty() {
            return 0.0;
        }
        let hits = self.assignment.iter().filter(|a| matches!(a.map(|i| self.attractors[i].kind), Some(AttractorKind::Memory(_)))).count();
        hits as f64 / self.assignment.len() as f64
    }
}

/// Groups already-converged final states into attractors: a state within
/// `memory_frac` of its nearest memory's gap to that memory's own nearest neighbour
/// is that memory (see [`BasinParams::memory_frac`]); otherwise it joins the first spurious
/// attractor within `merge_tol`, or starts a new one. `finals[i] = None` marks a
/// start that did not converge.
pub fn label_fixed_points(am: &DenseAm<'_>, finals: &[Option<Vec<f64>>], params: &BasinParams) -> BasinMap {
    let mut attractors: Vec<Attractor> = Vec::new();
    let mut memory_slot: Vec<Option<usize>> = vec![None; am.len()];
    let mut assignment = Vec::with_capacity(finals.len());
    let gaps = am.neighbour_gaps();
    for fin in finals {
        let Some(x) = fin else {
            assignment.push(None);
            continue;
        };
        let slot = match am.nearest_memory(x) {
            Some((j, d)) if d <= params.memory_frac * gaps[j] => *memory_slot[j].get_or_insert_with(|| {
                attractors.push(Attractor { position: am.memory(j).to_vec(), kind: AttractorKind::Memory(j), energy: am.energy(am.memory(j)), count: 0 });
                attractors.len() - 1
            }),
            _ => match attractors.iter().position(|a| a.kind == AttractorKind::Spurious && sq_dist(&a.position, x).sqrt() <= params.merge_tol) {
                Some(i) => i,
                None => {
                    attractors.push(Attractor { position: x.clone(), kind: AttractorKind::Spurious, energy: am.energy(x), count: 0 });
                    attractors.len() - 1
                }
            },
        };
        attractors[slot].count += 1;
        assignment.push(Some(slot));
    }
    for a in attractors.iter_mut().filter(|a| a.kind == AttractorKind::Spurious) {
        if !is_stable(am, &a.position, params) {
            a.kind = AttractorKind::Saddle;
        }
    }
    BasinMap { assignment, attractors }
}

/// Whether retrieval from small perturbations `x ± δ e_i` (δ = `2·merge_tol`, each
/// coordinate axis) returns to within `merge_tol` of the fixed point `x`.
pub fn is_stable(am: &DenseAm<'_>, x: &[f64], params: &BasinParams) -> bool {
    let delta = 2.0 * params.merge_tol;
    (0..am.dim).all(|i| {
        [-delta, delta].iter().all(|d| {
            let mut p = x.to_vec();
            p[i] += d;
            let r = am.retrieve(&p, params.tol, params.max_steps);
            sq_dist(&r.state, x).sqrt() <= params.merge_tol
        })
    })
}

/// Retrieves from every start (row-major, `n·d`) and labels the fixed points.
pub fn basin_map(am: &DenseAm<'_>, starts: &[f64], params: &BasinParams) -> BasinMap {
    let finals: Vec<Option<Vec<f64>>> = starts
        .chunks_exact(am.dim)
        .map(|x0| {
            let r = am.retrieve(x0, params.tol, params.max_steps);
            r.converged.then_some(r.state)
        })
        .collect();
    label_fixed_points(am, &finals, params)
}

/// Energies over a `width × height` grid covering `[cx−half, cx+half] × [cy−half, cy+half]`
/// (row 0 at the top, y decreasing downwards), 2-D memories only. Pixel centres are
/// sampled, matching `shaders/energy.wgsl`.
pub fn energy_grid(am: &DenseAm<'_>, view: [f64; 3], width: usize, height: usize) -> Vec<f64> {
    assert_eq!(am.dim, 2, "energy_grid draws 2-D memories");
    let mut out = Vec::with_capacity(width * height);
    for row in 0..height {
        for col in 0..width {
            out.push(am.energy(&grid_point(view, width, height, col, row)));
        }
    }
    out
}

/// Plane coordinates of pixel `(col, row)`'s centre in a grid over `view = [cx, cy, half]`.
pub fn grid_point(view: [f64; 3], width: usize, height: usize, col: usize, row: usize) -> [f64; 2] {
    let [cx, cy, half] = view;
    let u = (col as f64 + 0.5) / width as f64;
    let v = (row as f64 + 0.5) / height as f64;
    [cx - half + 2.0 * half * u, cy + half - 2.0 * half * v]
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute-force energy straight from the formula, no shifting (small β only).
    fn naive_energy(mem: &[f64], d: usize, beta: f64, form: EnergyForm, x: &[f64]) -> f64 {
        let s: f64 = mem
            .chunks(d)
            .map(|y| match form {
                EnergyForm::Dot => (beta * dot(x, y)).exp(),
                EnergyForm::Distance => (-0.5 * beta * sq_dist(x, y)).exp(),
            })
            .sum();
        let base = -s.ln() / beta;
        match form {
            EnergyForm::Dot => base + 0.5 * dot(x, x),
            EnergyForm::Distance => base,
        }
    }

    fn circle(k: usize) -> Vec<f64> {
        (0..k)
            .flat_map(|j| {
                let a = std::f64::consts::TAU * j as f64 / k as f64;
                [a.cos(), a.sin()]
            })
            .collect()
    }

    #[test]
    fn energy_matches_naive_formula() {
        let mem = circle(7);
        for form in [EnergyForm::Dot, EnergyForm::Distance] {
            for beta in [0.3, 1.0, 5.0] {
                let am = DenseAm::new(&mem, 2, beta, form);
                for x in [[0.1, -0.2], [1.3, 0.4], [-0.7, 0.9]] {
                    let e = am.energy(&x);
                    let n = naive_energy(&mem, 2, beta, form, &x);
                    assert!((e - n).abs() < 1e-12 * n.abs().max(1.0), "{form:?} β={beta}: {e} vs {n}");
                }
            }
        }
    }

    #[test]
    fn energy_is_finite_at_huge_beta() {
        let mem = circle(1000);
        let am = DenseAm::new(&mem, 2, 1e4, EnergyForm::Dot);
        let e = am.energy(&[0.3, 0.2]);
        assert!(e.is_finite());
        // At β → ∞ the dot energy tends to −max_j xᵀy_j + ½‖x‖².
        let m = mem.chunks(2).map(|y| dot(&[0.3, 0.2], y)).fold(f64::MIN, f64::max);
        assert!((e - (-m + 0.5 * 0.13)).abs() < 1e-3);
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let mem = circle(5);
        for form in [EnergyForm::Dot, EnergyForm::Distance] {
            let am = DenseAm::new(&mem, 2, 3.0, form);
            let x = [0.4, -0.3];
            let mut g = [0.0; 2];
            am.gradient(&x, &mut g);
            for i in 0..2 {
                let h = 1e-6;
                let mut xp = x;
                let mut xm = x;
                xp[i] += h;
                xm[i] -= h;
                let fd = (am.energy(&xp) - am.energy(&xm)) / (2.0 * h);
                assert!((fd - g[i]).abs() < 1e-6, "{form:?}: {fd} vs {}", g[i]);
            }
        }
    }

    #[test]
    fn large_beta_retrieves_every_memory() {
        let mem = circle(9);
        let am = DenseAm::new(&mem, 2, 200.0, EnergyForm::Dot);
        for j in 0..9 {
            let x0 = [mem[2 * j] * 0.9 + 0.01, mem[2 * j + 1] * 0.9];
            let r = am.retrieve(&x0, 1e-9, 200);
            assert!(r.converged);
            let (k, d) = am.nearest_memory(&r.state).unwrap();
            assert_eq!(k, j);
            assert!(d < 1e-6);
        }
    }

    #[test]
    fn two_memory_midpoint_stability_threshold() {
        // Memories at ±a; distance form: midpoint stable iff β a² < 1 (β' a² < ½ with β' = β/2).
        for (beta, a, stable) in [(1.5, 0.7, true), (2.5, 0.7, false), (0.9, 1.0, true), (1.1, 1.0, false)] {
            let mem = [-a, 0.0, a, 0.0];
            let am = DenseAm::new(&mem, 2, beta, EnergyForm::Distance);
            let r = am.retrieve(&[1e-3, 0.0], 1e-12, 20_000);
            let at_mid = r.state[0].abs() < 1e-4;
            assert_eq!(at_mid, stable, "β={beta} a={a}: {:?}", r.state);
        }
    }

    #[test]
    fn basin_map_finds_a_spurious_mixture_at_small_beta() {
        // Two close memories at small β merge into one mixture state at the midpoint.
        let mem = [-0.3, 0.0, 0.3, 0.0];
        let am = DenseAm::new(&mem, 2, 2.0, EnergyForm::Distance);
        let starts: Vec<f64> = (0..10).flat_map(|i| [-0.95 + 0.2 * i as f64, 0.5]).collect();
        let map = basin_map(&am, &starts, &BasinParams::default());
        assert_eq!(map.spurious_count(), 1);
        assert_eq!(map.stored_count(), 0);
        assert_eq!(map.retrieval_fraction(), 0.0);
        // And at large β both memories are retrieved, no spurious state.
        let am = DenseAm::new(&mem, 2, 200.0, EnergyForm::Distance);
        let map = basin_map(&am, &starts, &BasinParams::default());
        assert_eq!(map.spurious_count(), 0);
        assert_eq!(map.stored_count(), 2);
        assert_eq!(map.retrieval_fraction(), 1.0);
    }

    #[test]
    fn trajectory_ends_at_the_retrieved_state() {
        let mem = circle(4);
        let am = DenseAm::new(&mem, 2, 30.0, EnergyForm::Dot);
        let (r, path) = am.trajectory(&[0.5, 0.1], 1e-10, 100);
        assert_eq!(path.len(), r.steps + 1);
        assert_eq!(path.last().unwrap(), &r.state);
        assert_eq!(r, am.retrieve(&[0.5, 0.1], 1e-10, 100));
    }

    #[test]
    fn displaced_fixed_points_still_count_as_their_memory() {
        // Nine memories on the circle at β = 10: each well's fixed point is pulled
        // inwards by its neighbours (by more than 1e-2) but is still that memory.
        let mem = circle(9);
        let am = DenseAm::new(&mem, 2, 10.0, EnergyForm::Dot);
        let r = am.retrieve(&[0.95, 0.05], 1e-10, 1000);
        let (j, d) = am.nearest_memory(&r.state).unwrap();
        assert_eq!(j, 0);
        assert!(d > 1e-2 && d < 0.25 * am.neighbour_gaps()[0], "d = {d}");
        let starts: Vec<f64> = (0..9).flat_map(|j| [0.9 * mem[2 * j], 0.9 * mem[2 * j + 1]]).collect();
        let map = basin_map(&am, &starts, &BasinParams::default());
        assert_eq!(map.stored_count(), 9);
        assert_eq!(map.spurious_count(), 0);
    }

    #[test]
    fn saddles_on_basin_boundaries_are_not_spurious_attractors() {
        // Two memories at ±1 and large β: a start exactly on the boundary x = 0 stays on
        // the symmetric saddle; it must be labelled a saddle, not a spurious attractor.
        let mem = [-1.0, 0.0, 1.0, 0.0];
        let am = DenseAm::new(&mem, 2, 20.0, EnergyForm::Distance);
        let starts = [0.0, 0.3, -0.5, 0.2, 0.5, 0.2];
        let map = basin_map(&am, &starts, &BasinParams::default());
        assert_eq!(map.spurious_count(), 0);
        assert_eq!(map.stored_count(), 2);
        assert!(map.attractors.iter().any(|a| a.kind == AttractorKind::Saddle));
        // Whereas the merged mixture at small β is a stable spurious state.
        let am = DenseAm::new(&mem, 2, 0.5, EnergyForm::Distance);
        let map = basin_map(&am, &starts, &BasinParams::default());
        assert_eq!(map.spurious_count(), 1);
    }

    #[test]
    fn grid_point_covers_the_view() {
        let p = grid_point([0.0, 0.0, 1.0], 2, 2, 0, 0);
        assert_eq!(p, [-0.5, 0.5]);
        let p = grid_point([1.0, 2.0, 1.0], 2, 2, 1, 1);
        assert_eq!(p, [1.5, 1.5]);
    }
}
