//! The image UNet, its samplers and the ideal denoiser: numbers that must hold.

use burn::tensor::{Device, Tensor, TensorData};
use memgen_core::ideal_score::ideal_epsilon;
use memgen_core::schedules::DdpmSchedule;
use memgen_core::spec::NoiseStream;
use memgen_core::Matrix;
use memgen_models::unet::{
    clip_grad_global_norm, sample_images, EpsilonModel, IdealDenoiser, ImageSampling, SamplerConfig, UNetConfig, UNetTrainConfig, UNetTraining,
};

#[allow(deprecated)]
fn cpu() -> Device {
    Device::flex()
}

fn random_images(k: usize, d: usize, seed: u64) -> Vec<f32> {
    let mut rng = NoiseStream::new(seed, 7);
    (0..k * d).map(|_| (2.0 * rng.uniform() - 1.0) as f32).collect()
}

#[test]
fn ideal_epsilon_matches_the_core_reference() {
    let (k, d) = (5, 16);
    let train = random_images(k, d, 1);
    let x = random_images(3, d, 2);
    let device = cpu();
    let ideal = IdealDenoiser::new(&train, d, &device).unwrap();
    let s = DdpmSchedule::paper();
    for t in [0usize, 50, 300, 999] {
        let xt = Tensor::<4>::from_data(TensorData::new(x.clone(), [3, 1, 4, 4]), &device);
        let got = pollster::block_on(ideal.epsilon(xt, t).into_data_async()).unwrap().try_to_vec::<f32>().unwrap();
        let want = ideal_epsilon(&Matrix::new(x.clone(), 3, d).unwrap(), &Matrix::new(train.clone(), k, d).unwrap(), s.alpha_bars[t]).unwrap();
        let err = got.iter().zip(want.data()).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        // t = 0: ε̂ = (x − √ᾱ y)/√(1 − ᾱ) divides by 0.01, so f32 rounding grows 100×.
        let tol = if t == 0 { 2e-3 } else { 1e-4 };
        assert!(err < tol, "t = {t}: max |Δε̂| = {err}");
    }
}

#[test]
fn ideal_ddim_lands_on_training_images() {
    let (k, d) = (4, 64);
    let train = random_images(k, d, 3);
    let device = cpu();
    let ideal = IdealDenoiser::new(&train, d, &device).unwrap();
    let mut noise = NoiseStream::new(5, 4);
    let out = pollster::block_on(sample_images(&ideal, SamplerConfig::ddim(50), 16, 8, [1, 8, 8], &device, &mut noise, |_| {})).unwrap();
    let mut hit = vec![0usize; k];
    for x in out.chunks_exact(d) {
        let dists: Vec<f32> = train.chunks_exact(d).map(|y| y.iter().zip(x).map(|(a, b)| (a - b).powi(2)).sum::<f32>().sqrt()).collect();
        let (j, best) = dists.iter().enumerate().min_by(|a, b| a.1.total_cmp(b.1)).unwrap();
        assert!(*best < 0.05, "sample is {best} from its nearest training image");
        hit[j] += 1;
    }
    assert!(hit.iter().filter(|h| **h > 0).count() >= 3, "samples spread over the training images: {hit:?}");
}

#[test]
fn full_ddpm_step_equals_the_core_ancestral_step() {
    // With 1000 steps the first step is t = 999 → 998: compare with DdpmSchedule::ancestral_step
    // fed the same ε̂ and z. Two networks: ε̂ = x/2 (x̂_0 far outside [−1, 1], so only the
    // unclamped sampler is the ε form), and one whose x̂_0 = x/10 stays inside [−1, 1], where the
    // default (clamped, posterior-mean) sampler must equal the ε form too.
    struct Half;
    impl EpsilonModel for Half {
        fn epsilon(&self, x: Tensor<4>, _t: usize) -> Tensor<4> {
            x * 0.5
        }
    }
    struct Tenth;
    impl EpsilonModel for Tenth {
        fn epsilon(&self, x: Tensor<4>, t: usize) -> Tensor<4> {
            let a = DdpmSchedule::paper().alpha_bars[t];
            (x.clone() - x * (a.sqrt() * 0.1)) / (1.0 - a).sqrt()
        }
    }
    fn check<M: EpsilonModel>(model: &M, config: SamplerConfig, eps_of: impl Fn(&[f32]) -> Vec<f32>) {
        let device = cpu();
        let mut noise = NoiseStream::new(9, 4);
        let mut copy = noise.clone();
        let mut run = ImageSampling::new(model, config, [1, 1, 2, 2], &device, &mut noise);
        run.run_steps(1);
        let got = pollster::block_on(run.samples()).unwrap();
        let mut x: Vec<f32> = (0..4).map(|_| copy.normal() as f32).collect();
        let z: Vec<f32> = (0..4).map(|_| copy.normal() as f32).collect();
        let eps = eps_of(&x);
        DdpmSchedule::paper().ancestral_step(&mut x, 999, &eps, &z);
        for (a, b) in got.iter().zip(&x) {
            assert!((a - b).abs() < 1e-4 * b.abs().max(1.0), "{config:?}: {got:?} vs {x:?}");
        }
    }
    check(&Half, SamplerConfig { clip: false, ..SamplerConfig::ddpm() }, |x| x.iter().map(|v| v * 0.5).collect());
    let a = DdpmSchedule::paper().alpha_bars[999];
    let tenth = |x: &[f32]| x.iter().map(|v| ((*v as f64 - a.sqrt() * 0.1 * *v as f64) / (1.0 - a).sqrt()) as f32).collect();
    check(&Tenth, SamplerConfig::ddpm(), tenth);
    check(&Tenth, SamplerConfig { clip: false, ..SamplerConfig::ddpm() }, tenth);
}

