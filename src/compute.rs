//! The page's compute backend, chosen once at start-up: WebGPU (burn's wgpu device plus
//! the lab's WGSL kernels on the same device) or the CPU fallback inside wasm.
//! Every long loop on the CPU path yields to the browser between chunks, so the tab
//! never freezes.

use std::cell::RefCell;
use std::rc::Rc;

use memgen_core::dense_am::{label_fixed_points, BasinMap, BasinParams, DenseAm, EnergyForm};
#[cfg(feature = "engine")]
use memgen_models::device::LabDevice;
use wasm_bindgen::prelude::*;

use crate::browser::yield_now;
use crate::gpu::{GridSpec, Kernels};

/// What the page computes on.
pub struct Backend {
    /// burn device (autodiff) for training.
    #[cfg(feature = "engine")]
    pub lab: LabDevice,
    /// The WGSL kernels, when WebGPU is up.
    pub kernels: Option<Kernels>,
    /// Shown on screen, e.g. "WebGPU · google · swiftshader".
    pub label: String,
    /// Why the CPU fallback is in use, if it is.
    pub fallback_reason: Option<String>,
}

thread_local! {
    static BACKEND: RefCell<Option<Rc<Backend>>> = const { RefCell::new(None) };
}

/// The backend, once [`init_backend`] has finished.
pub fn backend() -> Option<Rc<Backend>> {
    BACKEND.with(|b| b.borrow().clone())
}

/// Whether the page's WebGPU adapter is a software renderer (SwiftShader, llvmpipe): there the
/// CPU backend inside wasm trains the lab's models faster than WebGPU does.
pub fn software_adapter() -> bool {
    backend().is_some_and(|b| {
        let l = b.label.to_lowercase();
        b.kernels.is_some() && ["swiftshader", "llvmpipe", "lavapipe", "software"].iter().any(|s| l.contains(s))
    })
}

/// Probes WebGPU and sets up the backend: never fails, falls back to the CPU.
pub async fn init_backend() -> Rc<Backend> {
    if let Some(b) = backend() {
        return b;
    }
    let b = Rc::new(match probe_webgpu().await {
        Ok(adapter_label) => gpu_backend(adapter_label).await,
        Err(reason) => cpu_backend(reason),
    });
    BACKEND.with(|slot| *slot.borrow_mut() = Some(b.clone()));
    b
}

/// burn's WebGPU device, and the lab's WGSL kernels on its wgpu device and queue.
#[cfg(feature = "engine")]
async fn gpu_backend(adapter_label: String) -> Backend {
    match LabDevice::gpu().await {
        Ok(lab) => {
            let kernels = gpu_kernels(&lab);
            Backend { lab, kernels, label: format!("WebGPU · {adapter_label}"), fallback_reason: None }
        }
        Err(e) => cpu_backend(format!("burn could not open the WebGPU device: {e}")),
    }
}

/// The lite module (no training engine, [`crate::lite`]): the lab's WGSL kernels on a wgpu
/// device of their own, with the adapter's limits as burn asks for them.
#[cfg(not(feature = "engine"))]
async fn gpu_backend(adapter_label: String) -> Backend {
    async fn open() -> Result<Kernels, String> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
            backends: wgpu::Backends::BROWSER_WEBGPU,
            ..wgpu::InstanceDescriptor::new_without_display_handle()
        });
        let adapter = instance.request_adapter(&wgpu::RequestAdapterOptions::default()).await.map_err(|e| e.to_string())?;
        let limits = adapter.limits();
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor { label: Some("memgen-lab (lite)"), required_limits: limits, ..Default::default() })
            .await
            .map_err(|e| e.to_string())?;
        Ok(Kernels::new(device, queue))
    }
    match open().await {
        Ok(k) => Backend { kernels: Some(k), label: format!("WebGPU · {adapter_label}"), fallback_reason: None },
        Err(e) => cpu_backend(format!("the WebGPU device could not be opened: {e}")),
    }
}

/// The lab's WGSL kernels on burn's own wgpu device and queue.
#[cfg(all(target_arch = "wasm32", feature = "engine"))]
fn gpu_kernels(lab: &LabDevice) -> Option<Kernels> {
    let setup = lab.wgpu.as_ref().expect("gpu device carries its wgpu setup");
    Some(Kernels::new(setup.device.clone(), setup.queue.clone()))
}

/// Natively the app's library is built for its unit tests only, without burn's GPU backend
/// (memgen-models' `gpu` feature), so [`LabDevice::gpu`] never succeeds there.
#[cfg(all(not(target_arch = "wasm32"), feature = "engine"))]
fn gpu_kernels(_: &LabDevice) -> Option<Kernels> {
    None
}

fn cpu_backend(reason: String) -> Backend {
    Backend {
        #[cfg(feature = "engine")]
        lab: LabDevice::cpu(),
        kernels: None,
        label: "CPU fallback · wasm, one thread (slower)".into(),
        fallback_reason: Some(reason),
    }
}

/// Asks `navigator.gpu` for an adapter; returns its vendor and architecture.
async fn probe_webgpu() -> Result<String, String> {
    let window = web_sys::window().ok_or("no window")?;
    let nav = window.navigator();
    let gpu = js_sys::Reflect::get(&nav, &"gpu".into()).map_err(|_| "navigator.gpu is unreadable")?;
    if gpu.is_undefined() || gpu.is_null() {
        return Err("this browser has no WebGPU (navigator.gpu is missing)".into());
    }
    let request = js_sys::Reflect::get(&gpu, &"requestAdapter".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .ok_or("navigator.gpu.requestAdapter is missing")?;
    let promise = request.call0(&gpu).map_err(|_| "requestAdapter threw")?;
    let adapter = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::from(promise)).await.map_err(|_| "requestAdapter failed")?;
    if adapter.is_null() || adapter.is_undefined() {
        return Err("WebGPU is present but offers no adapter (disabled or blocklisted)".into());
    }
    let info = js_sys::Reflect::get(&adapter, &"info".into()).unwrap_or(JsValue::UNDEFINED);
    let field = |k: &str| js_sys::Reflect::get(&info, &k.into()).ok().and_then(|v| v.as_string()).unwrap_or_default();
    let parts: Vec<String> = [field("vendor"), field("architecture"), field("description")].into_iter().filter(|s| !s.is_empty()).collect();
    Ok(if parts.is_empty() { "adapter".into() } else { parts.join(" · ") })
}

