//! Module-generic parameter operations the UNet's training needs: the EMA of the weights and
//! global gradient-norm clipping. Both work on any burn `Module` by visiting its float
//! parameters in their (fixed, declaration) order, and stay on the device (no readback).

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;

/// Collects every float parameter of a module, flattened, without autodiff tracking.
struct Flatten {
    values: Vec<Tensor<1>>,
}

impl ModuleVisitor for Flatten {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.values.push(param.val().inner().flatten(0, D - 1));
    }
}

/// Mixes each parameter with the next collected value: `e ← decay·e + (1 − decay)·m`.
struct Mix {
    values: std::vec::IntoIter<Tensor<1>>,
    decay: f64,
}

impl ModuleMapper for Mix {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let m = self.values.next().expect("EMA and model have the same parameters");
        let decay = self.decay;
        param.map(|e| {
            let dims = e.dims();
            e * decay + m.reshape(dims) * (1.0 - decay)
        })
    }
}

/// Exponential moving average of the weights: returns `decay·ema + (1 − decay)·model`,
/// parameter by parameter. `ema` lives on a plain device; `model` may be on its autodiff
/// version (its values are taken without the autodiff graph). Both must be the same
/// architecture (panics otherwise).
pub fn ema_update<M: Module>(ema: M, model: &M, decay: f64) -> M {
    let mut flat = Flatten { values: Vec::new() };
    model.visit(&mut flat);
    ema.map(&mut Mix { values: flat.values.into_iter(), decay })
}

/// Sum of squares of the gradients of every parameter of a module.
struct SquaredNorm<'a> {
    grads: &'a GradientsParams,
    total: Option<Tensor<1>>,
}

impl ModuleVisitor for SquaredNorm<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.get::<D>(param.id) {
            let s = g.square().sum();
            self.total = Some(match self.total.take() {
                Some(t) => t + s,
                None => s,
            });
        }
    }
}

/// Multiplies every gradient by a `[1]` scale tensor.
struct Scale<'a> {
    grads: &'a mut GradientsParams,
    scale: Tensor<1>,
}

impl ModuleVisitor for Scale<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.remove::<D>(param.id) {
            let s = self.scale.clone().reshape([1usize; D]);
            self.grads.register::<D>(param.id, g * s);
        }
    }
}

/// Global gradient-norm clipping, as `torch.nn.utils.clip_grad_norm_(params, max_norm)`:
/// `n = √Σ‖g‖²` over all parameters, every gradient times `min(1, max_norm/(n + 1e-6))`.
/// Returns the norm before clipping as a `[1]` tensor (not read back). burn's own
/// `GradientClipping::Norm` clips each parameter on its own, which is a different rule.
pub fn clip_grad_global_norm<M: Module>(module: &M, grads: &mut GradientsParams, max_norm: f64) -> Option<Tensor<1>> {
    let mut sq = SquaredNorm { grads, total: None };
    module.visit(&mut sq);
    let norm = sq.total?.sqrt();
    let scale = (norm.clone().add_scalar(1e-6).recip() * max_norm).clamp_max(1.0);
    module.visit(&mut Scale { grads, scale });
    Some(norm)
}