#[test]
fn global_clipping_brings_the_norm_to_the_threshold() {
    use burn::module::Module;
    use burn::optim::GradientsParams;
    let device = cpu().autodiff();
    let net = UNetConfig { base_channels: 8, height: 8, width: 8, ..UNetConfig::grey() };
    let model = net.init(&device, &mut NoiseStream::new(0, 1));
    let x = Tensor::<4>::from_data(TensorData::new(random_images(2, 64, 4), [2, 1, 8, 8]), &device);
    let loss = (model.forward(x, &[3, 700]) * 100.0).square().mean();
    let mut grads = GradientsParams::from_grads(loss.backward(), &model);
    let before = clip_grad_global_norm(&model, &mut grads, 1e-3).unwrap();
    let before = pollster::block_on(before.into_data_async()).unwrap().try_to_vec::<f32>().unwrap()[0];
    assert!(before > 1e-2, "norm before {before}");
    let after = clip_grad_global_norm(&model, &mut grads, 1e9).unwrap();
    let after = pollster::block_on(after.into_data_async()).unwrap().try_to_vec::<f32>().unwrap()[0];
    assert!((after - 1e-3).abs() < 1e-5, "norm after clipping at 1e-3: {after}");
    assert!(model.num_params() > 0);
}

#[test]
fn unet_on_two_images_lowers_its_loss() {
    let net = UNetConfig { base_channels: 8, height: 8, width: 8, ..UNetConfig::grey() };
    let cfg = UNetTrainConfig { batch: 16, steps: 300, lr: 2e-3, ..memgen_models::presets::Preset::Quick.defaults().training(net) };
    let images = random_images(2, 64, 11);
    let mut run = UNetTraining::new(cfg, &images, 0, &cpu()).unwrap();
    let mut losses = Vec::new();
    while !run.finished() {
        losses.extend(pollster::block_on(run.run_steps(50)).unwrap());
    }
    assert_eq!(losses.len(), 300);
    let mean = |l: &[f32]| l.iter().sum::<f32>() / l.len() as f32;
    let (first, last) = (mean(&losses[..30]), mean(&losses[270..]));
    assert!(last.is_finite() && last < 0.5 * first, "loss {first} → {last}");
}

#[test]
fn training_is_reproducible_from_the_seed() {
    let net = UNetConfig { base_channels: 8, height: 8, width: 8, ..UNetConfig::grey() };
    let cfg = UNetTrainConfig { batch: 4, steps: 5, ..memgen_models::presets::Preset::Quick.defaults().training(net) };
    let images = random_images(3, 64, 12);
    let run = |seed| {
        let mut r = UNetTraining::new(cfg, &images, seed, &cpu()).unwrap();
        pollster::block_on(r.run_steps(5)).unwrap()
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1), run(2));
}

/// The lab's ParamAdam (burn's Adam step per flattened parameter, state held by the lab for
/// snapshots) updates a network exactly as burn's own module optimizer does.
#[test]
fn param_adam_equals_burns_module_optimizer() {
    use burn::nn::LinearConfig;
    use burn::optim::{AdamConfig, GradientsParams};
    use memgen_models::unet::ParamAdam;
    let device = cpu().autodiff();
    let lin = LinearConfig::new(3, 2).init(&device);
    let x = Tensor::<2>::from_data(TensorData::new(vec![0.5f32, -1.0, 2.0, 1.5, 0.25, -0.75], [2, 3]), &device);
    let y = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, -2.0, 0.5, 0.0], [2, 2]), &device);
    let w = |l: &burn::nn::Linear| {
        let mut v = l.weight.val().inner().into_data().try_to_vec::<f32>().unwrap();
        v.extend(l.bias.as_ref().unwrap().val().inner().into_data().try_to_vec::<f32>().unwrap());
        v
    };
    let w0 = w(&lin);
    let (mut a, mut b) = (lin.clone(), lin);
    let mut ours = ParamAdam::torch();
    let mut burns = AdamConfig::new().with_epsilon(1e-8).init();
    for _ in 0..4 {
        let ga = GradientsParams::from_grads((a.forward(x.clone()) - y.clone()).square().mean().backward(), &a);
        a = ours.step(1e-2, a, ga);
        let gb = GradientsParams::from_grads((b.forward(x.clone()) - y.clone()).square().mean().backward(), &b);
        b = burns.step(1e-2, b, gb);
    }
    let (wa, wb) = (w(&a), w(&b));
    assert_eq!(wa, wb);
    assert!(wa.iter().zip(&w0).all(|(p, q)| (p - q).abs() > 1e-3), "every weight moved: {wa:?} from {w0:?}");
}