fn form_code(form: EnergyForm) -> u32 {
    match form {
        EnergyForm::Dot => 0,
        EnergyForm::Distance => 1,
    }
}

/// Flattens 2-D memories for the core.
pub fn flat(memories: &[[f64; 2]]) -> Vec<f64> {
    memories.iter().flat_map(|m| [m[0], m[1]]).collect()
}

/// An energy heatmap frame.
pub struct EnergyFrame {
    /// RGBA pixels.
    pub rgba: Vec<u8>,
    /// Grid size.
    pub size: u32,
    /// The energies (CPU path always, GPU path on request).
    pub energies: Option<Vec<f32>>,
    /// Whether the GPU drew it.
    pub on_gpu: bool,
}

/// Which path to draw with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// WebGPU when available, else the CPU.
    Auto,
    /// Force the CPU path (benchmarks).
    Cpu,
}

/// Computes and colours the energy over a `size × size` grid. `cancelled` is polled
/// between chunks of the CPU path.
pub async fn energy_frame(
    memories: &[[f64; 2]],
    beta: f64,
    form: EnergyForm,
    view: [f64; 3],
    size: u32,
    path: Path,
    want_energies: bool,
    cancelled: &dyn Fn() -> bool,
) -> Result<EnergyFrame, String> {
    let be = backend().ok_or("the compute backend is still starting")?;
    if let (Some(k), Path::Auto) = (&be.kernels, path) {
        let grid = GridSpec { view, width: size, height: size, beta, form: form_code(form), levels: 16 };
        let f = k.render(memories, &grid, want_energies).await?;
        return Ok(EnergyFrame { rgba: f.rgba, size, energies: f.energies, on_gpu: true });
    }
    let mem = flat(memories);
    let am = DenseAm::new(&mem, 2, beta, form);
    let n = size as usize;
    let mut energies = Vec::with_capacity(n * n);
    // Rows per chunk: about 2 million memory terms between yields.
    let rows_per_chunk = (2_000_000 / (n * memories.len().max(1))).clamp(1, n);
    let mut row = 0;
    while row < n {
        let end = (row + rows_per_chunk).min(n);
        for r in row..end {
            for c in 0..n {
                let p = memgen_core::dense_am::grid_point(view, n, n, c, r);
                energies.push(am.energy(&p) as f32);
            }
        }
        row = end;
        if row < n {
            yield_now().await;
            if cancelled() {
                return Err("cancelled".into());
            }
        }
    }
    let rgba = crate::render::colour_energies(&energies, n, n, 16);
    Ok(EnergyFrame { rgba, size, energies: Some(energies), on_gpu: false })
}

/// Retrieval from every cell centre of a `size × size` grid over `view`, then the
/// attractors labelled by the core. `progress(done, total)` is called between chunks.
#[allow(clippy::too_many_arguments)]
pub async fn basin(
    memories: &[[f64; 2]],
    beta: f64,
    form: EnergyForm,
    view: [f64; 3],
    size: u32,
    force_cpu: bool,
    progress: &dyn Fn(usize, usize),
    cancelled: &dyn Fn() -> bool,
) -> Result<BasinMap, String> {
    let be = backend().ok_or("the compute backend is still starting")?;
    let mem = flat(memories);
    let am = DenseAm::new(&mem, 2, beta, form);
    let n = size as usize;
    let mut finals: Vec<Option<Vec<f64>>> = Vec::with_capacity(n * n);
    let gpu = if force_cpu { None } else { be.kernels.as_ref() };
    let params = match gpu {
        // f32 on the GPU cannot resolve steps much below 1e-5.
        Some(_) => BasinParams { tol: 1e-5, max_steps: 300, ..BasinParams::default() },
        None => BasinParams { tol: 1e-6, max_steps: 300, ..BasinParams::default() },
    };
    if let Some(k) = gpu {
        let rows_per = ((4_000_000 / (n * memories.len().max(1) * 20)).max(1) as u32).min(size);
        let mut row = 0;
        while row < size {
            let out = k.retrieve_rows(memories, view, size, size, beta, form_code(form), params.tol, params.max_steps as u32, row, rows_per).await?;
            finals.extend(out.iter().map(|f| (f[3] > 0.5).then(|| vec![f[0] as f64, f[1] as f64])));
            row += rows_per;
            progress(finals.len(), n * n);
            if cancelled() {
                return Err("cancelled".into());
            }
        }
    } else {
        let per_chunk = (400_000 / (memories.len().max(1) * 30)).clamp(1, n * n);
        let mut i = 0;
        while i < n * n {
            let end = (i + per_chunk).min(n * n);
            for idx in i..end {
                let p = memgen_core::dense_am::grid_point(view, n, n, idx % n, idx / n);
                let r = am.retrieve(&p, params.tol, params.max_steps);
                finals.push(r.converged.then_some(r.state));
            }
            i = end;
            progress(i, n * n);
            yield_now().await;
            if cancelled() {
                return Err("cancelled".into());
            }
        }
    }
    Ok(label_fixed_points(&am, &finals, &params))
}
