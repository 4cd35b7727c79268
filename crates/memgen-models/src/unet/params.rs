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

/// burn's Adam applied parameter by parameter in the module's (fixed) order, with its state
/// held here instead of inside burn's `ModuleOptimizer`, so that a snapshot can read it and a
/// resumed run can put it back on the run's own device (burn's optimizer record loads onto
/// the default device, which a browser without WebGPU does not have). The update is burn's
/// own `Adam::step` on each flattened parameter: element-wise, so flattening changes nothing.
pub struct ParamAdam {
    adam: burn::optim::Adam,
    /// Per parameter: the step count and the two moments (flattened), once it has had a step.
    pub(crate) states: Vec<Option<burn::optim::AdamState<1>>>,
}

impl ParamAdam {
    /// Adam as `torch.optim.Adam` sets it up: β = (0.9, 0.999), ε = 1e-8.
    pub fn torch() -> ParamAdam {
        ParamAdam { adam: burn::optim::AdamConfig::new().with_epsilon(1e-8).build(), states: Vec::new() }
    }

    /// One update of every parameter that has a gradient in `grads`.
    pub fn step<M: Module>(&mut self, lr: f64, module: M, mut grads: GradientsParams) -> M {
        module.map(&mut AdamStep { adam: &self.adam, states: &mut self.states, grads: &mut grads, lr, i: 0 })
    }
}

struct AdamStep<'a> {
    adam: &'a burn::optim::Adam,
    states: &'a mut Vec<Option<burn::optim::AdamState<1>>>,
    grads: &'a mut GradientsParams,
    lr: f64,
    i: usize,
}

impl ModuleMapper for AdamStep<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        use burn::optim::Optimizer;
        let i = self.i;
        self.i += 1;
        if self.states.len() <= i {
            self.states.resize(i + 1, None);
        }
        let Some(grad) = self.grads.remove::<D>(param.id) else { return param };
        let state = self.states[i].take();
        let mut next = None;
        let (adam, lr) = (self.adam, self.lr);
        let param = param.map(|t| {
            let (require_grad, checkpointing) = (t.is_require_grad(), t.gradient_checkpointing_strategy());
            let dims = t.dims();
            let (updated, s) = adam.step::<1>(lr, t.inner().flatten(0, D - 1), grad.flatten(0, D - 1), state);
            next = s;
            let mut p = Tensor::from_inner(updated.reshape(dims));
            if let Some(c) = checkpointing {
                p = p.with_gradient_checkpointing_strategy(c);
            }
            if require_grad {
                p = p.require_grad();
            }
            p
        });
        self.states[i] = next;
        param
    }
}
