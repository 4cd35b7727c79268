//! Acquiring compute devices: WebGPU (or native wgpu) first, a CPU backend otherwise.
//!
//! The GPU backend (burn's wgpu runtime and cubecl) is the `gpu` feature. The page always has
//! it (the app enables it for wasm32); natively it is opt-in (`cargo build -p memgen-cli
//! --features gpu`), so the CPU-only CLI and the native tests do not compile the GPU stack,
//! about half of the native build's CPU time.

use burn::tensor::Device;

/// The wgpu handles behind burn's GPU device (`gpu` feature).
#[cfg(feature = "gpu")]
pub type GpuSetup = burn::tensor::wgpu::WgpuSetup;

/// Without the `gpu` feature there is no GPU device, so no setup can exist.
#[cfg(not(feature = "gpu"))]
#[derive(Clone, Debug)]
pub enum GpuSetup {}

/// What a GPU request says in a build without the `gpu` feature.
pub const NO_GPU_BUILD: &str = "this build has no GPU backend: rebuild with `--features gpu` (cargo build --release -p memgen-cli --features gpu)";

/// burn's native wgpu device (a GPU; lavapipe's software Vulkan where there is none), or why not.
/// Native only: a browser opens its device asynchronously ([`LabDevice::gpu`]).
#[cfg(not(target_arch = "wasm32"))]
pub fn wgpu_device() -> Result<Device, String> {
    #[cfg(feature = "gpu")]
    return Device::wgpu_options().init().map_err(|e| format!("no wgpu adapter: {e:?}"));
    #[cfg(not(feature = "gpu"))]
    Err(NO_GPU_BUILD.to_string())
}

/// Which backend a [`LabDevice`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// burn's wgpu runtime (WebGPU in a browser).
    Gpu,
    /// burn's ndarray CPU backend (inside wasm in the browser fallback).
    Cpu,
}

/// A burn device and the wgpu handles behind it, when there are any.
#[derive(Clone)]
pub struct LabDevice {
    /// burn device with autodiff enabled, for training.
    pub device: Device,
    /// Backend kind.
    pub kind: BackendKind,
    /// The wgpu instance, adapter, device and queue burn uses (GPU only), so the
    /// lab's own WGSL kernels share them.
    pub wgpu: Option<GpuSetup>,
}

impl std::fmt::Debug for LabDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LabDevice").field("kind", &self.kind).finish()
    }
}

impl LabDevice {
    /// Initializes burn's wgpu runtime asynchronously (the only way in a browser).
    /// Without the `gpu` feature it fails with [`NO_GPU_BUILD`].
    pub async fn gpu() -> Result<LabDevice, String> {
        #[cfg(feature = "gpu")]
        {
            let (device, setup) = Device::wgpu_options().init_with_setup_async().await.map_err(|e| e.to_string())?;
            Ok(LabDevice { device: device.autodiff(), kind: BackendKind::Gpu, wgpu: Some(setup) })
        }
        #[cfg(not(feature = "gpu"))]
        Err(NO_GPU_BUILD.to_string())
    }

    /// burn's CPU backend: ndarray in the browser (one thread; burn 0.22's flex backend is not
    /// built for wasm32 here), flex natively (all cores; what `memgen` trains on).
    pub fn cpu() -> LabDevice {
        #[cfg(target_arch = "wasm32")]
        #[allow(deprecated)] // burn 0.22 suggests Device::flex(), which the browser build does not enable
        let device = Device::ndarray();
        #[cfg(not(target_arch = "wasm32"))]
        let device = Device::flex();
        LabDevice { device: device.autodiff(), kind: BackendKind::Cpu, wgpu: None }
    }

    /// The adapter's own description (`"cpu (ndarray)"` for the browser's CPU backend, `"cpu (flex)"` natively). In a
    /// browser wgpu fills only `name`, from `GPUAdapterInfo.description`.
    pub fn describe(&self) -> String {
        match &self.wgpu {
            #[cfg(feature = "gpu")]
            Some(setup) => {
                let info = setup.adapter.get_info();
                let parts: Vec<&str> = [info.name.as_str(), info.driver.as_str(), info.driver_info.as_str()].into_iter().filter(|s| !s.is_empty()).collect();
                if parts.is_empty() {
                    format!("{:?}", info.device_type)
                } else {
                    parts.join(" · ")
                }
            }
            #[cfg(not(feature = "gpu"))]
            Some(never) => match *never {},
            None if cfg!(target_arch = "wasm32") => "cpu (ndarray)".to_string(),
            None => "cpu (flex)".to_string(),
        }
    }
}
